"""The spec checks and sealbid's demo PKI (dev_pki_spec)."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509

from crypto.identity import CertUsage, IdentityKind, identify
from crypto.pki import (
    BuiltPki,
    CASpec,
    CertKind,
    LeafSpec,
    PkiSpec,
    Purpose,
    SpecError,
    Validity,
    build_pki,
    dev_pki_spec,
)
from crypto.pki.dev import ROLE_CUSTODIAN, ROLE_EXPERT, ROLE_TENDERER
from crypto.uscc import is_valid_uscc

NOW = datetime(2031, 3, 1, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def dev_pki() -> BuiltPki:
    return build_pki(dev_pki_spec("https://sealbid.example/pki/", datetime.now(UTC)))


def test_dev_pki_participants(dev_pki: BuiltPki) -> None:
    roles = Counter(
        role for name in dev_pki.participants() for role in dev_pki.credential(_any(dev_pki, name)).roles
    )
    assert roles == {
        "tenderer": 5,
        "agency": 1,
        "tenderee": 1,
        "authority.reviewer": 1,
        "authority.supervisor": 1,
        "expert": 5,
        "custodian": 3,
        "monitor": 1,
        "admin": 1,
    }
    identities = set()
    for name in dev_pki.participants():
        creds = [c for c in dev_pki.credentials.values() if c.participant == name]
        keys = {identify(c.certificate).key for c in creds}
        assert len(keys) == 1, name  # dual certificates share the identity
        identities |= keys
        identity = identify(creds[0].certificate)
        if identity.kind is IdentityKind.ENTERPRISE:
            assert is_valid_uscc(identity.identifier)
            assert {c.usage for c in creds} == {CertUsage.SIGNING, CertUsage.ENCRYPTION}
        intended = creds[0].roles
        if ROLE_CUSTODIAN in intended:
            assert {c.usage for c in creds} == {CertUsage.SIGNING, CertUsage.ENCRYPTION}
        if ROLE_EXPERT in intended:
            assert [c.usage for c in creds] == [CertUsage.SIGNING]
    assert len(identities) == 7 + 12
    services = {c.name: c.service for c in dev_pki.of_kind(CertKind.SERVICE)}
    assert set(services) == {"ocsp-responder", "tsa", "platform-signing"}
    assert identify(dev_pki.credential("platform-signing").certificate).kind is IdentityKind.ENTERPRISE


def _any(pki: BuiltPki, participant: str) -> str:
    return next(c.name for c in pki.credentials.values() if c.participant == participant)


def test_dev_pki_validates(dev_pki: BuiltPki) -> None:
    checker = dev_pki.checker()
    for name in dev_pki.participants():
        signing = f"{name}-sign"
        verdict = checker.validate(dev_pki.credential(signing).certificate, purpose=Purpose.LOGIN)
        assert verdict.ok, (name, verdict.message)
        assert verdict.identity is not None
        assert verdict.identity.roles == dev_pki.credential(signing).roles
    assert checker.validate(dev_pki.encryption("tenderer-5").certificate, purpose=Purpose.ENCRYPTION).ok
    assert checker.validate(dev_pki.credential("platform-signing").certificate, purpose=Purpose.SIGNING).ok
    assert ROLE_TENDERER in dev_pki.signing("tenderer-1").roles


def test_certificate_profile(dev_pki: BuiltPki) -> None:
    cert = dev_pki.signing("tenderer-1").certificate
    ext = cert.extensions
    assert ext.get_extension_for_class(x509.BasicConstraints).critical
    assert not ext.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ext.get_extension_for_class(x509.KeyUsage).critical
    aia = ext.get_extension_for_class(x509.AuthorityInformationAccess).value
    urls = {d.access_method.dotted_string: d.access_location.value for d in aia}
    assert urls == {
        "1.3.6.1.5.5.7.48.1": "https://sealbid.example/pki/ocsp/dev-ca",
        "1.3.6.1.5.5.7.48.2": "https://sealbid.example/pki/ca/dev-ca.cer",
    }
    dps = ext.get_extension_for_class(x509.CRLDistributionPoints).value
    assert dps[0].full_name is not None
    assert dps[0].full_name[0].value == "https://sealbid.example/pki/crl/dev-ca.crl"
    ski = ext.get_extension_for_class(x509.SubjectKeyIdentifier).value
    assert ski == x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
    aki = ext.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    issuer_ski = dev_pki.credential("dev-ca").certificate.extensions.get_extension_for_class(
        x509.SubjectKeyIdentifier
    )
    assert aki.key_identifier == issuer_ski.value.digest
    responder = dev_pki.credential("ocsp-responder").certificate.extensions
    assert responder.get_extension_for_class(x509.OCSPNoCheck)
    responder_aia = responder.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert [d.access_method.dotted_string for d in responder_aia] == ["1.3.6.1.5.5.7.48.2"]  # no OCSP
    with pytest.raises(x509.ExtensionNotFound):
        responder.get_extension_for_class(x509.CRLDistributionPoints)
    root = dev_pki.credential("dev-root").certificate
    assert root.issuer == root.subject
    with pytest.raises(x509.ExtensionNotFound):
        root.extensions.get_extension_for_class(x509.AuthorityInformationAccess)


def _spec(*leaves: LeafSpec, **kw: object) -> PkiSpec:
    return PkiSpec(
        roots=(CASpec("root", "Root", leaves=leaves),),
        base_url=str(kw.get("base_url", "http://x.invalid")),
        now=kw.get("now", NOW),  # type: ignore[arg-type]
    )


def test_spec_errors() -> None:
    ok = LeafSpec("a", IdentityKind.PERSON, "A", person_id="P1")
    _spec(ok).check()
    with pytest.raises(SpecError, match="duplicate"):
        _spec(ok, ok).check()
    with pytest.raises(SpecError, match="lower-case"):
        _spec(replace(ok, name="Bad Name")).check()
    with pytest.raises(SpecError, match="needs a uscc"):
        _spec(LeafSpec("e", IdentityKind.ENTERPRISE, "E")).check()
    with pytest.raises(ValueError, match="check character"):
        _spec(LeafSpec("e", IdentityKind.ENTERPRISE, "E", uscc="91350100M000100Y44")).check()
    with pytest.raises(SpecError, match="needs a person_id"):
        _spec(LeafSpec("p", IdentityKind.PERSON, "P")).check()
    with pytest.raises(SpecError, match="timezone"):
        _spec(ok, now=datetime(2031, 1, 1)).check()
    with pytest.raises(SpecError, match="base_url"):
        _spec(ok, base_url="ftp://x").check()
    with pytest.raises(SpecError, match="before it starts"):
        _spec(replace(ok, validity=Validity(timedelta(days=1), timedelta(days=-1)))).check()


def test_validity_is_relative_to_now() -> None:
    built = build_pki(
        _spec(
            LeafSpec(
                "a",
                IdentityKind.PERSON,
                "A",
                person_id="P1",
                validity=Validity(timedelta(hours=-2), timedelta(days=10)),
            )
        )
    )
    cert = built.signing("a").certificate
    assert cert.not_valid_before_utc == NOW - timedelta(hours=2)
    assert cert.not_valid_after_utc == NOW + timedelta(days=10)
    assert built.now == NOW
