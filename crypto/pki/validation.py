"""Certificate validation for sealbid: trust path, validity, key usage and revocation.

:class:`CertificateChecker` wraps pyhanko-certvalidator. It returns a :class:`CertVerdict` value for
every input, including unparseable ones (reason ``MALFORMED``); exceptions mean a broken invariant
(bad configuration, a naive datetime, calling the sync API inside an event loop).

Order of checks: parse (MALFORMED) -> identity mapping (an invalid USCC is MALFORMED) -> path to a
configured trust anchor with validity at the validation time and revocation per policy (UNTRUSTED,
EXPIRED, NOT_YET_VALID, REVOKED, REVOCATION_UNAVAILABLE) -> key usage for the purpose
(WRONG_KEY_USAGE) -> TRUSTED.

Revocation policy: ``require`` (production) needs OCSP or CRL information for every certificate of the
path below the anchor -- OCSP is tried first and the CRL is the fallback -- and fails hard otherwise;
``soft-fail`` accepts a certificate whose revocation status cannot be obtained (with a warning in the
verdict) but still rejects a revoked one; ``off`` skips revocation entirely.
"""

from __future__ import annotations

import asyncio
import enum
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import AsyncExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import (
    ExpiredError,
    InsufficientRevinfoError,
    NotYetValidError,
    PathBuildingError,
    RevokedError,
    ValidationError,
)
from pyhanko_certvalidator.policy_decl import (
    NO_REVOCATION,
    REQUIRE_REVINFO,
    CertRevTrustPolicy,
    RevocationCheckingPolicy,
    RevocationCheckingRule,
)
from pyhanko_certvalidator.registry import SimpleTrustManager

from crypto.identity import (
    DEFAULT_MAPPING,
    CertIdentity,
    IdentityMapping,
    InvalidIdentity,
    NoIdentity,
    identify,
)
from crypto.pki.fetchers import NetworkRevocationFetching, RevocationFetching
from crypto.pki.parsing import (
    CertInput,
    MalformedCertificate,
    ParsedCert,
    parse_certificate,
    parse_certificates,
)

__all__ = [
    "CacheStats",
    "CertVerdict",
    "CertificateChecker",
    "Purpose",
    "RevocationPolicy",
    "VerdictReason",
]

_SERVICE_EKUS: Final = frozenset({ExtendedKeyUsageOID.OCSP_SIGNING, ExtendedKeyUsageOID.TIME_STAMPING})


class Purpose(enum.StrEnum):
    """What the certificate is about to be used for."""

    SIGNING = "signing"
    """digitalSignature or nonRepudiation."""
    ENCRYPTION = "encryption"
    """keyAgreement for EC keys, keyEncipherment for RSA keys."""
    LOGIN = "login"
    """Challenge-response login: the same key usage as SIGNING."""
    TIME_STAMPING = "time-stamping"
    """An RFC 3161 time-stamping authority: extendedKeyUsage timeStamping and a signing key usage."""


class RevocationPolicy(enum.StrEnum):
    """How to treat missing revocation information."""

    REQUIRE = "require"
    SOFT_FAIL = "soft-fail"
    OFF = "off"


class VerdictReason(enum.StrEnum):
    """Why a certificate was accepted or rejected; every failure has its own value."""

    TRUSTED = "trusted"
    UNTRUSTED = "untrusted"
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    REVOKED = "revoked"
    WRONG_KEY_USAGE = "wrong-key-usage"
    REVOCATION_UNAVAILABLE = "revocation-unavailable"
    MALFORMED = "malformed"


@dataclass(frozen=True)
class CertVerdict:
    """The outcome of validating one certificate for one purpose at one time."""

    ok: bool
    reason: VerdictReason
    message: str
    purpose: Purpose
    checked_at: datetime
    """The validation time (``at`` if given, else the checker clock's now)."""
    identity: CertIdentity | None = None
    fingerprint: str | None = None
    """SHA-256 of the certificate DER (hex); ``None`` if the input did not parse."""
    path: tuple[str, ...] = ()
    """RFC 4514 subjects from the trust anchor down to the certificate (empty if no valid path)."""
    warnings: tuple[str, ...] = ()
    """Problems tolerated by the policy, e.g. unreachable revocation servers under soft-fail."""
    from_cache: bool = False


@dataclass(frozen=True)
class CacheStats:
    """Validation cache counters."""

    hits: int
    misses: int
    size: int


