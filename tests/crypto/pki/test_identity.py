"""Certificate -> identity mapping: USCC sources and prefixes, persons, roles, usage classes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from crypto.identity import (
    ORGANIZATION_IDENTIFIER,
    ROLE,
    SERIAL_NUMBER,
    AttributeSource,
    CertUsage,
    IdentityKind,
    IdentityMapping,
    InvalidIdentity,
    NoIdentity,
    certificate_fingerprint,
    certificate_usage,
    identify,
)
from crypto.pki.certs import key_usage
from crypto.uscc import uscc_check_char
from tests.crypto.pki.conftest import sample_uscc

_KEY = ec.generate_private_key(ec.SECP256R1())
USCC = sample_uscc(1)


def _cert(attributes: list[tuple[str, str]], usage: set[str] | None = None) -> x509.Certificate:
    oids = {"CN": x509.NameOID.COMMON_NAME, "O": x509.NameOID.ORGANIZATION_NAME}
    name = x509.Name([x509.NameAttribute(oids.get(k) or x509.ObjectIdentifier(k), v) for k, v in attributes])
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(_KEY.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
    )
    if usage is not None:
        builder = builder.add_extension(key_usage(usage), critical=True)
    return builder.sign(_KEY, hashes.SHA256())


@pytest.mark.parametrize(
    "value", [USCC, f"NTRCN-{USCC}", f"USCC-{USCC}", f"USCC:{USCC}"], ids=["plain", "ntr", "dash", "colon"]
)
def test_enterprise_from_organization_identifier(value: str) -> None:
    cert = _cert([("CN", "Acme"), ("O", "Acme Ltd"), (ORGANIZATION_IDENTIFIER, value), (ROLE, "tenderer")])
    identity = identify(cert)
    assert identity.kind is IdentityKind.ENTERPRISE
    assert identity.uscc == USCC
    assert identity.person_id is None
    assert identity.key == f"enterprise:{USCC}"
    assert identity.display_name == "Acme"
    assert identity.organization == "Acme Ltd"
    assert identity.roles == ("tenderer",)
    assert identity.fingerprint == certificate_fingerprint(cert)
    assert identity.subject == cert.subject.rfc4514_string()


def test_enterprise_from_prefixed_serial_number() -> None:
    identity = identify(_cert([("O", "Acme Ltd"), (SERIAL_NUMBER, f"USCC-{USCC}")]))
    assert identity.kind is IdentityKind.ENTERPRISE
    assert identity.uscc == USCC
    assert identity.display_name == "Acme Ltd"  # no CN: the organisation name


def test_plain_serial_number_is_a_person_by_default() -> None:
    identity = identify(
        _cert([("CN", "Zhang San"), (SERIAL_NUMBER, "E1234567"), (ROLE, "expert"), (ROLE, "custodian")])
    )
    assert identity.kind is IdentityKind.PERSON
    assert identity.person_id == "E1234567"
    assert identity.uscc is None
    assert identity.key == "person:E1234567"
    assert identity.roles == ("custodian", "expert")


def test_configurable_mapping_plain_uscc_in_serial_number() -> None:
    mapping = IdentityMapping(
        uscc_sources=(AttributeSource(SERIAL_NUMBER),),
        person_sources=(AttributeSource("2.5.4.65", prefixes=("PID:",), allow_plain=False),),  # pseudonym
        role_oid=None,
    )
    enterprise = identify(_cert([("CN", "Acme"), (SERIAL_NUMBER, USCC), (ROLE, "tenderer")]), mapping)
    assert enterprise.uscc == USCC
    assert enterprise.roles == ()  # roles not read under this mapping
    person = identify(_cert([("CN", "Li Si"), ("2.5.4.65", "PID:X-9")]), mapping)
    assert person.person_id == "X-9"
    with pytest.raises(NoIdentity):
        identify(_cert([("CN", "Li Si"), ("2.5.4.65", "X-9")]), mapping)


def test_enterprise_sources_win_over_person_sources() -> None:
    identity = identify(_cert([(SERIAL_NUMBER, "E1"), (ORGANIZATION_IDENTIFIER, USCC)]))
    assert identity.kind is IdentityKind.ENTERPRISE


@pytest.mark.parametrize(
    "value",
    [
        USCC[:-1] + ("0" if USCC[-1] != "0" else "1"),  # wrong check character
        f"USCC-{USCC.lower()}",
        "NTRCN-123",
    ],
)
def test_invalid_uscc_is_rejected(value: str) -> None:
    with pytest.raises(InvalidIdentity, match="invalid USCC"):
        identify(_cert([("CN", "Typo"), (ORGANIZATION_IDENTIFIER, value)]))


def test_strict_and_lenient_uscc_structure() -> None:
    body = "94110000" + USCC[8:17]  # authority 9 has no category 4
    odd = body + uscc_check_char(body)
    cert = _cert([(ORGANIZATION_IDENTIFIER, odd)])
    with pytest.raises(InvalidIdentity, match="category"):
        identify(cert)
    assert identify(cert, IdentityMapping(strict_uscc=False)).uscc == odd


def test_missing_ambiguous_and_unusable_identifiers() -> None:
    with pytest.raises(NoIdentity):
        identify(_cert([("CN", "Nobody")]))
    with pytest.raises(InvalidIdentity, match="several"):
        identify(_cert([(ORGANIZATION_IDENTIFIER, USCC), (ORGANIZATION_IDENTIFIER, sample_uscc(2))]))
    with pytest.raises(InvalidIdentity, match="unusable"):
        identify(_cert([(SERIAL_NUMBER, " padded ")]))
    # the same value twice is not ambiguous
    assert identify(_cert([(ORGANIZATION_IDENTIFIER, USCC), (ORGANIZATION_IDENTIFIER, USCC)])).uscc == USCC


@pytest.mark.parametrize(
    ("bits", "usage"),
    [
        ({"digital_signature"}, CertUsage.SIGNING),
        ({"content_commitment"}, CertUsage.SIGNING),
        ({"key_agreement"}, CertUsage.ENCRYPTION),
        ({"key_encipherment"}, CertUsage.ENCRYPTION),
        ({"digital_signature", "key_agreement"}, CertUsage.BOTH),
        ({"key_cert_sign", "crl_sign"}, CertUsage.NONE),
        (None, CertUsage.BOTH),
    ],
)
def test_usage_classes(bits: set[str] | None, usage: CertUsage) -> None:
    cert = _cert([(SERIAL_NUMBER, "P1")], bits)
    assert certificate_usage(cert) is usage
    assert identify(cert).usage is usage


def test_unknown_key_usage_name() -> None:
    with pytest.raises(ValueError, match="unknown key usage"):
        key_usage({"sign_everything"})
