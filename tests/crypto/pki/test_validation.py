"""CertificateChecker: every verdict reason, revocation policies, OCSP -> CRL fallback, the cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from crypto.identity import IdentityKind
from crypto.pki import (
    BuiltPki,
    CertificateChecker,
    InMemoryRevocationFetching,
    Purpose,
    RevocationPolicy,
    VerdictReason,
)
from tests.crypto.pki.conftest import ManualClock, sample_uscc


def _checker(
    pki: BuiltPki, fetching: InMemoryRevocationFetching | None = None, **kw: object
) -> CertificateChecker:
    return CertificateChecker(
        [pki.credential("test-root").certificate],
        intermediates=pki.intermediates,
        fetching=fetching or InMemoryRevocationFetching(pki.revocation_authority()),
        **kw,  # type: ignore[arg-type]
    )


def _cert(pki: BuiltPki, name: str) -> x509.Certificate:
    return pki.credential(name).certificate


@pytest.mark.parametrize(
    ("name", "purpose", "reason"),
    [
        ("good-ec-sign", Purpose.SIGNING, VerdictReason.TRUSTED),
        ("good-ec-sign", Purpose.LOGIN, VerdictReason.TRUSTED),
        ("good-ec-enc", Purpose.ENCRYPTION, VerdictReason.TRUSTED),
        ("good-rsa-sign", Purpose.SIGNING, VerdictReason.TRUSTED),
        ("good-rsa-enc", Purpose.ENCRYPTION, VerdictReason.TRUSTED),
        ("person-sign", Purpose.LOGIN, VerdictReason.TRUSTED),
        ("platform", Purpose.SIGNING, VerdictReason.TRUSTED),
        ("revoked-later-sign", Purpose.SIGNING, VerdictReason.TRUSTED),
        ("revoked-sign", Purpose.SIGNING, VerdictReason.REVOKED),
        ("revoked-unspecified-sign", Purpose.LOGIN, VerdictReason.REVOKED),
        ("under-revoked-ca-sign", Purpose.SIGNING, VerdictReason.REVOKED),
        ("expired-sign", Purpose.SIGNING, VerdictReason.EXPIRED),
        ("not-yet-valid-sign", Purpose.SIGNING, VerdictReason.NOT_YET_VALID),
        ("wrong-ku-sign", Purpose.SIGNING, VerdictReason.WRONG_KEY_USAGE),
        ("good-ec-enc", Purpose.SIGNING, VerdictReason.WRONG_KEY_USAGE),
        ("good-ec-sign", Purpose.ENCRYPTION, VerdictReason.WRONG_KEY_USAGE),
        ("good-rsa-sign", Purpose.ENCRYPTION, VerdictReason.WRONG_KEY_USAGE),
        ("person-enc", Purpose.LOGIN, VerdictReason.WRONG_KEY_USAGE),
        ("tsa", Purpose.LOGIN, VerdictReason.WRONG_KEY_USAGE),
        ("test-ca", Purpose.SIGNING, VerdictReason.WRONG_KEY_USAGE),
        ("untrusted-sign", Purpose.SIGNING, VerdictReason.UNTRUSTED),
        ("other-root", Purpose.SIGNING, VerdictReason.UNTRUSTED),
    ],
)
def test_verdict_reasons(pki: BuiltPki, name: str, purpose: Purpose, reason: VerdictReason) -> None:
    verdict = _checker(pki).validate(_cert(pki, name), purpose=purpose)
    assert verdict.reason is reason, verdict.message
    assert verdict.ok is (reason is VerdictReason.TRUSTED)
    assert verdict.purpose is purpose
    assert verdict.fingerprint == pki.credential(name).fingerprint
    assert verdict.message
    assert not verdict.from_cache


def test_trusted_verdict_carries_identity_and_path(pki: BuiltPki) -> None:
    verdict = _checker(pki).validate(_cert(pki, "good-rsa-sign"), purpose=Purpose.SIGNING)
    assert verdict.ok
    assert verdict.identity is not None
    assert verdict.identity.kind is IdentityKind.ENTERPRISE
    assert verdict.identity.uscc == sample_uscc(2)  # read from serialNumber "USCC-..."
    assert verdict.identity.roles == ("tenderer",)
    assert verdict.path == (
        "CN=Test Root CA,O=sealbid,C=CN",
        "CN=Test Issuing CA,O=sealbid,C=CN",
        verdict.identity.subject,
    )
    assert verdict.warnings == ()


def test_dual_certificates_map_to_one_identity(pki: BuiltPki) -> None:
    checker = _checker(pki)
    signing = checker.validate(_cert(pki, "person-sign"), purpose=Purpose.SIGNING)
    encryption = checker.validate(_cert(pki, "person-enc"), purpose=Purpose.ENCRYPTION)
    assert signing.ok
    assert encryption.ok
    assert signing.identity is not None
    assert encryption.identity is not None
    assert signing.identity.key == encryption.identity.key == "person:E1234567"
    assert signing.identity.usage.value == "signing"
    assert encryption.identity.usage.value == "encryption"
    assert signing.fingerprint != encryption.fingerprint


def test_revoked_verdict_names_the_revocation(pki: BuiltPki) -> None:
    verdict = _checker(pki).validate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.REVOKED
    assert "OCSP" in verdict.message
    assert "compromised key" in verdict.message
    assert verdict.path == ()


def test_revocation_is_checked_by_ocsp_first(pki: BuiltPki) -> None:
    fetching = InMemoryRevocationFetching(pki.revocation_authority())
    assert _checker(pki, fetching).validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING).ok
    assert fetching.requests["ocsp"] == 2  # the leaf (delegated responder) and test-ca (root signs)
    assert fetching.requests["crl"] == 0


def test_crl_is_the_fallback_when_ocsp_is_unreachable(pki: BuiltPki) -> None:
    fetching = InMemoryRevocationFetching(pki.revocation_authority(), ocsp=False)
    checker = _checker(pki, fetching)
    assert checker.validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING).ok
    revoked = checker.validate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING)
    assert revoked.reason is VerdictReason.REVOKED
    assert "CRL" in revoked.message
    assert fetching.requests["crl"] >= 2
    assert fetching.requests["ocsp"] >= 2


def test_require_fails_hard_without_revocation_information(pki: BuiltPki) -> None:
    fetching = InMemoryRevocationFetching(pki.revocation_authority(), ocsp=False, crl=False)
    checker = _checker(pki, fetching, revocation=RevocationPolicy.REQUIRE, cache_ttl=60)
    verdict = checker.validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.REVOCATION_UNAVAILABLE
    assert not verdict.ok
    # never cached: the next attempt asks again
    again = checker.validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING)
    assert not again.from_cache
    assert checker.cache_stats.size == 0


def test_soft_fail_accepts_unknown_status_with_a_warning(pki: BuiltPki) -> None:
    fetching = InMemoryRevocationFetching(pki.revocation_authority(), ocsp=False, crl=False)
    checker = _checker(pki, fetching, revocation=RevocationPolicy.SOFT_FAIL)
    verdict = checker.validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING)
    assert verdict.ok
    assert verdict.warnings
    assert all("revocation status not checked" in w for w in verdict.warnings)


def test_soft_fail_still_rejects_a_revoked_certificate(pki: BuiltPki) -> None:
    checker = _checker(pki, revocation=RevocationPolicy.SOFT_FAIL)
    verdict = checker.validate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.REVOKED


def test_off_skips_revocation_and_needs_no_fetcher(pki: BuiltPki) -> None:
    checker = CertificateChecker(
        [pki.credential("test-root").certificate],
        intermediates=pki.intermediates,
        revocation=RevocationPolicy.OFF,
    )
    assert checker.validate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING).ok


def test_point_in_time_validation(pki: BuiltPki) -> None:
    checker = _checker(pki)
    before_revocation = pki.now - timedelta(hours=2)
    verdict = checker.validate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING, at=before_revocation)
    assert verdict.ok, verdict.message
    assert verdict.checked_at == before_revocation
    after = checker.validate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING, at=pki.now)
    assert after.reason is VerdictReason.REVOKED
    expired = _cert(pki, "expired-sign")
    in_validity = expired.not_valid_after_utc - timedelta(days=10)
    assert checker.validate(expired, purpose=Purpose.SIGNING, at=in_validity).ok


def test_runtime_revocation(pki: BuiltPki) -> None:
    authority = pki.revocation_authority()
    checker = _checker(pki, InMemoryRevocationFetching(authority))
    cert = _cert(pki, "good-ec-sign")
    assert checker.validate(cert, purpose=Purpose.SIGNING).ok
    authority.revoke(cert, reason=x509.ReasonFlags.affiliation_changed)
    verdict = checker.validate(cert, purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.REVOKED
    # the shared PKI is untouched
    assert _checker(pki).validate(cert, purpose=Purpose.SIGNING).ok


def test_missing_intermediate(pki: BuiltPki) -> None:
    authority = pki.revocation_authority()
    root = [_cert(pki, "test-root")]
    leaf = _cert(pki, "good-ec-sign")
    no_aia = InMemoryRevocationFetching(authority, ca_issuers=False)
    assert CertificateChecker(root, fetching=no_aia).validate(leaf, purpose=Purpose.SIGNING).reason is (
        VerdictReason.UNTRUSTED
    )
    given = CertificateChecker(root, fetching=no_aia).validate(
        leaf, purpose=Purpose.SIGNING, intermediates=[_cert(pki, "test-ca")]
    )
    assert given.ok
    chain_pem = leaf.public_bytes(Encoding.PEM) + _cert(pki, "test-ca").public_bytes(Encoding.PEM)
    assert CertificateChecker(root, fetching=no_aia).validate(chain_pem, purpose=Purpose.SIGNING).ok
    via_aia = InMemoryRevocationFetching(authority)
    assert CertificateChecker(root, fetching=via_aia).validate(leaf, purpose=Purpose.SIGNING).ok
    assert via_aia.requests["ca_issuers"] >= 1


def test_input_forms(pki: BuiltPki) -> None:
    checker = _checker(pki)
    cert = _cert(pki, "good-ec-sign")
    der = cert.public_bytes(Encoding.DER)
    forms: list[object] = [
        cert,
        der,
        cert.public_bytes(Encoding.PEM),
        b"Subject: whatever\n" + cert.public_bytes(Encoding.PEM) + b"\ntrailing text\n",
        asn1_x509.Certificate.load(der),
    ]
    for form in forms:
        verdict = checker.validate(form, purpose=Purpose.SIGNING)
        assert verdict.ok, verdict.message
        assert verdict.fingerprint == pki.credential("good-ec-sign").fingerprint


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x01\x02garbage",
        b"\x30\x82\x01\x00" + b"\x00" * 10,
        b"-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n",
        b"-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
        b"-----BEGIN CERTIFICATE-----\nMIIB",
        "a string is not bytes",
        12345,
    ],
)
def test_malformed_input(pki: BuiltPki, data: object) -> None:
    verdict = _checker(pki).validate(data, purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.MALFORMED
    assert not verdict.ok
    assert verdict.fingerprint is None
    assert verdict.identity is None


def test_truncated_and_junk_inside_pem(pki: BuiltPki) -> None:
    checker = _checker(pki)
    der = _cert(pki, "good-ec-sign").public_bytes(Encoding.DER)
    assert checker.validate(der[:-10], purpose=Purpose.SIGNING).reason is VerdictReason.MALFORMED
    assert checker.validate(der + b"\x00", purpose=Purpose.SIGNING).reason is VerdictReason.MALFORMED
    pem = _cert(pki, "good-ec-sign").public_bytes(Encoding.PEM)
    lines = pem.splitlines()
    damaged = b"\n".join([*lines[:3], b"@@junk@@", *lines[3:]])
    assert checker.validate(damaged, purpose=Purpose.SIGNING).reason is VerdictReason.MALFORMED
    bad_intermediate = checker.validate(der, purpose=Purpose.SIGNING, intermediates=[b"junk"])
    assert bad_intermediate.reason is VerdictReason.MALFORMED


def test_invalid_uscc_in_certificate_is_malformed(pki: BuiltPki, issue_custom: object) -> None:
    good = sample_uscc(42)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    subject = x509.Name(
        [
            x509.NameAttribute(x509.NameOID.COMMON_NAME, "Typo Co."),
            x509.NameAttribute(x509.ObjectIdentifier("2.5.4.97"), bad),
        ]
    )
    cert = issue_custom(subject)  # type: ignore[operator]
    verdict = _checker(pki).validate(cert, purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.MALFORMED
    assert "check character" in verdict.message
    assert verdict.fingerprint is not None


def test_certificate_without_identity_is_validated_with_identity_none(pki: BuiltPki) -> None:
    verdict = _checker(pki).validate(_cert(pki, "tsa"), purpose=Purpose.SIGNING)
    assert verdict.identity is None
    assert verdict.reason is VerdictReason.WRONG_KEY_USAGE


def test_cached_verdict_is_answered_without_an_event_loop(
    pki: BuiltPki, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # every authenticated request re-checks its certificate: a hit must not pay for a new event loop
    checker = _checker(pki, InMemoryRevocationFetching(pki.revocation_authority()), cache_ttl=60, clock=clock)
    cert = _cert(pki, "good-ec-sign")
    assert checker.validate(cert, purpose=Purpose.LOGIN).ok
    loops: list[object] = []
    real_run = asyncio.run
    monkeypatch.setattr(asyncio, "run", lambda main: loops.append(main) or real_run(main))
    again = checker.validate(cert, purpose=Purpose.LOGIN)
    assert again.ok
    assert again.from_cache
    assert loops == []
    assert not checker.validate(cert, purpose=Purpose.SIGNING).from_cache  # a miss still checks
    assert len(loops) == 1
    assert checker.cache_stats.hits == 1
    assert checker.cache_stats.misses == 2


def test_cache_hits_misses_and_expiry(pki: BuiltPki, clock: ManualClock) -> None:
    fetching = InMemoryRevocationFetching(pki.revocation_authority())
    checker = _checker(pki, fetching, cache_ttl=60, clock=clock)
    cert = _cert(pki, "good-ec-sign")
    first = checker.validate(cert, purpose=Purpose.LOGIN)
    second = checker.validate(cert, purpose=Purpose.LOGIN)
    assert first.ok
    assert not first.from_cache
    assert second.from_cache
    assert second.reason is first.reason
    assert checker.cache_stats.hits == 1
    assert checker.cache_stats.misses == 1
    requests_after_two = fetching.requests["ocsp"]
    assert requests_after_two == 2  # only the first validation fetched
    # another purpose is another entry
    assert not checker.validate(cert, purpose=Purpose.SIGNING).from_cache
    clock.advance(seconds=59)
    assert checker.validate(cert, purpose=Purpose.LOGIN).from_cache
    clock.advance(seconds=2)
    expired_entry = checker.validate(cert, purpose=Purpose.LOGIN)
    assert not expired_entry.from_cache
    assert expired_entry.ok
    assert checker.cache_stats.misses == 3
    checker.clear_cache()
    assert checker.cache_stats.size == 0


def test_cached_verdict_hides_a_revocation_until_the_ttl(pki: BuiltPki, clock: ManualClock) -> None:
    authority = pki.revocation_authority()
    checker = _checker(pki, InMemoryRevocationFetching(authority), cache_ttl=30, clock=clock)
    cert = _cert(pki, "good-rsa-sign")
    assert checker.validate(cert, purpose=Purpose.SIGNING).ok
    authority.revoke(cert, at=datetime.now(UTC) - timedelta(seconds=5))
    assert checker.validate(cert, purpose=Purpose.SIGNING).from_cache
    clock.advance(seconds=31)
    assert checker.validate(cert, purpose=Purpose.SIGNING).reason is VerdictReason.REVOKED


def test_cache_disabled_with_ttl_zero(pki: BuiltPki) -> None:
    checker = _checker(pki, cache_ttl=0)
    cert = _cert(pki, "good-ec-sign")
    for _ in range(2):
        assert not checker.validate(cert, purpose=Purpose.SIGNING).from_cache
    assert checker.cache_stats.hits == checker.cache_stats.misses == checker.cache_stats.size == 0


def test_cache_is_bounded(pki: BuiltPki) -> None:
    checker = _checker(pki, cache_ttl=timedelta(minutes=5), cache_max_size=1)
    a, b = _cert(pki, "good-ec-sign"), _cert(pki, "good-rsa-sign")
    checker.validate(a, purpose=Purpose.SIGNING)
    checker.validate(b, purpose=Purpose.SIGNING)
    assert not checker.validate(a, purpose=Purpose.SIGNING).from_cache
    assert checker.cache_stats.size == 1


def test_cache_entry_never_outlives_the_certificate(pki: BuiltPki) -> None:
    clock = ManualClock()
    checker = _checker(pki, cache_ttl=timedelta(days=3650), clock=clock, revocation=RevocationPolicy.OFF)
    cert = _cert(pki, "good-ec-sign")
    assert checker.validate(cert, purpose=Purpose.SIGNING).ok
    clock.now = cert.not_valid_after_utc + timedelta(seconds=5)  # beyond the 1 s tolerance
    verdict = checker.validate(cert, purpose=Purpose.SIGNING)
    assert not verdict.from_cache
    assert verdict.reason is VerdictReason.EXPIRED


async def test_async_api(pki: BuiltPki) -> None:
    checker = _checker(pki)
    verdicts = await asyncio.gather(
        checker.avalidate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING),
        checker.avalidate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING),
    )
    assert [v.reason for v in verdicts] == [VerdictReason.TRUSTED, VerdictReason.REVOKED]
    with pytest.raises(RuntimeError, match="avalidate"):
        checker.validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING)


def test_broken_invariants_raise(pki: BuiltPki) -> None:
    with pytest.raises(ValueError, match="trust anchor"):
        CertificateChecker([])
    with pytest.raises(ValueError, match="not a certificate"):
        CertificateChecker([b"junk"])
    with pytest.raises(ValueError, match="timezone-aware"):
        _checker(pki).validate(
            _cert(pki, "good-ec-sign"),
            purpose=Purpose.SIGNING,
            at=datetime(2030, 1, 1),
        )


def test_every_reason_is_distinct_and_reachable(pki: BuiltPki) -> None:
    assert len({r.value for r in VerdictReason}) == len(VerdictReason)
    checker = _checker(pki)
    offline = _checker(pki, InMemoryRevocationFetching(pki.revocation_authority(), ocsp=False, crl=False))
    seen = {
        checker.validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING).reason,
        checker.validate(_cert(pki, "untrusted-sign"), purpose=Purpose.SIGNING).reason,
        checker.validate(_cert(pki, "expired-sign"), purpose=Purpose.SIGNING).reason,
        checker.validate(_cert(pki, "not-yet-valid-sign"), purpose=Purpose.SIGNING).reason,
        checker.validate(_cert(pki, "revoked-sign"), purpose=Purpose.SIGNING).reason,
        checker.validate(_cert(pki, "wrong-ku-sign"), purpose=Purpose.SIGNING).reason,
        offline.validate(_cert(pki, "good-ec-sign"), purpose=Purpose.SIGNING).reason,
        checker.validate(b"junk", purpose=Purpose.SIGNING).reason,
    }
    assert seen == set(VerdictReason)