@dataclass(frozen=True)
class _CacheEntry:
    verdict: CertVerdict
    expires: datetime


_CacheKey = tuple[str, Purpose, datetime | None, frozenset[str]]

_SOFT_FAIL = RevocationCheckingPolicy(
    RevocationCheckingRule.CHECK_IF_DECLARED_SOFT, RevocationCheckingRule.CHECK_IF_DECLARED_SOFT
)
_POLICIES: Final = {
    RevocationPolicy.REQUIRE: REQUIRE_REVINFO,
    RevocationPolicy.SOFT_FAIL: _SOFT_FAIL,
    RevocationPolicy.OFF: NO_REVOCATION,
}


@dataclass(frozen=True)
class _Begun:
    """A validation that needs a real check: its parsed input, moment and cache key."""

    parsed: ParsedCert
    extra: list[ParsedCert]
    purpose: Purpose
    moment: datetime
    at: datetime | None
    key: _CacheKey
    now: datetime


class CertificateChecker:
    """Validates certificates against configured trust anchors; optionally caches verdicts.

    ``fetching`` supplies OCSP/CRL (and caIssuers) data; it defaults to the network fetchers unless
    the policy is ``off``. ``cache_ttl`` (seconds or a timedelta; 0 disables) bounds how long a verdict
    is reused for the same certificate, purpose, validation time and extra intermediates; a cached
    verdict never outlives the certificate, and REVOCATION_UNAVAILABLE / MALFORMED are never cached.
    Note that a cached TRUSTED verdict hides a revocation for up to ``cache_ttl``. ``clock`` supplies
    "now" for validation and cache expiry.
    """

    def __init__(
        self,
        trust_anchors: Iterable[CertInput],
        *,
        intermediates: Iterable[CertInput] = (),
        revocation: RevocationPolicy = RevocationPolicy.REQUIRE,
        fetching: RevocationFetching | None = None,
        identity_mapping: IdentityMapping = DEFAULT_MAPPING,
        cache_ttl: float | timedelta = 0,
        cache_max_size: int = 4096,
        clock: Callable[[], datetime] | None = None,
        time_tolerance: timedelta = timedelta(seconds=1),
    ) -> None:
        anchors = [_must_parse(c, "trust anchor") for c in trust_anchors]
        if not anchors:
            raise ValueError("a CertificateChecker needs at least one trust anchor")
        self._anchors = anchors
        self._trust_manager = SimpleTrustManager.build(trust_roots=[a.asn1 for a in anchors])
        self._intermediates = [_must_parse(c, "intermediate") for c in intermediates]
        self.revocation = RevocationPolicy(revocation)
        if fetching is None and self.revocation is not RevocationPolicy.OFF:
            fetching = NetworkRevocationFetching()
        self._fetching = fetching
        self._mapping = identity_mapping
        ttl = cache_ttl if isinstance(cache_ttl, timedelta) else timedelta(seconds=cache_ttl)
        if ttl < timedelta(0) or cache_max_size < 1:
            raise ValueError("cache_ttl must be >= 0 and cache_max_size >= 1")
        self._ttl = ttl
        self._cache_max = cache_max_size
        self._cache: OrderedDict[_CacheKey, _CacheEntry] = OrderedDict()
        self._cache_lock = threading.Lock()
        self._hits = 0
        self._misses = 0
        self._clock = clock or (lambda: datetime.now(UTC))
        self._tolerance = time_tolerance

    @property
    def cache_stats(self) -> CacheStats:
        """Hit/miss counters and current size (all zero while the cache is disabled)."""
        with self._cache_lock:
            return CacheStats(self._hits, self._misses, len(self._cache))

    def clear_cache(self) -> None:
        """Forget every cached verdict (counters are kept)."""
        with self._cache_lock:
            self._cache.clear()

    def validate(
        self,
        cert: CertInput,
        *,
        purpose: Purpose,
        at: datetime | None = None,
        intermediates: Iterable[CertInput] = (),
    ) -> CertVerdict:
        """Synchronous :meth:`avalidate`; must not be called from inside a running event loop.

        A cached verdict is answered without an event loop; only a real check runs one."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            begun = self._begin(cert, purpose, at, intermediates)
            if isinstance(begun, CertVerdict):
                return begun
            return asyncio.run(self._finish(begun))
        raise RuntimeError("CertificateChecker.validate() called inside an event loop; use avalidate()")

    async def avalidate(
        self,
        cert: CertInput,
        *,
        purpose: Purpose,
        at: datetime | None = None,
        intermediates: Iterable[CertInput] = (),
    ) -> CertVerdict:
        """Validate ``cert`` (DER/PEM bytes, a cryptography or asn1crypto certificate) for ``purpose``.

        ``at`` (timezone-aware) validates at a past or future moment; revocation information fetched
        now is then applied to that moment (a certificate revoked later is valid at ``at``). PEM input
        may hold a chain: the first certificate is validated, the rest are offered as intermediates.
        """
        begun = self._begin(cert, purpose, at, intermediates)
        if isinstance(begun, CertVerdict):
            return begun
        return await self._finish(begun)

    def _begin(
        self, cert: CertInput, purpose: Purpose, at: datetime | None, intermediates: Iterable[CertInput]
    ) -> CertVerdict | _Begun:
        """The verdict if it is known without a check (malformed input, cached), else what to check."""
        purpose = Purpose(purpose)
        if at is not None and at.tzinfo is None:
            raise ValueError("'at' must be timezone-aware")
        now = self._clock()
        moment = at or now
        try:
            parsed, bundled = parse_certificates(cert)
            extra = [*bundled, *(parse_certificate(c) for c in intermediates)]
        except MalformedCertificate as exc:
            return CertVerdict(False, VerdictReason.MALFORMED, str(exc), purpose, moment)
        key: _CacheKey = (parsed.fingerprint, purpose, at, frozenset(c.fingerprint for c in extra))
        cached = self._cache_get(key, now)
        if cached is not None:
            return cached
        try:
            for item in (parsed, *extra):
                _ = item.asn1
        except MalformedCertificate as exc:
            return CertVerdict(
                False, VerdictReason.MALFORMED, str(exc), purpose, moment, fingerprint=parsed.fingerprint
            )
        return _Begun(parsed, extra, purpose, moment, at, key, now)

    async def _finish(self, begun: _Begun) -> CertVerdict:
        verdict = await self._validate(
            begun.parsed, begun.extra, begun.purpose, begun.moment, point_in_time=begun.at is not None
        )
        if verdict.reason not in (VerdictReason.REVOCATION_UNAVAILABLE, VerdictReason.MALFORMED):
            self._cache_put(begun.key, verdict, begun.now, begun.parsed.crypto.not_valid_after_utc)
        return verdict

    async def _validate(
        self,
        parsed: ParsedCert,
        extra: list[ParsedCert],
        purpose: Purpose,
        moment: datetime,
        *,
        point_in_time: bool,
    ) -> CertVerdict:
        def verdict(reason: VerdictReason, message: str, **kw: Any) -> CertVerdict:
            return CertVerdict(
                reason is VerdictReason.TRUSTED,
                reason,
                message,
                purpose,
                moment,
                identity=identity,
                fingerprint=parsed.fingerprint,
                **kw,
            )

        identity: CertIdentity | None = None
        try:
            identity = identify(parsed.crypto, self._mapping)
        except NoIdentity:
            identity = None
        except InvalidIdentity as exc:
            return verdict(VerdictReason.MALFORMED, f"certificate subject: {exc}")
        async with AsyncExitStack() as stack:
            fetchers = None
            if self.revocation is not RevocationPolicy.OFF and self._fetching is not None:
                fetchers = await stack.enter_async_context(self._fetching.backend())
            context = ValidationContext(
                trust_manager=self._trust_manager,
                other_certs=[c.asn1 for c in (*self._intermediates, *extra)],
                moment=moment,
                revinfo_policy=CertRevTrustPolicy(
                    _POLICIES[self.revocation], retroactive_revinfo=point_in_time
                ),
                allow_fetching=fetchers is not None,
                fetchers=fetchers,
                time_tolerance=self._tolerance,
            )
            try:
                path = await CertificateValidator(
                    parsed.asn1, validation_context=context
                ).async_validate_path()
            except ValidationError as exc:
                reason = _reason_for(exc)
                return verdict(reason, _message_for(reason, exc))
            except PathBuildingError as exc:
                return verdict(VerdictReason.UNTRUSTED, f"no path to a trusted root: {exc}")
            warnings = tuple(f"revocation status not checked: {e}" for e in context.soft_fail_exceptions)
        subjects = tuple(_subject(c) for c in path.iter_certs(include_root=True))
        usage_problem = _usage_problem(parsed.crypto, purpose)
        if usage_problem is not None:
            return verdict(VerdictReason.WRONG_KEY_USAGE, usage_problem, path=subjects, warnings=warnings)
        return verdict(
            VerdictReason.TRUSTED,
            f"certificate is trusted for {purpose.value}",
            path=subjects,
            warnings=warnings,
        )

    def _cache_get(self, key: _CacheKey, now: datetime) -> CertVerdict | None:
        if not self._ttl:
            return None
        with self._cache_lock:
            entry = self._cache.get(key)
            if entry is not None and entry.expires > now:
                self._cache.move_to_end(key)
                self._hits += 1
                return replace(entry.verdict, from_cache=True)
            if entry is not None:
                del self._cache[key]
            self._misses += 1
            return None

    def _cache_put(self, key: _CacheKey, verdict: CertVerdict, now: datetime, not_after: datetime) -> None:
        if not self._ttl:
            return
        expires = min(now + self._ttl, not_after)
        with self._cache_lock:
            self._cache[key] = _CacheEntry(verdict, expires)
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_max:
                self._cache.popitem(last=False)


def _must_parse(cert: CertInput, what: str) -> ParsedCert:
    try:
        parsed = parse_certificate(cert)
        _ = parsed.asn1
        return parsed
    except MalformedCertificate as exc:
        raise ValueError(f"configured {what} is not a certificate: {exc}") from exc


def _reason_for(exc: ValidationError) -> VerdictReason:
    # Subclasses before their bases: RevokedError etc. are PathValidationErrors.
    if isinstance(exc, RevokedError):
        return VerdictReason.REVOKED
    if isinstance(exc, ExpiredError):
        return VerdictReason.EXPIRED
    if isinstance(exc, NotYetValidError):
        return VerdictReason.NOT_YET_VALID
    if isinstance(exc, InsufficientRevinfoError):
        return VerdictReason.REVOCATION_UNAVAILABLE
    # InvalidCertificateError (e.g. an untrusted self-signed certificate), bad signatures, name or
    # basic constraints, disallowed algorithms: the certificate is not trusted.
    return VerdictReason.UNTRUSTED


def _message_for(reason: VerdictReason, exc: ValidationError) -> str:
    prefix = {
        VerdictReason.REVOKED: "certificate revoked",
        VerdictReason.EXPIRED: "certificate expired",
        VerdictReason.NOT_YET_VALID: "certificate not yet valid",
        VerdictReason.REVOCATION_UNAVAILABLE: "revocation status unavailable",
    }.get(reason, "certificate not trusted")
    return f"{prefix}: {exc.failure_msg}"


def _usage_problem(cert: x509.Certificate, purpose: Purpose) -> str | None:
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        if constraints.ca:
            return "a CA certificate cannot be used as an end-entity certificate"
    except x509.ExtensionNotFound:
        pass
    if purpose is Purpose.TIME_STAMPING:
        return _tsa_usage_problem(cert)
    try:
        ekus = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
        if ekus and ekus <= _SERVICE_EKUS:
            return "certificate is restricted to OCSP signing / time stamping"
    except x509.ExtensionNotFound:
        pass
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "certificate has no KeyUsage extension"
    if purpose in (Purpose.SIGNING, Purpose.LOGIN):
        if ku.digital_signature or ku.content_commitment:
            return None
        return f"key usage does not allow {purpose.value} (needs digitalSignature or nonRepudiation)"
    if isinstance(cert.public_key(), ec.EllipticCurvePublicKey):
        return None if ku.key_agreement else "key usage does not allow encryption (EC key needs keyAgreement)"
    return None if ku.key_encipherment else "key usage does not allow encryption (needs keyEncipherment)"


def _tsa_usage_problem(cert: x509.Certificate) -> str | None:
    try:
        ekus = set(cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        ekus = set()
    if ExtendedKeyUsageOID.TIME_STAMPING not in ekus:
        return "certificate is not a time-stamping authority's (no extendedKeyUsage timeStamping)"
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None
    if ku.digital_signature or ku.content_commitment:
        return None
    return "key usage does not allow time-stamping (needs digitalSignature or nonRepudiation)"


def _subject(cert: Any) -> str:
    der = cert.dump() if isinstance(cert, asn1_x509.Certificate) else bytes(cert)
    return x509.load_der_x509_certificate(der).subject.rfc4514_string()
