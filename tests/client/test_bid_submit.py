"""``sealbid bid submit|withdraw|list`` and ``sealbid receipt verify`` against the app, in plain words."""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient

from api.cli import main
from api.client.http import ClientError
from api.client.submit_commands import _explain
from crypto.cms import seal_bytes
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.bids.fixtures import KeyedTender, app_client, dev, keyed_tender, parties, test_pki  # noqa: F401
from tests.identity.conftest import token_for

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse"


@pytest.fixture(autouse=True)
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "client-state"
    monkeypatch.setenv("SEALBID_CLIENT_STATE_DIR", str(target))
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    return target


def _p12(pki: BuiltPki, name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.p12"
    path.write_bytes(pki.to_pkcs12(f"{name}-sign", PASSWORD.encode()))
    return path


def _sealed(tmp_path: Path, keyed: KeyedTender, content: bytes = b"bid package") -> Path:
    path = tmp_path / "bid.sealed"
    path.write_bytes(seal_bytes(content, [keyed.opening_certificate]))
    return path


def _run(client: TestClient, args: list[str]) -> Result:  # type: ignore[type-arg]
    return CliRunner().invoke(main, args, obj={"http_client": client})


def _submit(client: TestClient, platform: Platform, sealed: Path, keyed: KeyedTender, p12: Path) -> Result:  # type: ignore[type-arg]
    return _run(
        client,
        [
            "bid", "submit", str(sealed), "--server", platform.settings.public_url,
            "--tender", str(keyed.tender_id), "--lot", "1",
            "--p12", str(p12), "--password-env", "P12_PASSWORD", "--chunk-size", "1024",
        ],
    )  # fmt: skip


def _login(p12: Path) -> list[str]:
    return ["--p12", str(p12), "--password-env", "P12_PASSWORD"]


def _trust_files(pki: BuiltPki, platform: Platform, tmp_path: Path) -> tuple[Path, Path]:
    ca = tmp_path / "ca.pem"
    ca.write_bytes(b"".join(c.public_bytes(Encoding.PEM) for c in [*pki.roots, *pki.intermediates]))
    key = tmp_path / "log.key"
    key.write_text(platform.translog.verifier_key() + "\n")
    return ca, key


def test_submit_saves_a_receipt_that_verifies_offline(
    app_client: TestClient,  # type: ignore[type-arg]  # noqa: F811
    platform: Platform,
    test_pki: BuiltPki,  # noqa: F811
    keyed_tender: KeyedTender,  # noqa: F811
    tmp_path: Path,
) -> None:
    sealed = _sealed(tmp_path, keyed_tender, b"x" * 5000)
    p12 = _p12(test_pki, "tenderer-1", tmp_path)
    result = _submit(app_client, platform, sealed, keyed_tender, p12)
    assert result.exit_code == 0, result.output
    assert "version 1 (submitted)" in result.output
    receipt = sealed.with_name("bid.sealed.receipt.json")
    assert receipt.is_file() and not sealed.with_name("bid.sealed.upload.json").exists()
    ca, key = _trust_files(test_pki, platform, tmp_path)
    check = ["receipt", "verify", str(receipt), "--ca", str(ca), "--log-key", str(key), "--envelope"]
    verified = _run(app_client, [*check, str(sealed)])
    assert verified.exit_code == 0, verified.output
    assert "Receipt verified" in verified.output and "FAIL" not in verified.output
    other = tmp_path / "other.sealed"
    other.write_bytes(b"not the bid")
    refused = _run(app_client, [*check, str(other)])
    assert refused.exit_code == 1 and "FAIL envelope" in refused.output
    listed = _run(
        app_client, ["bid", "list", "--server", platform.settings.public_url, "--json", *_login(p12)]
    )
    assert listed.exit_code == 0, listed.output
    printed = listed.stdout[listed.stdout.index("[\n") :]  # after the in-process server's request log
    assert [b["state"] for b in json.loads(printed)] == ["active"], listed.output


def test_submit_resumes_an_interrupted_upload(
    app_client: TestClient,  # type: ignore[type-arg]  # noqa: F811
    platform: Platform,
    test_pki: BuiltPki,  # noqa: F811
    keyed_tender: KeyedTender,  # noqa: F811
    tmp_path: Path,
) -> None:
    sealed = _sealed(tmp_path, keyed_tender, b"y" * 4000)
    p12 = _p12(test_pki, "tenderer-1", tmp_path)
    # a first run got as far as 1000 bytes before the connection dropped
    auth = token_for(app_client, test_pki.signing("tenderer-1"))
    data = sealed.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    created = app_client.post(
        "/bids/uploads",
        json={"tender": str(keyed_tender.tender_id), "size": len(data), "sha256": digest},
        headers=auth,
    ).json()
    sent = app_client.patch(
        f"/bids/uploads/{created['id']}",
        content=data[:1000],
        headers={**auth, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream"},
    )
    assert sent.status_code == 204
    state = {
        "server": platform.settings.public_url,
        "tender": str(keyed_tender.tender_id),
        "sha256": digest,
        "upload": created["id"],
    }
    sealed.with_name("bid.sealed.upload.json").write_text(json.dumps(state))
    result = _submit(app_client, platform, sealed, keyed_tender, p12)
    assert result.exit_code == 0, result.output
    assert app_client.get(f"/bids/uploads/{created['id']}", headers=auth).json()["state"] == "finished"


def test_refusals_are_explained_in_plain_words(
    app_client: TestClient,  # type: ignore[type-arg]  # noqa: F811
    platform: Platform,
    clock: ManualClock,
    test_pki: BuiltPki,  # noqa: F811
    keyed_tender: KeyedTender,  # noqa: F811
    tmp_path: Path,
) -> None:
    first = _p12(test_pki, "tenderer-1", tmp_path)
    plain = tmp_path / "plain.pdf"
    plain.write_bytes(b"%PDF-1.7 in the clear")
    unsealed = _submit(app_client, platform, plain, keyed_tender, first)
    assert unsealed.exit_code == 1 and "Not a sealed bid" in unsealed.output
    stranger = _sealed(tmp_path, keyed_tender)
    wrong_tender = _run(
        app_client,
        ["bid", "submit", str(stranger), "--server", platform.settings.public_url, "--tender",
         "00000000-0000-0000-0000-000000000001", "--lot", "1", *_login(first)],
    )  # fmt: skip
    assert wrong_tender.exit_code == 1 and "tender-not-found" in wrong_tender.output
    clock.advance(timedelta(days=30))
    late = _submit(app_client, platform, _sealed(tmp_path, keyed_tender, b"late"), keyed_tender, first)
    assert late.exit_code == 1 and "The bid deadline has passed" in late.output


def test_a_wrong_certificate_is_named_as_such() -> None:
    explained = _explain(ClientError("the statement is signed with ... [signer-not-bidder, HTTP 403]"))
    assert "Wrong certificate" in explained.message and "signer-not-bidder" in explained.message
    plain = _explain(ClientError("something else [other, HTTP 400]"))
    assert plain.message == "something else [other, HTTP 400]"


def test_withdraw_saves_its_receipt(
    app_client: TestClient,  # type: ignore[type-arg]  # noqa: F811
    platform: Platform,
    test_pki: BuiltPki,  # noqa: F811
    keyed_tender: KeyedTender,  # noqa: F811
    tmp_path: Path,
) -> None:
    sealed = _sealed(tmp_path, keyed_tender)
    p12 = _p12(test_pki, "tenderer-1", tmp_path)
    assert _submit(app_client, platform, sealed, keyed_tender, p12).exit_code == 0
    receipt = json.loads(sealed.with_name("bid.sealed.receipt.json").read_text())
    bid_id = json.loads(base64.b64decode(receipt["receipt"]))["bid"]
    out = tmp_path / "withdrawal.json"
    args = ["bid", "withdraw", "--bid", bid_id, "--server", platform.settings.public_url]
    result = _run(app_client, [*args, *_login(p12), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "withdrawn (version 2)" in result.output and out.is_file()
    listed = _run(app_client, ["bid", "list", "--server", platform.settings.public_url, *_login(p12)])
    assert "withdrawn" in listed.output


def test_an_unreachable_server_is_said_plainly(test_pki: BuiltPki, tmp_path: Path) -> None:  # noqa: F811
    sealed = tmp_path / "bid.sealed"
    sealed.write_bytes(b"anything")
    args = ["bid", "submit", str(sealed), "--server", "http://127.0.0.1:9", "--tender", "t", "--lot", "1"]
    p12 = _p12(test_pki, "tenderer-1", tmp_path)
    result = CliRunner().invoke(main, [*args, "--p12", str(p12), "--password-env", "P12_PASSWORD"])
    assert result.exit_code == 1 and "cannot reach the server" in result.output


def test_submission_commands_import_without_the_server_stack() -> None:
    code = (
        "import sys; import api.client.submit_commands; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'tendering', 'litestar', 'alembic', 'psycopg', 'dramatiq', 'redis'}); "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"client imports pulled in: {result.stdout} {result.stderr}"
