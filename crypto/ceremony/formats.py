"""The ceremony's documents: the share plaintext and the opening-key bundle (RFC 8785 canonical JSON).

Share plaintext (sealed to one custodian's encryption certificate)::

    {"type": "sealbid.opening-key-share.v1", "tender": str, "index": int, "threshold": int,
     "share": 64 hex, "salt": 64 hex, "opening_certificate_sha256": 64 hex}

Bundle (signed by the lead custodian with a detached CMS SignedData)::

    {"type": "sealbid.opening-key.v1", "tender": str, "threshold": k, "share_count": n,
     "opening_certificate": base64 DER, "opening_certificate_sha256": 64 hex,
     "shares": [{"index": i, "custodian": str, "custodian_certificate_sha256": 64 hex,
                 "encrypted_share": base64 DER AuthEnvelopedData, "commitment": 64 hex}, ...],
     "created": "YYYY-MM-DDTHH:MM:SSZ", "lead_custodian_certificate_sha256": 64 hex}

Hex is lower case; base64 is standard with padding. Shares are listed by index 1..n. ``parse_*``
functions check everything that can be checked without keys and raise :class:`CeremonyError` with
a message that names the field.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

import rfc8785
from cryptography import x509

from crypto.ceremony.errors import CeremonyError
from crypto.cms import CmsError, peek_envelope
from crypto.shamir import MAX_SHARES, P256_ORDER, SALT_SIZE, Share

__all__ = [
    "BUNDLE_TYPE",
    "MAX_BUNDLE_SIZE",
    "MIN_THRESHOLD",
    "SHARE_TYPE",
    "BundleShare",
    "OpeningKeyBundle",
    "SharePlaintext",
    "parse_bundle",
]

BUNDLE_TYPE: Final = "sealbid.opening-key.v1"
SHARE_TYPE: Final = "sealbid.opening-key-share.v1"
#: A bundle larger than this is refused before parsing (255 shares need about 250 KiB).
MAX_BUNDLE_SIZE: Final = 1 << 20
#: k >= 2: with k = 1 any single custodian could open every bid alone, which defeats the purpose.
MIN_THRESHOLD: Final = 2
_HEX64 = re.compile(r"[0-9a-f]{64}")
_TIME = "%Y-%m-%dT%H:%M:%SZ"
_MAX_ID = 128
_MAX_ENVELOPE = 16 * 1024
_MAX_CERTIFICATE = 16 * 1024


def canonical(document: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON bytes."""
    return bytes(rfc8785.dumps(document))


def sha256_hex(data: bytes) -> str:
    """Lower-case hex SHA-256."""
    return hashlib.sha256(data).hexdigest()


def format_time(moment: datetime) -> str:
    """``YYYY-MM-DDTHH:MM:SSZ`` in UTC."""
    return moment.astimezone(UTC).strftime(_TIME)


def _load_json(data: bytes, what: str, limit: int) -> dict[str, Any]:
    if len(data) > limit:
        raise CeremonyError(f"the {what} is larger than {limit} bytes")
    try:
        document = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CeremonyError(f"the {what} is not UTF-8 JSON") from None
    if not isinstance(document, dict):
        raise CeremonyError(f"the {what} is not a JSON object")
    return document


def _fields(document: dict[str, Any], expected: set[str], what: str) -> None:
    missing = sorted(expected - document.keys())
    extra = sorted(document.keys() - expected)
    if missing:
        raise CeremonyError(f"the {what} lacks {', '.join(missing)}")
    if extra:
        raise CeremonyError(f"the {what} has unknown fields {', '.join(extra)}")


def _int(document: dict[str, Any], name: str, what: str, low: int, high: int) -> int:
    value = document[name]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise CeremonyError(f"{what}: {name} must be an integer in {low}..{high}")
    return value


def _text(document: dict[str, Any], name: str, what: str) -> str:
    value = document[name]
    if not isinstance(value, str) or not 0 < len(value) <= _MAX_ID:
        raise CeremonyError(f"{what}: {name} must be a string of 1..{_MAX_ID} characters")
    return value


def _hex64(document: dict[str, Any], name: str, what: str) -> str:
    value = document[name]
    if not isinstance(value, str) or not _HEX64.fullmatch(value):
        raise CeremonyError(f"{what}: {name} must be 64 lower-case hex digits")
    return value


def _b64(document: dict[str, Any], name: str, what: str, limit: int) -> bytes:
    value = document[name]
    if not isinstance(value, str) or len(value) > limit * 4 // 3 + 4:
        raise CeremonyError(f"{what}: {name} must be base64 of at most {limit} bytes")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise CeremonyError(f"{what}: {name} is not valid base64") from None


