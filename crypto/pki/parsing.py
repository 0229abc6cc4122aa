"""Strict parsing of certificate input: DER, PEM (one or a chain), cryptography or asn1crypto objects.

Both cryptography and asn1crypto must accept the certificate completely -- anything else is
:class:`MalformedCertificate`. cryptography parses eagerly here; the asn1crypto view (which pyhanko needs)
costs about a millisecond to force through, so :attr:`ParsedCert.asn1` builds it on first use (a
validation cache hit never needs it). Text outside
PEM blocks is ignored as RFC 7468 allows; damaged base64 inside a block is not.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from functools import cached_property
from typing import Final, TypeAlias

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.serialization import Encoding

__all__ = ["CertInput", "MalformedCertificate", "ParsedCert", "parse_certificate", "parse_certificates"]

CertInput: TypeAlias = bytes | x509.Certificate | asn1_x509.Certificate
"""DER or PEM bytes, a cryptography certificate or an asn1crypto certificate."""

_PEM_BLOCK: Final = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----(.*?)-----END \1-----", re.DOTALL)
_MAX_INPUT: Final = 1 << 20


class MalformedCertificate(ValueError):
    """The input is not a well-formed X.509 certificate."""


@dataclass(frozen=True)
class ParsedCert:
    """One certificate, parsed by cryptography; the asn1crypto view is built (and checked) on demand."""

    der: bytes
    crypto: x509.Certificate
    fingerprint: str
    """SHA-256 of ``der``, lower-case hex."""

    @cached_property
    def asn1(self) -> asn1_x509.Certificate:
        """The asn1crypto certificate, fully parsed; :class:`MalformedCertificate` if it does not parse."""
        try:
            asn1_cert = asn1_x509.Certificate.load(self.der, strict=True)
            _ = asn1_cert.native  # force asn1crypto's lazy parser through every field
        except (ValueError, TypeError, KeyError) as exc:
            raise MalformedCertificate(f"certificate does not parse completely: {exc}") from exc
        return asn1_cert


def parse_certificate(data: CertInput) -> ParsedCert:
    """Parse exactly one certificate."""
    first, rest = parse_certificates(data)
    if rest:
        raise MalformedCertificate(f"expected one certificate, found {1 + len(rest)}")
    return first


def parse_certificates(data: CertInput) -> tuple[ParsedCert, list[ParsedCert]]:
    """Parse a certificate, or a PEM chain: (first certificate, the others in order)."""
    if isinstance(data, x509.Certificate):
        return _from_der(data.public_bytes(Encoding.DER)), []
    if isinstance(data, asn1_x509.Certificate):
        try:
            der = data.dump()
        except (ValueError, TypeError) as exc:
            raise MalformedCertificate(f"cannot encode certificate: {exc}") from exc
        return _from_der(der), []
    if isinstance(data, bytearray | memoryview):
        data = bytes(data)
    if not isinstance(data, bytes):
        raise MalformedCertificate(f"expected certificate bytes or object, got {type(data).__name__}")
    if not data:
        raise MalformedCertificate("empty input")
    if len(data) > _MAX_INPUT:
        raise MalformedCertificate("input larger than 1 MiB")
    if b"-----BEGIN" in data:
        ders = _pem_blocks(data)
        parsed = [_from_der(der) for der in ders]
        return parsed[0], parsed[1:]
    return _from_der(data), []


def _pem_blocks(data: bytes) -> list[bytes]:
    blocks = list(_PEM_BLOCK.finditer(data))
    if not blocks:
        raise MalformedCertificate("PEM input without a complete BEGIN/END block")
    ders: list[bytes] = []
    for match in blocks:
        label = match.group(1).decode("ascii")
        if label not in ("CERTIFICATE", "X509 CERTIFICATE"):
            raise MalformedCertificate(f"PEM block {label!r} is not a certificate")
        body = b"".join(match.group(2).split())
        try:
            ders.append(base64.b64decode(body, validate=True))
        except (binascii.Error, ValueError) as exc:
            raise MalformedCertificate(f"PEM certificate block is not valid base64: {exc}") from exc
    return ders


def _from_der(der: bytes) -> ParsedCert:
    try:
        crypto_cert = x509.load_der_x509_certificate(der)
        _ = crypto_cert.extensions  # parsed lazily; duplicates and bad encodings surface here
        _ = crypto_cert.public_key()
    except ValueError as exc:
        raise MalformedCertificate(f"not a DER X.509 certificate: {exc}") from exc
    except UnsupportedAlgorithm as exc:
        raise MalformedCertificate(f"unsupported public key algorithm: {exc}") from exc
    return ParsedCert(der, crypto_cert, hashlib.sha256(der).hexdigest())
