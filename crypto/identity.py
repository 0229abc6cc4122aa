"""Map an X.509 certificate to a sealbid identity.

An *enterprise* certificate carries the unified social credit code (USCC) of the organisation, a *person*
certificate an identifier of a natural person (expert, custodian, officer). Where these live in the
subject is a deployment choice, so :class:`IdentityMapping` lists, in order, the attributes to look in
and the prefixes to strip:

* ``organizationIdentifier`` (2.5.4.97), plain or with an ``NTRCN-`` (ETSI EN 319 412-1), ``USCC-`` or
  ``USCC:`` prefix, is an enterprise USCC;
* ``serialNumber`` (2.5.4.5) with a ``USCC-``/``USCC:`` prefix is an enterprise USCC;
* otherwise a plain ``serialNumber`` is a person identifier.

The first attribute that an enterprise source claims decides: the certificate is an enterprise
certificate and its USCC must be valid (check character included) or :class:`InvalidIdentity` is
raised. Only when no enterprise source claims anything are the person sources consulted.

Roles may be carried as X.520 ``role`` attributes (2.5.4.72) in the subject. They are *hints* listed by
whoever issued the certificate; the server decides the roles of an identity from its own configuration.

Dual certificates (one for signing, one for encryption) of the same holder map to the same
:attr:`CertIdentity.key`; they differ in :attr:`CertIdentity.usage` and fingerprint.
"""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from typing import Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from crypto.uscc import InvalidUscc, parse_uscc

__all__ = [
    "DEFAULT_MAPPING",
    "ORGANIZATION_IDENTIFIER",
    "ROLE",
    "SERIAL_NUMBER",
    "AttributeSource",
    "CertIdentity",
    "CertUsage",
    "IdentityError",
    "IdentityKind",
    "IdentityMapping",
    "InvalidIdentity",
    "NoIdentity",
    "certificate_fingerprint",
    "certificate_usage",
    "identify",
]

ORGANIZATION_IDENTIFIER: Final = "2.5.4.97"
SERIAL_NUMBER: Final = "2.5.4.5"
ROLE: Final = "2.5.4.72"
_MAX_ID_LENGTH: Final = 128


class IdentityKind(enum.StrEnum):
    """Who holds the certificate."""

    ENTERPRISE = "enterprise"
    PERSON = "person"


class CertUsage(enum.StrEnum):
    """What a certificate's KeyUsage allows, in sealbid's terms."""

    SIGNING = "signing"
    """digitalSignature and/or nonRepudiation, no key transport/agreement."""
    ENCRYPTION = "encryption"
    """keyAgreement and/or keyEncipherment, no signature bits."""
    BOTH = "both"
    """Both kinds of bits, or no KeyUsage extension at all (unrestricted, RFC 5280 4.2.1.3)."""
    NONE = "none"
    """A KeyUsage with neither kind (e.g. only keyCertSign/cRLSign)."""


class IdentityError(ValueError):
    """Base class: the certificate does not yield a sealbid identity."""


class NoIdentity(IdentityError):
    """No configured attribute is present: the certificate names no enterprise or person."""


class InvalidIdentity(IdentityError):
    """An identity attribute is present but invalid (e.g. a USCC with a wrong check character)."""


@dataclass(frozen=True)
class AttributeSource:
    """One subject attribute to look in.

    A value that starts with one of ``prefixes`` is claimed with the prefix stripped; a value without
    a prefix is claimed as it is only if ``allow_plain``.
    """

    oid: str
    prefixes: tuple[str, ...] = ()
    allow_plain: bool = True

    def claim(self, value: str) -> str | None:
        """The identifier inside ``value``, or ``None`` if this source does not claim it."""
        for prefix in self.prefixes:
            if value.startswith(prefix):
                return value[len(prefix) :]
        return value if self.allow_plain else None


@dataclass(frozen=True)
class IdentityMapping:
    """Where identities live in certificate subjects; see the module docstring for the defaults."""

    uscc_sources: tuple[AttributeSource, ...] = (
        AttributeSource(ORGANIZATION_IDENTIFIER, ("NTRCN-", "USCC-", "USCC:")),
        AttributeSource(SERIAL_NUMBER, ("USCC-", "USCC:"), allow_plain=False),
    )
    person_sources: tuple[AttributeSource, ...] = (AttributeSource(SERIAL_NUMBER),)
    role_oid: str | None = ROLE
    strict_uscc: bool = True
    """Also check the USCC's authority/category pair and embedded organisation code check character."""


DEFAULT_MAPPING: Final = IdentityMapping()


