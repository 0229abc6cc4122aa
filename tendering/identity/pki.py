"""The certificate checker as the identity services see it: verdict reasons as errors, subjects.

:func:`refusal` turns a non-ok certificate verdict into the SealbidError whose code names the reason
(``certificate-revoked``, ``certificate-expired`` …); :func:`subject_of` maps a certificate to the
registry's notion of a subject with the configured :class:`crypto.identity.IdentityMapping`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, Protocol

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from crypto.identity import (
    DEFAULT_MAPPING,
    AttributeSource,
    IdentityMapping,
    InvalidIdentity,
    NoIdentity,
    identify,
)
from tendering.errors import InvalidInput, SealbidError, Unauthorized, Unavailable

#: Verdict reasons that end a session already logged in (REVOCATION_UNAVAILABLE does not: the
#: certificate was checked at login, and an outage of the CA's responder should not log everyone out).
FATAL_AFTER_LOGIN: Final = frozenset(
    {"UNTRUSTED", "EXPIRED", "NOT_YET_VALID", "REVOKED", "WRONG_KEY_USAGE", "MALFORMED"}
)

_REFUSALS: Final[dict[str, tuple[type[SealbidError], str, str]]] = {
    "UNTRUSTED": (Unauthorized, "certificate-untrusted", "is not issued by a CA this platform trusts"),
    "EXPIRED": (Unauthorized, "certificate-expired", "has expired"),
    "NOT_YET_VALID": (Unauthorized, "certificate-not-yet-valid", "is not valid yet"),
    "REVOKED": (Unauthorized, "certificate-revoked", "has been revoked by its CA"),
    "WRONG_KEY_USAGE": (
        Unauthorized,
        "certificate-wrong-key-usage",
        "may not be used for this (its key usage does not allow it)",
    ),
    "REVOCATION_UNAVAILABLE": (
        Unavailable,
        "revocation-unavailable",
        "could not be checked for revocation (the CA's OCSP responder and CRL are unreachable)",
    ),
    "MALFORMED": (InvalidInput, "certificate-malformed", "is malformed"),
}


class Verdict(Protocol):
    """What the identity services need of a certificate verdict."""

    @property
    def ok(self) -> bool: ...

    @property
    def reason(self) -> Any: ...

    @property
    def message(self) -> str: ...


def reason_name(verdict: Verdict) -> str:
    """The verdict's reason as an upper-case name (``"REVOKED"``), or ``""`` when ok."""
    reason = verdict.reason
    if reason is None:
        return ""
    return str(getattr(reason, "name", reason)).upper().replace("-", "_")


def refusal(verdict: Verdict, *, what: str = "certificate", as_input: bool = False) -> SealbidError:
    """The error for a certificate the checker did not accept.

    ``as_input`` makes it a 400 (InvalidInput) with the same code: for certificates that are the
    subject of a request (an administrator enrolling someone), not the caller's credentials.
    """
    name = reason_name(verdict)
    kind, code, words = _REFUSALS.get(name, (Unauthorized, "certificate-invalid", "was not accepted"))
    if name == "MALFORMED" and "USCC" in verdict.message:
        # The checker maps the subject before validating; a bad USCC is its own refusal here.
        code, words = "uscc-invalid", "names an invalid unified social credit code"
    detail = f"the {what} {words}"
    if verdict.message:
        detail += f" ({verdict.message})"
    if as_input and kind is Unauthorized:
        kind = InvalidInput
    return kind(detail, code=code)


def der_of(certificate: x509.Certificate) -> bytes:
    """The certificate's DER encoding."""
    return certificate.public_bytes(Encoding.DER)


@dataclass(frozen=True)
class Subject:
    """Whom a certificate names, in the registry's terms."""

    kind: str
    subject_id: str
    name: str


def identity_mapping(uscc_oids: tuple[str, ...]) -> IdentityMapping:
    """An identity mapping that looks for USCCs in ``uscc_oids``, in that order (settings)."""
    defaults = {source.oid: source for source in DEFAULT_MAPPING.uscc_sources}
    sources = tuple(
        defaults.get(oid, AttributeSource(oid, ("USCC-", "USCC:"), allow_plain=False)) for oid in uscc_oids
    )
    return IdentityMapping(uscc_sources=sources, person_sources=DEFAULT_MAPPING.person_sources)


def subject_of(certificate: x509.Certificate, mapping: IdentityMapping = DEFAULT_MAPPING) -> Subject:
    """The enterprise (by USCC) or person a certificate names, or InvalidInput saying why not."""
    try:
        identity = identify(certificate, mapping)
    except InvalidIdentity as exc:
        code = "uscc-invalid" if "USCC" in str(exc) else "identity-invalid"
        raise InvalidInput(f"the certificate's subject is not usable: {exc}", code=code) from None
    except NoIdentity as exc:
        raise InvalidInput(
            f"the certificate names no enterprise or person: {exc}", code="identity-missing"
        ) from None
    return Subject(identity.kind.value, identity.identifier, identity.display_name)
