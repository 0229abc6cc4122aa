"""The log monitor against an honest log: first run, incremental runs, pinned keys, bad answers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from litestar.testing import TestClient

from api.client.logmonitor import verify_log
from api.client.logstate import (
    EXIT_BAD_ANSWER,
    EXIT_LOCAL,
    EXIT_NETWORK,
    EXIT_TAMPERED,
    BadAnswer,
    CompactRange,
    LocalProblem,
    MonitorError,
    NetworkTrouble,
    StateFiles,
    TamperEvidence,
)
from crypto.merkle import EMPTY_ROOT, MemoryNodeStore, leaf_hash
from crypto.signednote import generate_signer
from tendering.platform import Platform
from tests.translog.helpers import submit_batch, submit_committed

SERVER = "http://testserver.local"


@pytest.fixture
def files(tmp_path: Path) -> StateFiles:
    return StateFiles(tmp_path / "monitor" / "state.json")


@pytest.fixture
def api(client: TestClient) -> Iterator[httpx.Client]:  # type: ignore[type-arg]
    yield client


def grow(platform: Platform, count: int, start: int = 0) -> None:
    submit_committed(platform, count, start)
    platform.translog.sequence()


def test_compact_range_matches_the_full_tree() -> None:
    store = MemoryNodeStore()
    compact = CompactRange()
    assert compact.root() == EMPTY_ROOT
    for batch in ([1], [2, 3], list(range(4, 20)), [20], list(range(21, 64))):
        leaves = [leaf_hash(str(n).encode()) for n in batch]
        store.append_leaf_hashes(leaves)
        compact.extend(leaves)
        assert compact.size == store.size
        assert compact.root() == store.root()
        again = CompactRange(compact.size, compact.hashes())
        assert again.root() == store.root()


def test_first_run_trusts_on_first_use_and_saves(
    platform: Platform, api: httpx.Client, files: StateFiles
) -> None:
    grow(platform, 5)
    report = verify_log(api, SERVER, files)
    assert report.trusted_on_first_use == platform.translog.verifier_key()
    assert (report.previous_size, report.size, report.rehashed) == (None, 6, 6)
    assert report.root == platform.translog.checkpoint().root
    saved = json.loads(files.path.read_text())
    assert saved["size"] == 6 and saved["verifier_key"] == platform.translog.verifier_key()
    assert files.leaves.stat().st_size == 6 * 32
    assert oct(files.path.stat().st_mode & 0o777) == "0o600"
    assert any("first run" in line for line in report.lines())


def test_incremental_runs_check_consistency_and_new_entries_only(
    platform: Platform, api: httpx.Client, files: StateFiles
) -> None:
    grow(platform, 3)
    verify_log(api, SERVER, files)
    report = verify_log(api, SERVER, files, full=False)  # nothing new
    assert (report.previous_size, report.size, report.rehashed) == (4, 4, 0)
    assert verify_log(api, SERVER, files).rehashed == 4  # small log: re-hashed whole by default
    submit_batch(platform, 1500, start=100)  # more than one page
    platform.translog.sequence()
    report = verify_log(api, SERVER, files, full=False)
    assert (report.previous_size, report.size, report.rehashed) == (4, 1504, 1500)
    assert report.trusted_on_first_use is None
    assert files.leaves.stat().st_size == 1504 * 32
    full = verify_log(api, SERVER, files, full=True)
    assert (full.size, full.rehashed) == (1504, 1504)
    assert files.leaves.stat().st_size == 1504 * 32


def test_given_key_is_used_and_pinned(platform: Platform, api: httpx.Client, files: StateFiles) -> None:
    grow(platform, 2)
    report = verify_log(api, SERVER, files, key=platform.translog.verifier_key())
    assert report.trusted_on_first_use is None
    _, other = generate_signer(platform.settings.log_origin)
    with pytest.raises(LocalProblem, match="differs from the key pinned"):
        verify_log(api, SERVER, files, key=other)


def test_wrong_key_is_tamper_evidence(platform: Platform, api: httpx.Client, files: StateFiles) -> None:
    grow(platform, 2)
    _, other = generate_signer(platform.settings.log_origin)
    with pytest.raises(TamperEvidence, match="does not verify with the pinned key") as caught:
        verify_log(api, SERVER, files, key=other)
    assert caught.value.exit_code == EXIT_TAMPERED
    assert not files.path.exists()


def test_other_origin_is_tamper_evidence(platform: Platform, api: httpx.Client, files: StateFiles) -> None:
    _, verifier_text = generate_signer("another.example/log")
    with pytest.raises(TamperEvidence, match="does not verify"):
        verify_log(api, SERVER, files, key=verifier_text)


def test_malformed_key_argument_is_local(platform: Platform, api: httpx.Client, files: StateFiles) -> None:
    with pytest.raises(LocalProblem, match="not a verifier key") as caught:
        verify_log(api, SERVER, files, key="not a key")
    assert caught.value.exit_code == EXIT_LOCAL


def test_state_of_another_server_is_refused(platform: Platform, api: httpx.Client, files: StateFiles) -> None:
    verify_log(api, SERVER, files)
    with pytest.raises(LocalProblem, match="belongs to"):
        verify_log(api, "http://elsewhere.example", files)


def test_damaged_state_is_local(platform: Platform, api: httpx.Client, files: StateFiles) -> None:
    verify_log(api, SERVER, files)
    saved = json.loads(files.path.read_text())
    saved["compact_range"] = saved["compact_range"][::-1] + saved["compact_range"]
    files.path.write_text(json.dumps(saved))
    with pytest.raises(LocalProblem, match="damaged"):
        verify_log(api, SERVER, files)
    files.path.write_text("{not json")
    with pytest.raises(LocalProblem, match="not JSON"):
        verify_log(api, SERVER, files)


def _fake(handler: httpx.MockTransport) -> httpx.Client:
    return httpx.Client(base_url=SERVER, transport=handler)


def test_unreachable_server_is_network_trouble(files: StateFiles) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(NetworkTrouble, match="cannot reach") as caught:
        verify_log(_fake(httpx.MockTransport(refuse)), SERVER, files)
    assert caught.value.exit_code == EXIT_NETWORK


def test_server_error_is_network_trouble(files: StateFiles) -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(503, text="down"))
    with pytest.raises(NetworkTrouble, match="failed: 503"):
        verify_log(_fake(transport), SERVER, files)


@pytest.mark.parametrize(
    "checkpoint", [b"not a note", b"sealbid.local/log\nx\n\n\xe2\x80\x94 k AAAA\n", b"\xff\xfe"]
)
def test_garbage_checkpoint_is_a_bad_answer(
    platform: Platform, api: httpx.Client, files: StateFiles, checkpoint: bytes
) -> None:
    key = platform.translog.verifier_key()

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/log/key":
            return httpx.Response(200, text=key)
        return httpx.Response(200, content=checkpoint)

    with pytest.raises(BadAnswer) as caught:
        verify_log(_fake(httpx.MockTransport(handler)), SERVER, files)
    assert caught.value.exit_code == EXIT_BAD_ANSWER


def test_garbage_entries_page_is_a_bad_answer(
    platform: Platform, api: httpx.Client, files: StateFiles
) -> None:
    grow(platform, 2)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/log/entries":
            return httpx.Response(200, json={"entries": [{"index": 0, "entry": "%%%", "leaf_hash": "zz"}]})
        real = api.get(request.url.path)
        return httpx.Response(real.status_code, content=real.content)

    with pytest.raises(BadAnswer, match="malformed"):
        verify_log(_fake(httpx.MockTransport(handler)), SERVER, files)
    assert not files.path.exists()


def test_monitor_errors_have_distinct_exit_codes() -> None:
    codes = {cls("x").exit_code for cls in (LocalProblem, NetworkTrouble, BadAnswer, TamperEvidence)}
    assert codes == {EXIT_LOCAL, EXIT_NETWORK, EXIT_BAD_ANSWER, EXIT_TAMPERED}
    assert issubclass(TamperEvidence, MonitorError)


def _proxy(api: httpx.Client, override: dict[str, httpx.Response]) -> httpx.Client:
    """A hostile server: the real log, except the paths in ``override``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path in override:
            return override[request.url.path]
        real = api.get(request.url.path, params=request.url.params)
        return httpx.Response(real.status_code, content=real.content, headers=real.headers)

    return _fake(httpx.MockTransport(handler))


