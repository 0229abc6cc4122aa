"""Declarative description of a PKI: CA trees, participants and platform services.

A :class:`PkiSpec` is pure data. :func:`crypto.pki.authority.build_pki` turns it into keys and
certificates at run time, so nothing private ever needs to be stored in the repository. Every time
in a spec is relative to :attr:`PkiSpec.now`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from cryptography import x509

from crypto.identity import IdentityKind
from crypto.uscc import parse_uscc

__all__ = [
    "CASpec",
    "KeyType",
    "LeafPurpose",
    "LeafSpec",
    "PkiSpec",
    "Revocation",
    "ServiceKind",
    "ServiceSpec",
    "SpecError",
    "Validity",
]

_NAME: Final = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


class SpecError(ValueError):
    """A PKI spec is inconsistent (duplicate names, missing identifiers, bad times)."""


class KeyType(enum.StrEnum):
    """Key algorithm of a generated key pair."""

    EC_P256 = "ec-p256"
    RSA_2048 = "rsa-2048"


class LeafPurpose(enum.StrEnum):
    """Which certificates a participant gets."""

    SIGNING = "signing"
    ENCRYPTION = "encryption"
    DUAL = "dual"
    """Two certificates and two key pairs: one for signing, one for encryption."""


class ServiceKind(enum.StrEnum):
    """Platform service certificates."""

    OCSP_RESPONDER = "ocsp-responder"
    """Delegated OCSP responder of its issuing CA: id-kp-OCSPSigning and id-pkix-ocsp-nocheck."""
    TSA = "tsa"
    """RFC 3161 time-stamping unit: critical EKU id-kp-timeStamping."""
    PLATFORM_SIGNING = "platform-signing"
    """The platform's signing certificate (receipts, checkpoints in CMS)."""


@dataclass(frozen=True)
class Validity:
    """A validity window relative to the spec's ``now``."""

    not_before: timedelta = timedelta(days=-1)
    not_after: timedelta = timedelta(days=365)

    def window(self, now: datetime) -> tuple[datetime, datetime]:
        """Absolute (not_before, not_after) at whole seconds."""
        start = (now + self.not_before).replace(microsecond=0)
        end = (now + self.not_after).replace(microsecond=0)
        if end <= start:
            raise SpecError(f"validity ends ({end}) before it starts ({start})")
        return start, end


@dataclass(frozen=True)
class Revocation:
    """A certificate revoked ``at`` (relative to ``now``) for ``reason``."""

    at: timedelta = timedelta(hours=-1)
    reason: x509.ReasonFlags = x509.ReasonFlags.key_compromise


@dataclass(frozen=True)
class LeafSpec:
    """A participant (enterprise or person) and the certificates it gets.

    Enterprises need ``uscc`` (a valid code), persons ``person_id``. ``uscc_attribute`` and
    ``uscc_prefix`` say how the USCC is written into the subject (organizationIdentifier plain by
    default). ``roles`` are the intended sealbid roles, written as X.520 ``role`` attributes.
    ``key_usage`` overrides the KeyUsage bits (names of :class:`cryptography.x509.KeyUsage`
    arguments), e.g. to make a deliberately wrong certificate for tests.
    """

    name: str
    kind: IdentityKind
    display_name: str
    uscc: str | None = None
    person_id: str | None = None
    organization: str | None = None
    roles: tuple[str, ...] = ()
    purpose: LeafPurpose = LeafPurpose.DUAL
    key_type: KeyType = KeyType.EC_P256
    validity: Validity = field(default_factory=Validity)
    revoked: Revocation | None = None
    uscc_attribute: str = "2.5.4.97"
    uscc_prefix: str = ""
    key_usage: frozenset[str] | None = None


@dataclass(frozen=True)
class ServiceSpec:
    """A platform service certificate issued by the enclosing CA."""

    name: str
    kind: ServiceKind
    display_name: str
    key_type: KeyType = KeyType.EC_P256
    validity: Validity = field(default_factory=Validity)
    organization_uscc: str | None = None
    """USCC of the platform operator, written as organizationIdentifier when given."""
    revoked: Revocation | None = None


@dataclass(frozen=True)
class CASpec:
    """A certification authority with its subordinate CAs, participants and services."""

    name: str
    display_name: str
    key_type: KeyType = KeyType.EC_P256
    validity: Validity = field(default_factory=lambda: Validity(timedelta(days=-30), timedelta(days=3650)))
    children: tuple[CASpec, ...] = ()
    leaves: tuple[LeafSpec, ...] = ()
    services: tuple[ServiceSpec, ...] = ()
    revoked: Revocation | None = None
    path_length: int | None = None

    @property
    def ocsp_responder(self) -> str | None:
        """Name of this CA's delegated OCSP responder service, if it has one (else the CA signs)."""
        for service in self.services:
            if service.kind is ServiceKind.OCSP_RESPONDER:
                return service.name
        return None


@dataclass(frozen=True)
class PkiSpec:
    """A whole PKI: one or more root CAs, URLs under ``base_url``, times relative to ``now``."""

    roots: tuple[CASpec, ...]
    base_url: str
    now: datetime
    organization: str = "sealbid"
    country: str = "CN"

    def iter_cas(self) -> Iterator[tuple[CASpec, CASpec | None]]:
        """Every CA with its parent (``None`` for roots), parents before children."""
        stack: list[tuple[CASpec, CASpec | None]] = [(root, None) for root in reversed(self.roots)]
        while stack:
            ca, parent = stack.pop()
            yield ca, parent
            stack.extend((child, ca) for child in reversed(ca.children))

    def check(self) -> None:
        """Raise :class:`SpecError` unless names are unique and identities complete."""
        if self.now.tzinfo is None:
            raise SpecError("PkiSpec.now must be timezone-aware")
        if not self.base_url.startswith(("http://", "https://")):
            raise SpecError(f"base_url must be an http(s) URL, got {self.base_url!r}")
        seen: set[str] = set()

        def claim(name: str) -> None:
            if not _NAME.match(name):
                raise SpecError(f"name {name!r} must be lower-case letters, digits and '-'")
            if name in seen:
                raise SpecError(f"duplicate name {name!r}")
            seen.add(name)

        for ca, _ in self.iter_cas():
            claim(ca.name)
            ca.validity.window(self.now)
            for service in ca.services:
                claim(service.name)
                service.validity.window(self.now)
                if service.organization_uscc is not None:
                    parse_uscc(service.organization_uscc)
            for leaf in ca.leaves:
                for suffix in _leaf_suffixes(leaf):
                    claim(f"{leaf.name}{suffix}")
                leaf.validity.window(self.now)
                _check_leaf(leaf)


def _leaf_suffixes(leaf: LeafSpec) -> tuple[str, ...]:
    if leaf.purpose is LeafPurpose.DUAL:
        return ("-sign", "-enc")
    return ("-sign",) if leaf.purpose is LeafPurpose.SIGNING else ("-enc",)


def _check_leaf(leaf: LeafSpec) -> None:
    if leaf.kind is IdentityKind.ENTERPRISE:
        if leaf.uscc is None:
            raise SpecError(f"enterprise {leaf.name!r} needs a uscc")
        parse_uscc(leaf.uscc)
    elif leaf.person_id is None or not leaf.person_id.strip():
        raise SpecError(f"person {leaf.name!r} needs a person_id")
