"""``sealbid custodian ceremony`` and ``show-share`` against a served app (uvicorn on a loopback port)."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.serialization import Encoding

from api.app import create_app
from api.client.custodian_commands import custodian as custodian_command
from api.client.http import save_token
from api.client.login_commands import login as login_command
from api.local_server import free_port, serve_in_thread
from crypto.ceremony import verify_bundle
from crypto.pki import BuiltPki, build_pki, dev_pki_spec
from tendering.bids.opening_key_models import TenderKeyShare, TenderOpeningKey
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.bids.fixtures import Parties, dev, parties  # noqa: F401 - fixtures
from tests.tenders.helpers import draft, published

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "custodian secret"
REAL_NOW = datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(scope="module")
def test_pki() -> BuiltPki:
    """The development PKI issued now: the CLI checks cached logins against the real time."""
    return build_pki(dev_pki_spec("http://127.0.0.1:8000/dev-pki", REAL_NOW))


@pytest.fixture
def clock() -> ManualClock:
    """Platform time starting at the real time (tokens cached by the CLI expire in real time)."""
    return ManualClock(REAL_NOW)


@pytest.fixture
def server(platform: Platform) -> Iterator[str]:
    with serve_in_thread(create_app(platform=platform, configure_logs=False)) as url:
        yield url


@pytest.fixture
def files(tmp_path: Path, test_pki: BuiltPki, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PKCS#12 and certificate files for the three custodians; a private client state directory."""
    monkeypatch.setenv("SEALBID_CLIENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    for i in (1, 2, 3):
        for usage in ("sign", "enc"):
            name = f"custodian-{i}-{usage}"
            (tmp_path / f"{name}.p12").write_bytes(test_pki.to_pkcs12(name, PASSWORD.encode()))
        enc = test_pki.encryption(f"custodian-{i}").certificate
        (tmp_path / f"custodian-{i}-enc.pem").write_bytes(enc.public_bytes(Encoding.PEM))
    ca = b"".join(c.public_bytes(Encoding.PEM) for c in (*test_pki.roots, *test_pki.intermediates))
    (tmp_path / "ca.pem").write_bytes(ca)
    return tmp_path


def run(*args: str, stdin: str | None = None) -> Result:
    """``sealbid <args>`` for the two command groups used here (login, custodian)."""
    command = {"login": login_command, "custodian": custodian_command}[args[0]]
    return CliRunner().invoke(command, list(args[1:]), input=stdin, catch_exceptions=False)


def login(platform: Platform, server: str, files: Path, custodian: int, *, encryption: bool = True) -> None:
    args = ["login", "--server", server, "--audience", platform.settings.public_url,
            "--p12", str(files / f"custodian-{custodian}-sign.p12"), "--password-env", "P12_PASSWORD"]  # fmt: skip
    if encryption:
        args += ["--encryption-cert", str(files / f"custodian-{custodian}-enc.pem")]
    result = run(*args)
    assert result.exit_code == 0, result.output


def ceremony(
    server: str, files: Path, tender: uuid.UUID | str, *extra: str, stdin: str | None = None
) -> Result:
    return run(
        "custodian", "ceremony", "--server", server, "--tender", str(tender),
        "--p12", str(files / "custodian-1-sign.p12"), "--password-env", "P12_PASSWORD", *extra, stdin=stdin,
    )  # fmt: skip


def show_share(server: str, files: Path, tender: uuid.UUID, p12: str) -> Result:
    return run(
        "custodian", "show-share", "--server", server, "--tender", str(tender),
        "--p12", str(files / p12), "--password-env", "P12_PASSWORD",
    )  # fmt: skip


@pytest.fixture
def tender(platform: Platform, clock: ManualClock, parties: Parties) -> uuid.UUID:  # noqa: F811
    return published(platform, clock, parties)


def test_the_lead_runs_the_ceremony_and_each_custodian_checks_its_share(
    platform: Platform, server: str, files: Path, tender: uuid.UUID, test_pki: BuiltPki
) -> None:
    for custodian in (2, 3, 1):  # each custodian registers its encryption certificate by logging in
        login(platform, server, files, custodian)
    saved = files / "bundle.json"
    result = ceremony(
        server, files, tender, "--yes", "--ca", str(files / "ca.pem"), "--save-bundle", str(saved)
    )
    assert result.exit_code == 0, result.output
    verified = verify_bundle(
        saved.read_bytes(), (files / "bundle.json.p7s").read_bytes(), tender_id=str(tender)
    )
    assert verified.signer_certificate == test_pki.signing("custodian-1").certificate
    with platform.session_factory() as session:
        key = session.get(TenderOpeningKey, tender)
        assert key is not None
        assert key.bundle_sha256 == hashlib.sha256(saved.read_bytes()).hexdigest()
        commitments = [
            r.commitment for r in session.query(TenderKeyShare).order_by(TenderKeyShare.share_index)
        ]
    assert f"Opening certificate SHA-256: {key.certificate_sha256}" in result.output
    assert "Threshold: 2 of 3" in result.output
    for i, commitment in enumerate(commitments, start=1):
        assert f"share {i} commitment {commitment}" in result.output
        assert test_pki.encryption(f"custodian-{i}").fingerprint in result.output  # shown before encrypting
    assert "密钥托管人 01 (lead)" in result.output

    again = ceremony(server, files, tender, "--yes")
    assert again.exit_code != 0 and "already registered" in again.output

    login(platform, server, files, 2, encryption=False)
    checked = show_share(server, files, tender, "custodian-2-enc.p12")
    assert checked.exit_code == 0, checked.output
    assert (
        f"Share 2 of 3 (any 2 open the bids) for tender {tender}: decrypted, matches commitment {commitments[1]}"
        in checked.output
    )
    wrong = show_share(server, files, tender, "custodian-2-sign.p12")
    assert wrong.exit_code != 0 and "use your ENCRYPTION PKCS#12" in wrong.output


def test_the_ceremony_shows_whom_it_encrypts_to_and_stops_when_told(
    platform: Platform, server: str, files: Path, tender: uuid.UUID, test_pki: BuiltPki
) -> None:
    for custodian in (2, 3, 1):
        login(platform, server, files, custodian)
    result = ceremony(server, files, tender, stdin="n\n")
    assert result.exit_code != 0 and "Aborted" in result.output
    for i in (1, 2, 3):
        assert f"密钥托管人 0{i}" in result.output
        assert test_pki.encryption(f"custodian-{i}").fingerprint in result.output
    with platform.session_factory() as session:
        assert session.get(TenderOpeningKey, tender) is None


def test_a_custodian_without_an_encryption_certificate_is_named(
    platform: Platform, server: str, files: Path, tender: uuid.UUID
) -> None:
    login(platform, server, files, 1)
    result = ceremony(server, files, tender, "--yes")
    assert result.exit_code != 0
    assert "custodian 2 (密钥托管人 02) has no encryption certificate registered" in result.output
    assert "--encryption-cert" in result.output


def test_only_the_lead_custodian_runs_the_ceremony(
    platform: Platform, server: str, files: Path, tender: uuid.UUID
) -> None:
    for custodian in (1, 3, 2):
        login(platform, server, files, custodian)
    result = run(
        "custodian", "ceremony", "--server", server, "--tender", str(tender),
        "--p12", str(files / "custodian-2-sign.p12"), "--password-env", "P12_PASSWORD", "--yes",
    )  # fmt: skip
    assert result.exit_code != 0 and "only the lead custodian (密钥托管人 01)" in result.output


def test_plain_errors_for_unknown_tenders_missing_logins_and_unreachable_servers(
    platform: Platform, server: str, files: Path, tender: uuid.UUID
) -> None:
    not_logged_in = ceremony(server, files, tender, "--yes")
    assert not_logged_in.exit_code != 0 and "not logged in" in not_logged_in.output

    login(platform, server, files, 1)
    unknown = uuid.uuid4()
    result = ceremony(server, files, unknown, "--yes")
    assert f"tender {unknown} was not found, or you are not one of its custodians" in result.output
    assert "is not a tender id" in ceremony(server, files, "tender-7", "--yes").output

    gone = f"http://127.0.0.1:{free_port()}"
    save_token(gone, {"token": "x", "expires_at": "2999-01-01T00:00:00Z"})
    result = ceremony(gone, files, tender, "--yes")
    assert result.exit_code != 0 and "cannot reach the server" in result.output

    bad_password = run(
        "custodian", "ceremony", "--server", server, "--tender", str(tender),
        "--p12", str(files / "custodian-1-sign.p12"), "--password-env", "NO_SUCH_VARIABLE_SET", "--yes",
    )  # fmt: skip
    assert "NO_SUCH_VARIABLE_SET is not set" in bad_password.output


def test_show_share_before_the_ceremony_says_the_key_is_missing(
    platform: Platform, server: str, files: Path, tender: uuid.UUID
) -> None:
    login(platform, server, files, 2)
    result = show_share(server, files, tender, "custodian-2-enc.p12")
    assert result.exit_code != 0 and "opening-key-missing" in result.output


def test_a_custodian_certificate_from_another_ca_is_refused_with_ca_checking(
    platform: Platform, server: str, files: Path, tender: uuid.UUID, tmp_path: Path
) -> None:
    for custodian in (2, 3, 1):
        login(platform, server, files, custodian)
    other = build_pki(dev_pki_spec("http://other.invalid/pki", REAL_NOW))
    (tmp_path / "other-ca.pem").write_bytes(
        b"".join(c.public_bytes(Encoding.PEM) for c in other.intermediates)
    )
    result = ceremony(server, files, tender, "--yes", "--ca", str(tmp_path / "other-ca.pem"))
    assert result.exit_code != 0 and "is not issued by a CA in --ca" in result.output


def test_custodian_commands_import_without_the_server_stack() -> None:
    code = (
        "import sys; import api.client.custodian_commands; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'tendering', 'litestar', 'alembic', 'psycopg', 'dramatiq', 'redis'}); "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"client imports pulled in: {result.stdout} {result.stderr}"


def test_a_tender_not_yet_approved_gets_no_ceremony(
    platform: Platform,
    clock: ManualClock,
    server: str,
    files: Path,
    parties: Parties,  # noqa: F811
) -> None:
    for custodian in (2, 3, 1):
        login(platform, server, files, custodian)
    drafted = draft(platform, clock, parties).summary.id
    result = ceremony(server, files, drafted, "--yes")
    assert result.exit_code != 0 and "the tender is draft" in result.output
    with platform.session_factory() as session:
        assert session.get(TenderOpeningKey, drafted) is None
