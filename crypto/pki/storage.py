"""Save a built PKI to a directory and load it back.

Layout (``sealbid pki init`` writes this under the data directory)::

    index.json                 format "sealbid-pki/1": base URL, build time and one entry per credential
                               (kind, issuer, participant, usage, service, intended roles, identity,
                               planned revocation, fingerprint, file names)
    certs/<name>.pem           every certificate (CAs, participants, services)
    keys/<name>.key.pem        PKCS#8 private keys, encrypted with the caller's password (mode 0600)
    p12/<name>.p12             PKCS#12 per participant and service credential: key, certificate and
                               CA chain, same password (mode 0600)
    trust/roots.pem            root CA certificates (trust anchors)
    trust/intermediates.pem    subordinate CA certificates
    trust/ca-bundle.pem        both, for ``openssl ... -CAfile``

Nothing is written unencrypted except certificates and the index. ``index.json`` is written last, so a
directory without it is an incomplete save.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Final

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PrivateFormat

from crypto.identity import CertUsage, IdentityError, certificate_fingerprint, identify
from crypto.pki.certs import PrivateKey
from crypto.pki.credentials import CertKind, Credential, pkcs12_bytes
from crypto.pki.revocation import RevocationStatus
from crypto.pki.spec import ServiceKind

__all__ = ["FORMAT", "PkiStorageError", "load_pki", "save_pki"]

FORMAT: Final = "sealbid-pki/1"
_SUBDIRS: Final = ("certs", "keys", "p12", "trust")


class PkiStorageError(ValueError):
    """A saved PKI is missing, damaged, or the password is wrong."""


def save_pki(
    directory: Path,
    *,
    base_url: str,
    now: datetime,
    credentials: Sequence[Credential],
    chains: Mapping[str, list[x509.Certificate]],
    password: bytes,
    overwrite: bool = False,
) -> None:
    """Write credentials to ``directory`` in the layout above."""
    if not password:
        raise ValueError("a password is required to encrypt the private keys")
    if directory.exists() and any(directory.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{directory} is not empty")
        (directory / "index.json").unlink(missing_ok=True)
        for sub in _SUBDIRS:
            shutil.rmtree(directory / sub, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    for sub in _SUBDIRS:
        (directory / sub).mkdir(mode=0o700, exist_ok=True)
    encryption = serialization.BestAvailableEncryption(password)
    entries = []
    for cred in credentials:
        cert_file = f"certs/{cred.name}.pem"
        key_file = f"keys/{cred.name}.key.pem"
        (directory / cert_file).write_bytes(cred.certificate.public_bytes(Encoding.PEM))
        _write_private(
            directory / key_file,
            cred.private_key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption),
        )
        p12_file = None
        if cred.kind is not CertKind.CA:
            p12_file = f"p12/{cred.name}.p12"
            _write_private(directory / p12_file, pkcs12_bytes(cred, chains[cred.name], password))
        entries.append(_entry(cred, cert_file, key_file, p12_file))
    cas = [c for c in credentials if c.kind is CertKind.CA]
    roots = b"".join(c.certificate.public_bytes(Encoding.PEM) for c in cas if c.issuer is None)
    intermediates = b"".join(c.certificate.public_bytes(Encoding.PEM) for c in cas if c.issuer is not None)
    (directory / "trust/roots.pem").write_bytes(roots)
    (directory / "trust/intermediates.pem").write_bytes(intermediates)
    (directory / "trust/ca-bundle.pem").write_bytes(roots + intermediates)
    index = {"format": FORMAT, "base_url": base_url, "now": now.isoformat(), "credentials": entries}
    temporary = directory / "index.json.tmp"
    temporary.write_text(json.dumps(index, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(directory / "index.json")


def load_pki(directory: Path, password: bytes) -> tuple[str, datetime, list[Credential]]:
    """Read (base URL, build time, credentials) from a directory written by :func:`save_pki`."""
    try:
        index = json.loads((directory / "index.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise PkiStorageError(f"no readable index.json in {directory}: {exc}") from exc
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise PkiStorageError(f"{directory}/index.json is not a {FORMAT} index")
    try:
        credentials = [_load_entry(directory, entry, password) for entry in index["credentials"]]
        return str(index["base_url"]), datetime.fromisoformat(index["now"]), credentials
    except (KeyError, TypeError) as exc:
        raise PkiStorageError(f"{directory}/index.json is incomplete: {exc!r}") from exc


def _write_private(path: Path, data: bytes) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def _entry(cred: Credential, cert_file: str, key_file: str, p12_file: str | None) -> dict[str, Any]:
    try:
        identity = identify(cred.certificate)
        identity_entry: dict[str, str] | None = {
            "key": identity.key,
            "kind": identity.kind.value,
            "identifier": identity.identifier,
            "display_name": identity.display_name,
        }
    except IdentityError:
        identity_entry = None
    revocation = None
    if cred.revocation is not None:
        revocation = {"at": cred.revocation.at.isoformat(), "reason": cred.revocation.reason.value}
    return {
        "name": cred.name,
        "kind": cred.kind.value,
        "issuer": cred.issuer,
        "participant": cred.participant,
        "usage": cred.usage.value if cred.usage else None,
        "service": cred.service.value if cred.service else None,
        "roles": list(cred.roles),
        "identity": identity_entry,
        "revocation": revocation,
        "ocsp_responder": cred.ocsp_responder,
        "subject": cred.certificate.subject.rfc4514_string(),
        "serial_number": format(cred.certificate.serial_number, "x"),
        "not_before": cred.certificate.not_valid_before_utc.isoformat(),
        "not_after": cred.certificate.not_valid_after_utc.isoformat(),
        "fingerprint": cred.fingerprint,
        "certificate": cert_file,
        "private_key": key_file,
        "pkcs12": p12_file,
    }


def _load_entry(directory: Path, entry: Mapping[str, Any], password: bytes) -> Credential:
    name = entry["name"]
    try:
        certificate = x509.load_pem_x509_certificate((directory / entry["certificate"]).read_bytes())
        key_pem = (directory / entry["private_key"]).read_bytes()
    except (OSError, ValueError) as exc:
        raise PkiStorageError(f"credential {name!r}: {exc}") from exc
    try:
        key = serialization.load_pem_private_key(key_pem, password=password)
    except (ValueError, TypeError) as exc:
        raise PkiStorageError(f"credential {name!r}: wrong password or damaged key") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise PkiStorageError(f"credential {name!r}: unsupported key type {type(key).__name__}")
    private_key: PrivateKey = key
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(Encoding.DER, spki) != certificate.public_key().public_bytes(
        Encoding.DER, spki
    ):
        raise PkiStorageError(f"credential {name!r}: private key does not match the certificate")
    if certificate_fingerprint(certificate) != entry["fingerprint"]:
        raise PkiStorageError(f"credential {name!r}: certificate fingerprint differs from the index")
    revocation = None
    if entry["revocation"] is not None:
        revocation = RevocationStatus(
            datetime.fromisoformat(entry["revocation"]["at"]), x509.ReasonFlags(entry["revocation"]["reason"])
        )
    return Credential(
        name=name,
        kind=CertKind(entry["kind"]),
        certificate=certificate,
        private_key=private_key,
        issuer=entry["issuer"],
        participant=entry["participant"],
        usage=CertUsage(entry["usage"]) if entry["usage"] else None,
        service=ServiceKind(entry["service"]) if entry["service"] else None,
        roles=tuple(entry["roles"]),
        revocation=revocation,
        ocsp_responder=entry["ocsp_responder"],
    )
