"""The declarative test PKI, built once per session at test time (no key is ever stored).

``test-root`` (EC) -> ``test-ca`` (RSA-2048, delegated OCSP responder, TSA, platform signing) with
good, revoked, expired, not-yet-valid and wrong-key-usage participants (EC and RSA, dual certificates),
and ``test-root`` -> ``revoked-ca`` (revoked by the root) -> one participant.
``other-root`` is a second, untrusted root with one participant.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from crypto.identity import SERIAL_NUMBER, IdentityKind
from crypto.pki import (
    BuiltPki,
    CASpec,
    KeyType,
    LeafPurpose,
    LeafSpec,
    PkiSpec,
    Revocation,
    ServiceKind,
    ServiceSpec,
    Validity,
    build_pki,
)
from crypto.pki.certs import SIGNING_KEY_USAGE, CertProfile, generate_key, issue_certificate, make_name
from crypto.uscc import make_org_code, make_uscc

BASE_URL = "http://pki.test.invalid/pki"
PASSWORD = b"test-password"


def sample_uscc(serial: int) -> str:
    """A valid made-up USCC."""
    return make_uscc(f"91110000{make_org_code(f'TE5T{serial:04d}')}")


def _enterprise(name: str, serial: int, **kw: object) -> LeafSpec:
    return LeafSpec(
        name=name,
        kind=IdentityKind.ENTERPRISE,
        display_name=f"{name} Co., Ltd.",
        uscc=sample_uscc(serial),
        roles=("tenderer",),
        **kw,  # type: ignore[arg-type]
    )


def spec_at(now: datetime) -> PkiSpec:
    """The session test PKI."""
    leaves = (
        _enterprise("good-ec", 1),
        _enterprise(
            "good-rsa", 2, key_type=KeyType.RSA_2048, uscc_attribute=SERIAL_NUMBER, uscc_prefix="USCC-"
        ),
        LeafSpec(
            name="person",
            kind=IdentityKind.PERSON,
            display_name="Expert Zhang",
            person_id="E1234567",
            roles=("expert", "custodian"),
            purpose=LeafPurpose.DUAL,
        ),
        _enterprise(
            "revoked",
            3,
            purpose=LeafPurpose.SIGNING,
            revoked=Revocation(timedelta(hours=-1), x509.ReasonFlags.key_compromise),
        ),
        _enterprise(
            "revoked-unspecified",
            4,
            purpose=LeafPurpose.SIGNING,
            revoked=Revocation(timedelta(hours=-2), x509.ReasonFlags.unspecified),
        ),
        _enterprise(
            "expired",
            5,
            purpose=LeafPurpose.SIGNING,
            validity=Validity(timedelta(days=-400), timedelta(days=-1)),
        ),
        _enterprise(
            "not-yet-valid",
            6,
            purpose=LeafPurpose.SIGNING,
            validity=Validity(timedelta(days=1), timedelta(days=365)),
        ),
        _enterprise("wrong-ku", 7, purpose=LeafPurpose.SIGNING, key_usage=frozenset({"data_encipherment"})),
        _enterprise(
            "revoked-later",
            8,
            purpose=LeafPurpose.SIGNING,
            revoked=Revocation(timedelta(days=30), x509.ReasonFlags.superseded),
        ),
    )
    test_ca = CASpec(
        name="test-ca",
        display_name="Test Issuing CA",
        key_type=KeyType.RSA_2048,
        path_length=0,
        leaves=leaves,
        services=(
            ServiceSpec("test-ocsp", ServiceKind.OCSP_RESPONDER, "Test OCSP Responder"),
            ServiceSpec("tsa", ServiceKind.TSA, "Test TSA"),
            ServiceSpec(
                "platform", ServiceKind.PLATFORM_SIGNING, "Test Platform", organization_uscc=sample_uscc(99)
            ),
        ),
    )
    revoked_ca = CASpec(
        name="revoked-ca",
        display_name="Revoked Issuing CA",
        revoked=Revocation(timedelta(hours=-3), x509.ReasonFlags.ca_compromise),
        leaves=(_enterprise("under-revoked-ca", 10, purpose=LeafPurpose.SIGNING),),
    )
    root = CASpec(name="test-root", display_name="Test Root CA", children=(test_ca, revoked_ca))
    other = CASpec(
        name="other-root",
        display_name="Other Root CA",
        leaves=(_enterprise("untrusted", 11, purpose=LeafPurpose.SIGNING),),
    )
    return PkiSpec(roots=(root, other), base_url=BASE_URL, now=now)


@pytest.fixture(scope="session")
def pki() -> BuiltPki:
    """The session test PKI, built at test time."""
    return build_pki(spec_at(datetime.now(UTC)))


@dataclass
class ManualClock:
    """A clock that moves only when told to."""

    now: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> ManualClock:
    """A manual clock starting at the real now."""
    return ManualClock()


@pytest.fixture(scope="session")
def issue_custom(pki: BuiltPki) -> Callable[[x509.Name], x509.Certificate]:
    """Issue a signing certificate with an arbitrary subject from ``test-ca``."""
    ca = pki.credential("test-ca")

    def issue(subject: x509.Name) -> x509.Certificate:
        key = generate_key(KeyType.EC_P256)
        return issue_certificate(
            subject=subject,
            public_key=key.public_key(),
            issuer=(ca.certificate, ca.private_key, ca.name),
            self_key=None,
            not_before=pki.now - timedelta(days=1),
            not_after=pki.now + timedelta(days=30),
            profile=CertProfile(SIGNING_KEY_USAGE),
            urls=pki.urls,
        )

    return issue


__all__ = ["BASE_URL", "PASSWORD", "ManualClock", "make_name", "sample_uscc", "spec_at"]
