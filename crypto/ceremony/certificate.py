"""The opening certificate: the P-256 public key that every bid of one tender is sealed to.

It is self-signed by the opening key (its authenticity comes from the lead custodian's signature over
the ceremony bundle, which carries it). Subject ``CN=sealbid opening key <tender id>, O=sealbid``; a
subjectAltName URI ``urn:uuid:<tender id>`` (or ``urn:sealbid:tender:<id>`` for ids that are not
UUIDs) names the tender for machines; keyUsage keyAgreement only (critical), basicConstraints CA:FALSE
(critical), subjectKeyIdentifier; validity from before publication until the bid deadline plus a
margin for the opening.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from crypto.ceremony.errors import CeremonyError

__all__ = [
    "check_opening_certificate",
    "default_validity",
    "make_opening_certificate",
    "tender_uri",
]

_MAX_SUBJECT_ID = 128


def tender_uri(tender_id: str) -> str:
    """The subjectAltName URI naming ``tender_id``: ``urn:uuid:...`` for UUIDs."""
    try:
        return uuid.UUID(tender_id).urn
    except ValueError:
        return f"urn:sealbid:tender:{tender_id}"


def make_opening_certificate(
    private_key: ec.EllipticCurvePrivateKey,
    tender_id: str,
    *,
    not_before: datetime,
    not_after: datetime,
) -> x509.Certificate:
    """The self-signed opening certificate for ``tender_id`` (ECDSA-SHA256 with the opening key)."""
    if not isinstance(private_key.curve, ec.SECP256R1):
        raise CeremonyError("the opening key must be a P-256 key")
    if not tender_id or len(tender_id) > _MAX_SUBJECT_ID:
        raise CeremonyError("the tender id must be 1..128 characters")
    if not_after <= not_before:
        raise CeremonyError("the opening certificate must end after it starts")
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"sealbid opening key {tender_id}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "sealbid"),
        ]
    )
    public_key = private_key.public_key()
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before.replace(microsecond=0))
        .not_valid_after(not_after.replace(microsecond=0))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(tender_uri(tender_id))]),
            critical=False,
        )
    )
    return builder.sign(private_key, hashes.SHA256())


def _extension(certificate: x509.Certificate, kind: type[x509.ExtensionType]) -> x509.ExtensionType:
    try:
        return certificate.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        raise CeremonyError(f"the opening certificate has no {kind.__name__} extension") from None
    except ValueError as exc:
        raise CeremonyError(f"the opening certificate has a malformed extension: {exc}") from None


def check_opening_certificate(
    certificate: x509.Certificate,
    tender_id: str,
    *,
    valid_at: datetime | None = None,
    valid_until: datetime | None = None,
) -> ec.EllipticCurvePublicKey:
    """Check that ``certificate`` is an opening certificate for ``tender_id``; its public key.

    P-256 key, self-signature verifies, keyUsage exactly keyAgreement, not a CA, the subjectAltName
    names the tender, and (if given) validity covers ``valid_at`` and lasts at least to ``valid_until``.
    """
    try:
        public_key = certificate.public_key()
    except (UnsupportedAlgorithm, ValueError):
        raise CeremonyError("the opening certificate's key cannot be read") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise CeremonyError("the opening certificate's key is not a P-256 key")
    try:
        certificate.verify_directly_issued_by(certificate)
    except (InvalidSignature, ValueError, TypeError) as exc:
        raise CeremonyError(f"the opening certificate's self-signature does not verify ({exc})") from None
    usage = _extension(certificate, x509.KeyUsage)
    assert isinstance(usage, x509.KeyUsage)
    if not usage.key_agreement or usage.digital_signature or usage.key_cert_sign:
        raise CeremonyError("the opening certificate's keyUsage must be keyAgreement only")
    constraints = _extension(certificate, x509.BasicConstraints)
    assert isinstance(constraints, x509.BasicConstraints)
    if constraints.ca:
        raise CeremonyError("the opening certificate must not be a CA certificate")
    names = _extension(certificate, x509.SubjectAlternativeName)
    assert isinstance(names, x509.SubjectAlternativeName)
    if tender_uri(tender_id) not in names.get_values_for_type(x509.UniformResourceIdentifier):
        raise CeremonyError(f"the opening certificate is not made for tender {tender_id}")
    start, end = certificate.not_valid_before_utc, certificate.not_valid_after_utc
    if valid_at is not None and not start <= valid_at <= end:
        raise CeremonyError(
            f"the opening certificate is valid {start:%Y-%m-%dT%H:%M:%SZ}..{end:%Y-%m-%dT%H:%M:%SZ}, "
            f"not at {valid_at:%Y-%m-%dT%H:%M:%SZ}"
        )
    if valid_until is not None and end < valid_until:
        raise CeremonyError(
            f"the opening certificate ends {end:%Y-%m-%dT%H:%M:%SZ}, before "
            f"{valid_until:%Y-%m-%dT%H:%M:%SZ} (the bid deadline plus the opening margin)"
        )
    return public_key


def default_validity(
    publication: datetime, deadline: datetime, now: datetime, *, margin: timedelta
) -> tuple[datetime, datetime]:
    """``(not_before, not_after)``: from an hour before publication (or now) to deadline + margin."""
    return min(publication, now) - timedelta(hours=1), deadline + margin