@dataclass(frozen=True)
class SharePlaintext:
    """What one custodian's envelope holds: its share, the commitment salt and what they belong to."""

    tender: str
    index: int
    threshold: int
    value: int
    salt: bytes
    opening_certificate_sha256: str

    @property
    def share(self) -> Share:
        """The Shamir share ``(index, value)``."""
        return Share(self.index, self.value)

    def to_bytes(self) -> bytes:
        """Canonical JSON of the share document."""
        return canonical(
            {
                "type": SHARE_TYPE,
                "tender": self.tender,
                "index": self.index,
                "threshold": self.threshold,
                "share": self.value.to_bytes(32, "big").hex(),
                "salt": self.salt.hex(),
                "opening_certificate_sha256": self.opening_certificate_sha256,
            }
        )

    @classmethod
    def from_bytes(cls, data: bytes) -> SharePlaintext:
        """Parse and check a share document."""
        what = "share document"
        document = _load_json(data, what, 4096)
        _fields(
            document,
            {"type", "tender", "index", "threshold", "share", "salt", "opening_certificate_sha256"},
            what,
        )
        if document["type"] != SHARE_TYPE:
            raise CeremonyError(f"{what}: type is {document['type']!r}, not {SHARE_TYPE!r}")
        value = int(_hex64(document, "share", what), 16)
        if not 0 <= value < P256_ORDER:
            raise CeremonyError(f"{what}: the share value is outside the P-256 group order")
        return cls(
            tender=_text(document, "tender", what),
            index=_int(document, "index", what, 1, MAX_SHARES),
            threshold=_int(document, "threshold", what, MIN_THRESHOLD, MAX_SHARES),
            value=value,
            salt=bytes.fromhex(_hex64(document, "salt", what)),
            opening_certificate_sha256=_hex64(document, "opening_certificate_sha256", what),
        )

    def __post_init__(self) -> None:
        if len(self.salt) != SALT_SIZE:
            raise CeremonyError(f"a share salt is {SALT_SIZE} bytes")

    def __repr__(self) -> str:  # never show the share value or salt in logs or tracebacks
        return f"SharePlaintext(tender={self.tender!r}, index={self.index}, threshold={self.threshold})"


@dataclass(frozen=True)
class BundleShare:
    """One share entry of a bundle (no secret: the share is encrypted to its custodian)."""

    index: int
    custodian: str
    custodian_certificate_sha256: str
    encrypted_share: bytes
    commitment: str

    def document(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "index": self.index,
            "custodian": self.custodian,
            "custodian_certificate_sha256": self.custodian_certificate_sha256,
            "encrypted_share": base64.b64encode(self.encrypted_share).decode("ascii"),
            "commitment": self.commitment,
        }


@dataclass(frozen=True)
class OpeningKeyBundle:
    """A parsed, structurally checked opening-key bundle."""

    tender: str
    threshold: int
    share_count: int
    opening_certificate: x509.Certificate
    opening_certificate_der: bytes
    opening_certificate_sha256: str
    shares: tuple[BundleShare, ...]
    created: datetime
    lead_custodian_certificate_sha256: str

    def to_bytes(self) -> bytes:
        """Canonical JSON of the bundle (what the lead custodian signs)."""
        return canonical(
            {
                "type": BUNDLE_TYPE,
                "tender": self.tender,
                "threshold": self.threshold,
                "share_count": self.share_count,
                "opening_certificate": base64.b64encode(self.opening_certificate_der).decode("ascii"),
                "opening_certificate_sha256": self.opening_certificate_sha256,
                "shares": [share.document() for share in self.shares],
                "created": format_time(self.created),
                "lead_custodian_certificate_sha256": self.lead_custodian_certificate_sha256,
            }
        )

    def commitments(self) -> dict[int, str]:
        """Commitment per share index."""
        return {share.index: share.commitment for share in self.shares}


_BUNDLE_FIELDS: Final = {
    "type",
    "tender",
    "threshold",
    "share_count",
    "opening_certificate",
    "opening_certificate_sha256",
    "shares",
    "created",
    "lead_custodian_certificate_sha256",
}
_SHARE_FIELDS: Final = {
    "index",
    "custodian",
    "custodian_certificate_sha256",
    "encrypted_share",
    "commitment",
}


