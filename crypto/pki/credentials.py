"""A built certificate with its private key and what the PKI knows about it."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import PrivateFormat, pkcs12

from crypto.identity import CertUsage, certificate_fingerprint
from crypto.pki.certs import PrivateKey
from crypto.pki.revocation import RevocationStatus
from crypto.pki.spec import ServiceKind

__all__ = ["CertKind", "Credential", "pkcs12_bytes"]

PKCS12_KDF_ROUNDS = 100_000


class CertKind(enum.StrEnum):
    """What a credential is for."""

    CA = "ca"
    PARTICIPANT = "participant"
    SERVICE = "service"


@dataclass(frozen=True)
class Credential:
    """One certificate and its private key.

    Participants have ``participant`` (the leaf name in the spec) and ``usage`` (signing or
    encryption); services have ``service``; CAs may name their delegated ``ocsp_responder``.
    ``revocation`` is the planned revocation (absolute time), if any.
    """

    name: str
    kind: CertKind
    certificate: x509.Certificate
    private_key: PrivateKey
    issuer: str | None
    participant: str | None = None
    usage: CertUsage | None = None
    service: ServiceKind | None = None
    roles: tuple[str, ...] = ()
    revocation: RevocationStatus | None = None
    ocsp_responder: str | None = None

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of the certificate, lower-case hex."""
        return certificate_fingerprint(self.certificate)


def pkcs12_bytes(credential: Credential, chain: list[x509.Certificate], password: bytes) -> bytes:
    """PKCS#12 with the key, the certificate and its CA chain (PBES2 AES-256-CBC, HMAC-SHA256)."""
    if not password:
        raise ValueError("a PKCS#12 password must not be empty")
    encryption = (
        PrivateFormat.PKCS12.encryption_builder()
        .kdf_rounds(PKCS12_KDF_ROUNDS)
        .key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
        .hmac_hash(hashes.SHA256())
        .build(password)
    )
    return pkcs12.serialize_key_and_certificates(
        credential.name.encode(),
        credential.private_key,
        credential.certificate,
        chain or None,
        encryption,
    )
