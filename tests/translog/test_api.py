"""The public log API: formats, proofs that verify with the RFC 9162 verifiers, problem+json errors."""

from __future__ import annotations

import base64

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from crypto.checkpoint import verify_checkpoint
from crypto.merkle import leaf_hash, verify_consistency, verify_inclusion
from tendering.platform import Platform
from tests.translog.helpers import submit_batch

Client = TestClient[Litestar]


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def grow(platform: Platform, count: int, start: int = 0) -> None:
    submit_batch(platform, count, start)
    platform.translog.sequence()


def signed_root(client: Client, platform: Platform) -> tuple[int, bytes]:
    response = client.get("/log/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.headers["cache-control"] == "no-store"
    key = client.get("/log/key").text.strip()
    verdict = verify_checkpoint(response.content, key, platform.settings.log_origin)
    assert verdict.ok and verdict.checkpoint is not None, verdict.reasons
    return verdict.checkpoint.size, verdict.checkpoint.root_hash


def test_checkpoint_and_key_need_no_login(client: Client, platform: Platform) -> None:
    size, root = signed_root(client, platform)
    assert size == 1
    assert client.get("/log/key").text == platform.translog.verifier_key() + "\n"
    assert root == platform.translog.checkpoint().root


def test_entries_page_and_single_entry(client: Client, platform: Platform) -> None:
    grow(platform, 7)
    body = client.get("/log/entries", params={"start": 2, "end": 6}).json()
    assert body["size"] == 8 and body["start"] == 2
    assert [e["index"] for e in body["entries"]] == [2, 3, 4, 5]
    for e in body["entries"]:
        assert leaf_hash(b64(e["entry"])).hex() == e["leaf_hash"]
    default = client.get("/log/entries", params={"start": 5}).json()
    assert [e["index"] for e in default["entries"]] == [5, 6, 7]
    one = client.get("/log/entries/3").json()
    assert one["entry"] == body["entries"][1]["entry"]
    assert one["content"]["type"] == "bid.submitted"
    assert "identity-" not in b64(one["entry"]).decode()


def test_inclusion_proofs_verify_for_many_sizes(client: Client, platform: Platform) -> None:
    roots: dict[int, bytes] = {}
    for step in range(9):
        grow(platform, step + 1, start=step * 100)
        size, root = signed_root(client, platform)
        roots[size] = root
    entries = client.get("/log/entries", params={"start": 0}).json()["entries"]
    for size, root in roots.items():
        for index in range(0, size, 3):
            body = client.get("/log/proof/inclusion", params={"index": index, "size": size}).json()
            assert (body["index"], body["size"]) == (index, size)
            assert b64(body["root"]) == root
            leaf = bytes.fromhex(entries[index]["leaf_hash"])
            assert verify_inclusion(leaf, index, size, [b64(h) for h in body["proof"]], root).ok
        by_hash = client.get(
            "/log/proof/inclusion", params={"leaf_hash": entries[size - 1]["leaf_hash"], "size": size}
        ).json()
        assert by_hash["index"] == size - 1
        proof = [b64(h) for h in by_hash["proof"]]
        assert verify_inclusion(bytes.fromhex(by_hash["leaf_hash"]), size - 1, size, proof, root).ok


def test_consistency_proofs_verify_for_many_sizes(client: Client, platform: Platform) -> None:
    roots: dict[int, bytes] = {}
    for step in range(8):
        grow(platform, 2 * step + 1, start=step * 100)
        size, root = signed_root(client, platform)
        roots[size] = root
    for first, first_root in roots.items():
        for second, second_root in roots.items():
            if first <= second:
                body = client.get("/log/proof/consistency", params={"first": first, "second": second}).json()
                proof = [b64(h) for h in body["proof"]]
                assert verify_consistency(first, second, proof, first_root, second_root).ok
    latest = max(roots)
    body = client.get("/log/proof/consistency", params={"first": 1}).json()
    assert body["second"] == latest


@pytest.mark.parametrize(
    ("path", "params", "detail"),
    [
        ("/log/entries", {"start": -1}, "must not be negative"),
        ("/log/entries", {"start": 3, "end": 2}, "greater than start"),
        ("/log/entries", {"start": 0, "end": 1001}, "at most 1000"),
        ("/log/entries", {"start": 99}, "not below the log size"),
        ("/log/entries", {"start": "one"}, "Validation failed"),
        ("/log/entries", {}, "Missing required"),
        ("/log/proof/inclusion", {"index": 9, "size": 4}, "not in the tree of size 4"),
        ("/log/proof/inclusion", {"index": 0, "size": 50}, "larger than the log"),
        ("/log/proof/inclusion", {"index": 0, "leaf_hash": "00" * 32}, "exactly one"),
        ("/log/proof/inclusion", {}, "exactly one"),
        ("/log/proof/inclusion", {"leaf_hash": "xyz"}, "64 hex digits"),
        ("/log/proof/consistency", {"first": 0}, "empty tree"),
        ("/log/proof/consistency", {"first": 5, "second": 3}, "larger than second"),
        ("/log/proof/consistency", {"first": 1, "second": 60}, "larger than the log"),
    ],
)
def test_bad_parameters_are_400_problems(
    client: Client, platform: Platform, path: str, params: dict[str, int | str], detail: str
) -> None:
    grow(platform, 5)
    response = client.get(path, params=params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["status"] == 400 and detail in body["detail"], body


def test_unknown_entry_and_hash_are_404(client: Client, platform: Platform) -> None:
    grow(platform, 2)
    response = client.get("/log/entries/3")
    assert response.status_code == 404
    huge = client.get("/log/entries/99999999999999999999999")
    assert huge.status_code == 404 and huge.json()["code"] == "not-found"
    assert response.headers["content-type"].startswith("application/problem+json")
    missing = client.get("/log/proof/inclusion", params={"leaf_hash": "ab" * 32})
    assert missing.status_code == 404 and "no log entry" in missing.json()["detail"]
    entries = client.get("/log/entries", params={"start": 0}).json()["entries"]
    later = client.get("/log/proof/inclusion", params={"leaf_hash": entries[2]["leaf_hash"], "size": 2})
    assert later.status_code == 404 and "not in the tree of size 2" in later.json()["detail"]