def _parse_share(entry: Any, position: int) -> BundleShare:
    what = f"bundle share #{position}"
    if not isinstance(entry, dict):
        raise CeremonyError(f"{what} is not a JSON object")
    _fields(entry, _SHARE_FIELDS, what)
    envelope = _b64(entry, "encrypted_share", what, _MAX_ENVELOPE)
    try:
        info = peek_envelope(envelope)
    except CmsError as exc:
        raise CeremonyError(f"{what}: the encrypted share is not a CMS AuthEnvelopedData ({exc})") from None
    if len(info.recipients) != 1:
        raise CeremonyError(f"{what}: the encrypted share must have exactly one recipient")
    return BundleShare(
        index=_int(entry, "index", what, 1, MAX_SHARES),
        custodian=_text(entry, "custodian", what),
        custodian_certificate_sha256=_hex64(entry, "custodian_certificate_sha256", what),
        encrypted_share=envelope,
        commitment=_hex64(entry, "commitment", what),
    )


def parse_bundle(data: bytes) -> OpeningKeyBundle:
    """Parse and structurally check a bundle; :class:`CeremonyError` names the first problem.

    Checks: JSON object with exactly the known fields, the type, ``2 <= k <= n <= 255``, one share
    entry per index 1..n in order, distinct custodians and custodian certificates, hex formats,
    every encrypted share an AuthEnvelopedData with one recipient, the opening certificate parses
    and its SHA-256 is the one stated, the creation time format, and that the bytes are canonical.
    """
    what = "bundle"
    document = _load_json(data, what, MAX_BUNDLE_SIZE)
    _fields(document, _BUNDLE_FIELDS, what)
    if document["type"] != BUNDLE_TYPE:
        raise CeremonyError(f"the bundle type is {document['type']!r}, not {BUNDLE_TYPE!r}")
    share_count = _int(document, "share_count", what, MIN_THRESHOLD, MAX_SHARES)
    threshold = _int(document, "threshold", what, 1, MAX_SHARES)
    if threshold > share_count:
        raise CeremonyError(f"the threshold k={threshold} is larger than the share count n={share_count}")
    if threshold < MIN_THRESHOLD:
        raise CeremonyError(
            f"the threshold must be at least {MIN_THRESHOLD}: with k=1 one custodian alone opens every bid"
        )
    certificate_der = _b64(document, "opening_certificate", what, _MAX_CERTIFICATE)
    stated = _hex64(document, "opening_certificate_sha256", what)
    if sha256_hex(certificate_der) != stated:
        raise CeremonyError("opening_certificate_sha256 is not the SHA-256 of opening_certificate")
    try:
        certificate = x509.load_der_x509_certificate(certificate_der)
    except ValueError:
        raise CeremonyError("the opening certificate is not a DER X.509 certificate") from None
    entries = document["shares"]
    if not isinstance(entries, list) or len(entries) != share_count:
        raise CeremonyError(f"the bundle must list exactly {share_count} shares")
    shares = tuple(_parse_share(entry, position) for position, entry in enumerate(entries, start=1))
    _check_share_set(shares)
    try:
        created = datetime.strptime(str(document["created"]), _TIME).replace(tzinfo=UTC)
    except ValueError:
        raise CeremonyError("bundle: created must be a UTC time YYYY-MM-DDTHH:MM:SSZ") from None
    bundle = OpeningKeyBundle(
        tender=_text(document, "tender", what),
        threshold=threshold,
        share_count=share_count,
        opening_certificate=certificate,
        opening_certificate_der=certificate_der,
        opening_certificate_sha256=stated,
        shares=shares,
        created=created,
        lead_custodian_certificate_sha256=_hex64(document, "lead_custodian_certificate_sha256", what),
    )
    if bundle.to_bytes() != data:
        raise CeremonyError("the bundle is not in RFC 8785 canonical form")
    return bundle


def _check_share_set(shares: tuple[BundleShare, ...]) -> None:
    seen: set[int] = set()
    for position, share in enumerate(shares, start=1):
        if share.index in seen:
            raise CeremonyError(f"share index {share.index} appears twice")
        seen.add(share.index)
        if share.index != position:
            raise CeremonyError(f"shares must be listed by index 1..n; #{position} has index {share.index}")
    if len({s.custodian for s in shares}) != len(shares):
        raise CeremonyError("a custodian appears twice in the bundle: each holds exactly one share")
    if len({s.custodian_certificate_sha256 for s in shares}) != len(shares):
        raise CeremonyError("two shares are encrypted to the same custodian certificate")
    if len({s.commitment for s in shares}) != len(shares):
        raise CeremonyError("two shares have the same commitment")
