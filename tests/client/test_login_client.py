"""``sealbid login``: the client signs locally, caches its token 0600, and speaks in plain words."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.client.http import ClientError, load_token, normalise_url, problem_message, save_token
from api.client.login_commands import check_challenge, load_credential, login, perform_login
from crypto.pki import BuiltPki
from tendering.platform import Platform
from tests.identity.conftest import identity_pki

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse"


@pytest.fixture
def test_pki(platform: Platform) -> BuiltPki:
    """The identity test PKI, trusted by the platform."""
    pki = identity_pki()
    platform.certificates.use_dev_pki(pki)
    return pki


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "client-state"
    monkeypatch.setenv("SEALBID_CLIENT_STATE_DIR", str(target))
    monkeypatch.setenv("P12_PASSWORD", PASSWORD)
    monkeypatch.setenv("WRONG", "nope")
    monkeypatch.delenv("UNSET_VARIABLE_X", raising=False)
    return target


def _p12(pki: BuiltPki, name: str, tmp_path: Path) -> Path:
    path = tmp_path / f"{name}.p12"
    path.write_bytes(pki.to_pkcs12(name, PASSWORD.encode()))
    return path


def test_login_commands_import_without_the_server_stack() -> None:
    code = (
        "import sys; import api.client.login_commands, api.client.http; "
        "bad = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'sqlalchemy', 'tendering', 'litestar', 'alembic', 'psycopg', 'dramatiq', 'redis'}); "
        "print(','.join(bad)); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"client imports pulled in: {result.stdout} {result.stderr}"


def test_cli_login_prints_who_and_caches_the_token_privately(
    client: TestClient,
    test_pki: BuiltPki,
    platform: Platform,
    state_dir: Path,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    p12 = _p12(test_pki, "tenderer-1-sign", tmp_path)
    server = platform.settings.public_url
    result = CliRunner().invoke(
        login,
        ["--server", server, "--p12", str(p12), "--password-env", "P12_PASSWORD"],
        obj={"http_client": client},
    )
    assert result.exit_code == 0, result.output
    assert "as 闽江建设工程有限公司 (enterprise " in result.output
    assert "Roles: tenderer" in result.output
    assert "First login" in result.output
    (token_file,) = (state_dir / "tokens").iterdir()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert stat.S_IMODE((state_dir / "tokens").stat().st_mode) == 0o700
    record = json.loads(token_file.read_text())
    assert record["server"] == normalise_url(server)
    assert load_token(server, now=datetime(2026, 1, 5, 1, 0, tzinfo=UTC))["token"] == record["token"]  # type: ignore[index]
    assert load_token(server, now=datetime(2026, 1, 5, 2, 0, tzinfo=UTC)) is None  # expired
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {record['token']}"})
    assert me.json()["roles"] == ["tenderer"]


def test_cli_login_refusals_are_plain_words(
    client: TestClient,
    test_pki: BuiltPki,
    platform: Platform,
    state_dir: Path,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    server = platform.settings.public_url
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(login, ["--server", server, *args], obj={"http_client": client})
        assert result.exit_code == 1, result.output
        return result.output

    revoked = _p12(test_pki, "revoked-sign", tmp_path)
    said = run("--p12", str(revoked), "--password-env", "P12_PASSWORD")
    assert "has been revoked by its CA" in said and "[certificate-revoked, HTTP 401]" in said
    assert "Traceback" not in said
    assert "wrong password, or not a PKCS#12 file" in run("--p12", str(revoked), "--password-env", "WRONG")
    assert "is not set" in run("--p12", str(revoked), "--password-env", "UNSET_VARIABLE_X")
    assert "cannot read" in run("--p12", str(tmp_path / "missing.p12"), "--password-env", "P12_PASSWORD")
    good = _p12(test_pki, "tenderer-2-sign", tmp_path)
    said = run("--p12", str(good), "--password-env", "P12_PASSWORD", "--audience", "https://other.example")
    assert "refusing to sign it" in said
    assert not (state_dir / "tokens").exists()


def test_password_prompt(
    client: TestClient,
    test_pki: BuiltPki,
    platform: Platform,
    state_dir: Path,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    p12 = _p12(test_pki, "tenderer-3-sign", tmp_path)
    result = CliRunner().invoke(
        login,
        ["--server", platform.settings.public_url, "--p12", str(p12)],
        obj={"http_client": client},
        input=PASSWORD + "\n",
    )
    assert result.exit_code == 0, result.output
    assert "Roles: tenderer" in result.output


def test_dual_certificate_login_registers_the_encryption_certificate(
    client: TestClient,
    test_pki: BuiltPki,
    platform: Platform,
    state_dir: Path,
    tmp_path: Path,  # type: ignore[type-arg]
) -> None:
    credential = load_credential(_p12(test_pki, "tenderer-4-sign", tmp_path), PASSWORD)
    assert credential.chain  # the p12 carries the CA chain, which the client sends along
    answer = perform_login(
        client,
        credential,
        audience=platform.settings.public_url,
        encryption_certificate=test_pki.encryption("tenderer-4").certificate,
    )
    assert sorted(c["purpose"] for c in answer["identity"]["certificates"]) == ["encryption", "signing"]


def test_challenge_checks() -> None:
    challenge = {
        "type": "sealbid.login-challenge.v1",
        "purpose": "login",
        "audience": "http://127.0.0.1:8000/",
    }
    assert check_challenge(challenge, audience="HTTP://127.0.0.1:8000") == (
        b'{"audience":"http://127.0.0.1:8000/","purpose":"login","type":"sealbid.login-challenge.v1"}'
    )
    with pytest.raises(ClientError, match="other than a login challenge"):
        check_challenge({**challenge, "purpose": "sign-bid"}, audience="http://127.0.0.1:8000")
    with pytest.raises(ClientError, match="not for"):
        check_challenge(challenge, audience="http://127.0.0.1:8001")


def test_problem_messages_and_urls() -> None:
    problem = httpx.Response(
        401, json={"detail": "the certificate has expired", "code": "certificate-expired"}
    )
    assert problem_message(problem) == "the certificate has expired [certificate-expired, HTTP 401]"
    assert (
        problem_message(httpx.Response(502, text="<html>bad gateway</html>"))
        == "the server answered 502 Bad Gateway"
    )
    assert normalise_url("HTTPS://Tender.Example.cn:443/") == "https://tender.example.cn"
    assert normalise_url("http://127.0.0.1:8000/base/") == "http://127.0.0.1:8000/base"
    with pytest.raises(ClientError):
        normalise_url("ftp://x")


def test_token_cache_is_per_server(state_dir: Path) -> None:
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    save_token("http://a.example", {"token": "A", "expires_at": later})
    save_token("http://b.example:8080", {"token": "B", "expires_at": later})
    assert load_token("http://A.example/")["token"] == "A"  # type: ignore[index]
    assert load_token("http://b.example:8080")["token"] == "B"  # type: ignore[index]
    assert load_token("http://c.example") is None


def test_authorised_client_uses_the_cached_token_or_asks_to_log_in(state_dir: Path) -> None:
    from api.client.http import authorised_client

    with pytest.raises(ClientError, match="run: sealbid login"):
        authorised_client("http://a.example")
    later = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    save_token("http://a.example", {"token": "T0K", "expires_at": later})
    with authorised_client("http://a.example/") as client:
        assert client.headers["Authorization"] == "Bearer T0K"
        assert str(client.base_url) == "http://a.example"
