"""``sealbid pki init`` and ``sealbid identity``: the dev PKI on disk, loaded by a fresh platform."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient

from api.app import create_app
from api.cli import main
from api.client.login_commands import load_credential, perform_login
from tendering.identity.service import list_identities
from tendering.platform import build_platform
from tendering.settings import Settings, load_settings


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """One ``pki init`` run for the module (it takes a few seconds; it migrates the embedded database)."""
    data_dir = tmp_path_factory.mktemp("pki-init")
    env = {"SEALBID_ENVIRONMENT": "test", "SEALBID_PKI_PASSWORD": "demo-pw"}
    result = CliRunner().invoke(main, ["--data-dir", str(data_dir), "pki", "init"], env=env)
    assert result.exit_code == 0, result.output
    return data_dir, env


def _settings(data_dir: Path) -> Settings:
    return load_settings(None, environment="test", data_dir=data_dir)


def test_pki_init_writes_the_pki_and_private_files(made: tuple[Path, dict[str, str]]) -> None:
    data_dir, _ = made
    pki = data_dir / "pki"
    assert (pki / "index.json").is_file() and (pki / "trust" / "ca-bundle.pem").is_file()
    assert stat.S_IMODE((pki / "server-password").stat().st_mode) == 0o600
    p12s = sorted(p.name for p in (pki / "participants").iterdir())
    assert "tenderer-1-sign.p12" in p12s and "custodian-1-enc.p12" in p12s and "admin-sign.p12" in p12s
    assert all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in (pki / "participants").iterdir())
    credential = load_credential(pki / "participants" / "admin-sign.p12", "demo-pw")
    assert credential.certificate.subject.rfc4514_string().startswith("2.5.4.72=admin")


def test_pki_init_registers_the_participants(made: tuple[Path, dict[str, str]]) -> None:
    platform = build_platform(_settings(made[0]))
    try:
        identities = {s.subject_id: s for s in list_identities(platform)}
    finally:
        platform.close()
    roles = {s.name: s.roles for s in identities.values()}
    assert roles["平台管理员"] == ("admin",)
    assert roles["审查员 王明"] == ("authority",)
    assert roles["评标专家 01"] == ("expert",)
    assert roles["福州市城市建设服务中心"] == ("agency",)
    custodian = next(s for s in identities.values() if s.name == "密钥托管人 01")
    assert sorted(purpose for _, purpose, _ in custodian.certificates) == ["encryption", "signing"]


def test_pki_init_refuses_to_overwrite_and_outside_development(made: tuple[Path, dict[str, str]]) -> None:
    data_dir, env = made
    again = CliRunner().invoke(main, ["--data-dir", str(data_dir), "pki", "init"], env=env)
    assert again.exit_code == 1 and "already exists" in again.output and "--force" in again.output
    off = CliRunner().invoke(
        main, ["--data-dir", str(data_dir), "pki", "init"], env={**env, "SEALBID_DEV_PKI": "false"}
    )
    assert off.exit_code == 1 and "refused" in off.output


def test_a_fresh_platform_loads_the_pki_from_disk_and_logs_in(made: tuple[Path, dict[str, str]]) -> None:
    data_dir, _ = made
    platform = build_platform(_settings(data_dir))
    try:
        with TestClient(create_app(platform=platform, configure_logs=False, start_worker=False)) as client:
            credential = load_credential(data_dir / "pki" / "participants" / "expert-1-sign.p12", "demo-pw")
            answer = perform_login(client, credential, audience=platform.settings.public_url)
            assert answer["roles"] == ["expert"]
            assert client.get("/dev-pki/ca/dev-ca.cer").status_code == 200
    finally:
        platform.close()


def test_identity_commands(made: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    data_dir, env = made
    runner = CliRunner()
    cert = data_dir / "pki" / "certs" / "monitor-sign.pem"
    granted = runner.invoke(
        main,
        ["--data-dir", str(data_dir), "identity", "grant", "--cert", str(cert), "--role", "expert"],
        env=env,
    )
    assert granted.exit_code == 0, granted.output
    assert "roles: expert, monitor" in granted.output
    identity_id = granted.output.split()[0]
    revoked = runner.invoke(
        main,
        [
            "--data-dir",
            str(data_dir),
            "identity",
            "revoke-role",
            "--identity",
            identity_id,
            "--role",
            "expert",
        ],
        env=env,
    )
    assert "roles: monitor" in revoked.output
    listed = runner.invoke(main, ["--data-dir", str(data_dir), "identity", "list"], env=env)
    assert "平台管理员" in listed.output
    bad = runner.invoke(
        main,
        ["--data-dir", str(data_dir), "identity", "grant", "--cert", str(cert), "--role", "king"],
        env=env,
    )
    assert bad.exit_code == 1 and "unknown role" in bad.output
    junk = tmp_path / "junk.pem"
    junk.write_text("hello")
    bad = runner.invoke(
        main,
        ["--data-dir", str(data_dir), "identity", "grant", "--cert", str(junk), "--role", "expert"],
        env=env,
    )
    assert bad.exit_code == 1 and "not a valid X.509 certificate" in bad.output


def test_identity_revoke_cert_and_force(made: tuple[Path, dict[str, str]]) -> None:
    data_dir, env = made
    from cryptography import x509

    from crypto.identity import certificate_fingerprint

    cert = x509.load_pem_x509_certificate((data_dir / "pki" / "certs" / "expert-5-sign.pem").read_bytes())
    result = CliRunner().invoke(
        main,
        [
            "--data-dir",
            str(data_dir),
            "identity",
            "revoke-cert",
            "--fingerprint",
            certificate_fingerprint(cert),
        ],
        env=env,
    )
    assert result.exit_code == 0, result.output
    assert "revoked" in result.output
    forced = CliRunner().invoke(
        main, ["--data-dir", str(data_dir), "pki", "init", "--force", "--password", "pw2"], env=env
    )
    assert forced.exit_code == 0, forced.output
    assert load_credential(data_dir / "pki" / "participants" / "admin-sign.p12", "pw2")