def test_short_hash_in_a_consistency_proof_is_a_bad_answer(
    platform: Platform, api: httpx.Client, files: StateFiles
) -> None:
    grow(platform, 3)
    verify_log(api, SERVER, files)
    grow(platform, 3, start=10)
    short = httpx.Response(200, json={"proof": ["AAAA"]})
    with pytest.raises(BadAnswer, match="wrong length") as caught:
        verify_log(_proxy(api, {"/log/proof/consistency": short}), SERVER, files, full=False)
    assert caught.value.exit_code == EXIT_BAD_ANSWER


def test_absurdly_nested_entry_is_reported_not_a_crash(
    platform: Platform, api: httpx.Client, files: StateFiles
) -> None:
    import base64

    grow(platform, 1)
    nested = b"[" * 100_000 + b"]" * 100_000
    page = {
        "entries": [
            {"index": 0, "entry": base64.b64encode(nested).decode(), "leaf_hash": leaf_hash(nested).hex()}
        ]
    }
    real = api.get("/log/entries", params={"start": 0}).json()
    page = {**real, "entries": page["entries"] + real["entries"][1:]}
    with pytest.raises(MonitorError) as caught:
        verify_log(_proxy(api, {"/log/entries": httpx.Response(200, json=page)}), SERVER, files)
    assert "entry 0" in str(caught.value)