@dataclass(frozen=True)
class CertIdentity:
    """The identity a certificate speaks for."""

    kind: IdentityKind
    identifier: str
    """The USCC for an enterprise, the person identifier for a person."""
    display_name: str
    """The subject's commonName, else its organizationName, else the RFC 4514 subject."""
    usage: CertUsage
    fingerprint: str
    """SHA-256 of the certificate DER, lower-case hex."""
    subject: str
    """RFC 4514 string of the subject."""
    roles: tuple[str, ...] = field(default=())
    """Role hints carried in the certificate (sorted, de-duplicated); never authoritative."""
    organization: str | None = None

    @property
    def key(self) -> str:
        """Stable identity key shared by all certificates of the holder, e.g. ``enterprise:9135...``."""
        return f"{self.kind.value}:{self.identifier}"

    @property
    def uscc(self) -> str | None:
        """The USCC of an enterprise identity."""
        return self.identifier if self.kind is IdentityKind.ENTERPRISE else None

    @property
    def person_id(self) -> str | None:
        """The identifier of a person identity."""
        return self.identifier if self.kind is IdentityKind.PERSON else None


def certificate_fingerprint(cert: x509.Certificate) -> str:
    """SHA-256 fingerprint of the certificate's DER encoding, lower-case hex."""
    return hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()


def certificate_usage(cert: x509.Certificate) -> CertUsage:
    """Classify the certificate's KeyUsage extension as signing, encryption, both or none."""
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return CertUsage.BOTH
    signing = ku.digital_signature or ku.content_commitment
    encryption = ku.key_agreement or ku.key_encipherment
    if signing and encryption:
        return CertUsage.BOTH
    if signing:
        return CertUsage.SIGNING
    if encryption:
        return CertUsage.ENCRYPTION
    return CertUsage.NONE


def identify(cert: x509.Certificate, mapping: IdentityMapping = DEFAULT_MAPPING) -> CertIdentity:
    """Map a certificate to its :class:`CertIdentity` under ``mapping``.

    Raises :class:`NoIdentity` if no configured attribute is present and :class:`InvalidIdentity` if
    the claimed identifier is invalid (bad USCC, ambiguous or unusable values).
    """
    subject = cert.subject
    kind, identifier = _find_identifier(subject, mapping)
    common_name = _first_text(subject, x509.NameOID.COMMON_NAME)
    organization = _first_text(subject, x509.NameOID.ORGANIZATION_NAME)
    roles: tuple[str, ...] = ()
    if mapping.role_oid is not None:
        values = _texts(subject, mapping.role_oid)
        roles = tuple(sorted({v.strip() for v in values if v.strip()}))
    subject_text = subject.rfc4514_string()
    return CertIdentity(
        kind=kind,
        identifier=identifier,
        display_name=common_name or organization or subject_text,
        usage=certificate_usage(cert),
        fingerprint=certificate_fingerprint(cert),
        subject=subject_text,
        roles=roles,
        organization=organization,
    )


def _find_identifier(subject: x509.Name, mapping: IdentityMapping) -> tuple[IdentityKind, str]:
    for source in mapping.uscc_sources:
        claimed = _claim(subject, source)
        if claimed is None:
            continue
        try:
            return IdentityKind.ENTERPRISE, parse_uscc(claimed, strict=mapping.strict_uscc).code
        except InvalidUscc as exc:
            raise InvalidIdentity(f"attribute {source.oid} holds an invalid USCC: {exc}") from exc
    for source in mapping.person_sources:
        claimed = _claim(subject, source)
        if claimed is None:
            continue
        if (
            not claimed
            or len(claimed) > _MAX_ID_LENGTH
            or not claimed.isprintable()
            or claimed != claimed.strip()
        ):
            raise InvalidIdentity(f"attribute {source.oid} holds an unusable person identifier {claimed!r}")
        return IdentityKind.PERSON, claimed
    raise NoIdentity(f"no enterprise or person identifier in subject {subject.rfc4514_string()!r}")


def _claim(subject: x509.Name, source: AttributeSource) -> str | None:
    claimed = {c for c in (source.claim(v) for v in _texts(subject, source.oid)) if c is not None}
    if len(claimed) > 1:
        raise InvalidIdentity(
            f"attribute {source.oid} holds several different identifiers: {sorted(claimed)}"
        )
    return claimed.pop() if claimed else None


def _texts(subject: x509.Name, oid: str | x509.ObjectIdentifier) -> list[str]:
    object_id = oid if isinstance(oid, x509.ObjectIdentifier) else x509.ObjectIdentifier(oid)
    values: list[str] = []
    for attribute in subject.get_attributes_for_oid(object_id):
        if not isinstance(attribute.value, str):
            raise InvalidIdentity(f"attribute {object_id.dotted_string} is not a text value")
        values.append(attribute.value)
    return values


def _first_text(subject: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = _texts(subject, oid)
    return values[0] if values else None
