"""PKCS#12 export and the save/load round trip of a built PKI."""

from __future__ import annotations

import json
import stat
import subprocess
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat, pkcs12

from crypto.pki import BuiltPki, CertKind, PkiStorageError, Purpose, VerdictReason
from tests.crypto.pki.conftest import PASSWORD


def _spki(key: Any) -> bytes:
    return bytes(key.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo))


@pytest.mark.parametrize("name", ["good-ec-sign", "good-rsa-enc", "tsa"])
def test_pkcs12_round_trip(pki: BuiltPki, name: str) -> None:
    data = pki.to_pkcs12(name, PASSWORD)
    key, cert, chain = pkcs12.load_key_and_certificates(data, PASSWORD)
    credential = pki.credential(name)
    assert cert == credential.certificate
    assert key is not None
    assert _spki(key) == _spki(credential.private_key)
    assert (
        chain
        == pki.chain(name)
        == [pki.credential("test-ca").certificate, pki.credential("test-root").certificate]
    )
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(data, b"wrong")
    with pytest.raises(ValueError, match="empty"):
        pki.to_pkcs12(name, b"")


def test_openssl_reads_the_pkcs12(pki: BuiltPki, tmp_path: Path) -> None:
    p12 = tmp_path / "good.p12"
    p12.write_bytes(pki.to_pkcs12("good-ec-sign", PASSWORD))
    result = subprocess.run(
        ["openssl", "pkcs12", "-in", str(p12), "-passin", f"pass:{PASSWORD.decode()}", "-nokeys", "-info"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "PBES2" in result.stderr + result.stdout
    assert result.stdout.count("BEGIN CERTIFICATE") == 3


@pytest.fixture(scope="module")
def saved(pki: BuiltPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("saved") / "pki"
    pki.save(directory, PASSWORD)
    return directory


def test_save_layout(pki: BuiltPki, saved: Path) -> None:
    index = json.loads((saved / "index.json").read_text())
    assert index["format"] == "sealbid-pki/1"
    assert index["base_url"] == pki.base_url
    entries = {e["name"]: e for e in index["credentials"]}
    assert set(entries) == set(pki.credentials)
    good = entries["good-ec-sign"]
    assert good["identity"]["key"].startswith("enterprise:")
    assert good["roles"] == ["tenderer"]
    assert good["usage"] == "signing"
    assert entries["tsa"]["identity"] is None
    assert entries["revoked-sign"]["revocation"]["reason"] == "keyCompromise"
    assert entries["test-ca"]["ocsp_responder"] == "test-ocsp"
    assert entries["test-ca"]["pkcs12"] is None
    for entry in entries.values():
        key_file = saved / entry["private_key"]
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert b"ENCRYPTED PRIVATE KEY" in key_file.read_bytes()
        if entry["pkcs12"]:
            assert stat.S_IMODE((saved / entry["pkcs12"]).stat().st_mode) == 0o600
    assert (saved / "trust/roots.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 2
    assert (saved / "trust/intermediates.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 2
    assert (saved / "trust/ca-bundle.pem").read_bytes().count(b"BEGIN CERTIFICATE") == 4


def test_load_round_trip(pki: BuiltPki, saved: Path) -> None:
    loaded = BuiltPki.load(saved, PASSWORD)
    assert loaded.base_url == pki.base_url
    assert loaded.now == pki.now
    assert list(loaded.credentials) == list(pki.credentials)
    for name, original in pki.credentials.items():
        copy = loaded.credential(name)
        assert copy.certificate == original.certificate
        assert _spki(copy.private_key) == _spki(original.private_key)
        assert (copy.kind, copy.issuer, copy.participant, copy.usage, copy.service, copy.roles) == (
            original.kind,
            original.issuer,
            original.participant,
            original.usage,
            original.service,
            original.roles,
        )
        assert copy.revocation == original.revocation
        assert copy.ocsp_responder == original.ocsp_responder
    assert loaded.participants() == pki.participants()
    assert [c.name for c in loaded.of_kind(CertKind.SERVICE)] == ["test-ocsp", "tsa", "platform"]
    # the loaded PKI still answers OCSP and validates
    checker = loaded.checker(roots=["test-root"])
    assert checker.validate(loaded.credential("good-ec-sign").certificate, purpose=Purpose.SIGNING).ok
    revoked = checker.validate(loaded.credential("revoked-sign").certificate, purpose=Purpose.SIGNING)
    assert revoked.reason is VerdictReason.REVOKED


def test_load_errors(saved: Path, tmp_path: Path, pki: BuiltPki) -> None:
    with pytest.raises(PkiStorageError, match="wrong password"):
        BuiltPki.load(saved, b"not the password")
    with pytest.raises(PkiStorageError, match=r"index\.json"):
        BuiltPki.load(tmp_path, PASSWORD)
    (tmp_path / "index.json").write_text('{"format": "something else"}')
    with pytest.raises(PkiStorageError, match="not a sealbid-pki/1"):
        BuiltPki.load(tmp_path, PASSWORD)


def test_save_refuses_to_mix_pkis(pki: BuiltPki, tmp_path: Path) -> None:
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(FileExistsError):
        pki.save(tmp_path, PASSWORD)
    with pytest.raises(ValueError, match="password"):
        pki.save(tmp_path / "new", b"")


def test_overwrite_and_tamper_detection(pki: BuiltPki, tmp_path: Path) -> None:
    target = tmp_path / "pki"
    pki.save(target, PASSWORD)
    pki.save(target, PASSWORD, overwrite=True)
    assert (
        BuiltPki.load(target, PASSWORD).credential("good-ec-sign").certificate
        == pki.credential("good-ec-sign").certificate
    )
    # swap two certificates: the key no longer matches
    (target / "certs/good-ec-sign.pem").write_bytes(
        pki.credential("good-rsa-sign").certificate.public_bytes(Encoding.PEM)
    )
    with pytest.raises(PkiStorageError, match="does not match"):
        BuiltPki.load(target, PASSWORD)
