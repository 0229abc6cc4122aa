"""Verifying CMS SignedData: a :class:`SignatureVerdict`, never an exception for a bad signature.

``intact`` means the content digest matches the message-digest attribute and the signature verifies
with the embedded signer certificate. Trust is separate: pass ``check_certificate(cert, at)`` (for
example a closure over ``crypto.pki.CertificateChecker.avalidate``) and the verdict also says whether
the signer was trusted at the signing moment - the time-stamp's genTime when a valid one is present,
otherwise the (self-asserted) signing-time attribute, otherwise now. Malformed input raises a
:class:`~crypto.cms.errors.CmsError`.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from cryptography import x509

from crypto.cms.der import as_stream
from crypto.cms.errors import ASN1_PARSE_ERRORS, CmsError, MalformedCms
from crypto.cms.signed_reader import HASHABLE, ParsedSignedData, read_signed_data
from crypto.cms.signer_check import SignerCheck, check_signer, check_timestamp
from crypto.cms.stream import Limits
from crypto.cms.timestamps import CertificateCheck, CheckResult, TimestampVerdict, aresolve, resolve

__all__ = ["SignatureVerdict", "averify_signed", "verify_signed"]

MAX_DIGESTS = 4


@dataclass(frozen=True)
class SignatureVerdict:
    """The outcome of verifying a SignedData with one signer.

    ``ok`` = ``intact`` and (no time-stamp, or a valid one covering the signature) and the signer not
    found untrusted. ``trusted`` is ``None`` when no certificate check was requested. ``reasons`` lists
    every problem found (empty when ``ok``). ``content_sha256`` (hex) is the SHA-256 of the content
    as computed while checking its message digest (``None`` if it was not read); it describes the
    bytes that passed, which are the signed ones only when ``intact``.
    """

    ok: bool
    intact: bool
    reasons: tuple[str, ...]
    signer_certificate: x509.Certificate | None
    certificates: tuple[x509.Certificate, ...]
    content_type: str
    content_size: int | None
    digest_algorithm: str | None
    signature_algorithm: str | None
    signing_time: datetime | None
    timestamp: TimestampVerdict | None
    trusted: bool | None
    trust_message: str | None
    trust_time: datetime | None
    trust_time_source: str
    content_sha256: str | None = None

    @property
    def timestamp_present(self) -> bool:
        """Whether a signature time-stamp token is attached."""
        return self.timestamp is not None

    @property
    def timestamp_valid(self) -> bool:
        """Whether the attached time-stamp is intact, covers this signature and is not untrusted."""
        return self.timestamp is not None and self.timestamp.ok


def _parse(
    signed: bytes | BinaryIO, detached: bytes | BinaryIO | None, sink: BinaryIO | None, limits: Limits | None
) -> tuple[ParsedSignedData, dict[str, bytes], _Content]:
    parsed = read_signed_data(as_stream(signed), limits=limits, content_sink=sink)
    if parsed.content_present and detached is not None:
        raise CmsError("the SignedData carries its content, but detached content was given too")
    if not parsed.content_present and detached is None:
        raise CmsError("detached SignedData: the content must be given to verify it")
    if detached is None:
        sha256 = parsed.content_sha256.hex() if parsed.content_sha256 is not None else None
        return parsed, parsed.digests, _Content(parsed.content_size, sha256)
    stream = as_stream(detached)
    hashers = {n: hashlib.new(n) for n in dict.fromkeys(parsed.digest_algorithms) if n in HASHABLE}
    try:
        names = [si["digest_algorithm"]["algorithm"].native for si in parsed.signer_infos]
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"SignerInfo does not parse: {exc}") from None
    for name in names[:MAX_DIGESTS]:
        if name in HASHABLE:
            hashers.setdefault(name, hashlib.new(name))
    hashers.setdefault("sha256", hashlib.sha256())
    size = 0
    chunk_size = (limits or Limits()).chunk_size
    while chunk := stream.read(chunk_size):
        size += len(chunk)
        for h in hashers.values():
            h.update(chunk)
        if sink is not None:
            sink.write(chunk)
    return parsed, {n: h.digest() for n, h in hashers.items()}, _Content(size, hashers["sha256"].hexdigest())


@dataclass(frozen=True, slots=True)
class _Content:
    size: int | None
    sha256: str | None


def _checked(
    signed: bytes | BinaryIO, detached: bytes | BinaryIO | None, sink: BinaryIO | None, limits: Limits | None
) -> tuple[ParsedSignedData, SignerCheck, _Content]:
    parsed, digests, content = _parse(signed, detached, sink, limits)
    return parsed, check_signer(parsed, digests), content


def _trust_moment(check: SignerCheck, ts: TimestampVerdict | None) -> tuple[datetime | None, str]:
    if ts is not None and ts.ok and ts.gen_time is not None:
        return ts.gen_time, "timestamp"
    if check.signing_time is not None:
        return check.signing_time, "signing-time attribute"
    return None, "now"


def _verdict(
    parsed: ParsedSignedData,
    *,
    check: SignerCheck,
    content: _Content,
    ts: TimestampVerdict | None,
    trust: CheckResult | None,
    trust_time: tuple[datetime | None, str],
) -> SignatureVerdict:
    reasons = list(check.reasons)
    if ts is not None and not ts.ok:
        reasons += [f"time-stamp: {r}" for r in ts.reasons] or ["time-stamp: not valid"]
    trusted = None if trust is None else bool(trust.ok)
    if trust is not None and not trust.ok:
        reasons.append(f"signer certificate not trusted: {trust.message}")
    intact = check.intact
    return SignatureVerdict(
        ok=intact and (ts is None or ts.ok) and trusted is not False,
        intact=intact,
        reasons=tuple(reasons),
        signer_certificate=parsed.x509_of(check.signer) if check.signer is not None else None,
        certificates=parsed.x509_certificates,
        content_type=parsed.content_type,
        content_size=content.size,
        digest_algorithm=check.digest_algorithm,
        signature_algorithm=check.signature_algorithm,
        signing_time=check.signing_time,
        timestamp=ts,
        trusted=trusted,
        trust_message=None if trust is None else str(trust.message),
        trust_time=trust_time[0],
        trust_time_source=trust_time[1],
        content_sha256=content.sha256,
    )


def verify_signed(
    signed: bytes | BinaryIO,
    *,
    detached_content: bytes | BinaryIO | None = None,
    content_sink: BinaryIO | None = None,
    check_certificate: CertificateCheck | None = None,
    check_tsa_certificate: CertificateCheck | None = None,
    limits: Limits | None = None,
) -> SignatureVerdict:
    """Verify a DER/BER SignedData (bytes or a stream; attached or with ``detached_content``).

    Content is hashed in chunks; attached content is copied to ``content_sink`` if given (it is
    authentic only if the verdict is ``ok``). Checks that return awaitables are run to completion,
    which requires that no event loop is running (use :func:`averify_signed` there).
    """
    parsed, check, content = _checked(signed, detached_content, content_sink, limits)
    ts = _timestamp(check, check_tsa_certificate, limits)
    moment = _trust_moment(check, ts)
    trust = None
    if check_certificate is not None and check.signer is not None and check.intact:
        trust = resolve(check_certificate(parsed.x509_of(check.signer), moment[0]))
    return _verdict(parsed, check=check, content=content, ts=ts, trust=trust, trust_time=moment)


def _timestamp(
    check: SignerCheck,
    check_tsa: CertificateCheck | None,
    limits: Limits | None,
) -> TimestampVerdict | None:
    if check.timestamp_token is None:
        return None
    ts = check_timestamp(check.timestamp_token, check.signature, limits)
    if check_tsa is None or ts.tsa_certificate is None or not ts.intact:
        return ts
    result = resolve(check_tsa(ts.tsa_certificate, ts.gen_time))
    return _with_tsa_trust(ts, result)


def _with_tsa_trust(ts: TimestampVerdict, result: CheckResult) -> TimestampVerdict:
    reasons = ts.reasons if result.ok else (*ts.reasons, f"TSA certificate not trusted: {result.message}")
    return TimestampVerdict(
        ts.intact,
        ts.covers_signature,
        ts.gen_time,
        ts.tsa_certificate,
        ts.policy,
        ts.serial_number,
        ts.hash_algorithm,
        bool(result.ok),
        str(result.message),
        reasons,
    )


async def averify_signed(
    signed: bytes | BinaryIO,
    *,
    detached_content: bytes | BinaryIO | None = None,
    content_sink: BinaryIO | None = None,
    check_certificate: CertificateCheck | None = None,
    check_tsa_certificate: CertificateCheck | None = None,
    limits: Limits | None = None,
) -> SignatureVerdict:
    """:func:`verify_signed` for async code: parsing and hashing run in a worker thread, and
    certificate checks may be coroutines (e.g. ``CertificateChecker.avalidate``)."""
    if isinstance(signed, bytes | bytearray):
        signed = io.BytesIO(bytes(signed))
    parsed, check, content = await asyncio.to_thread(_checked, signed, detached_content, content_sink, limits)
    ts = None
    if check.timestamp_token is not None:
        ts = await asyncio.to_thread(check_timestamp, check.timestamp_token, check.signature, limits)
        if check_tsa_certificate is not None and ts.tsa_certificate is not None and ts.intact:
            ts = _with_tsa_trust(ts, await aresolve(check_tsa_certificate(ts.tsa_certificate, ts.gen_time)))
    moment = _trust_moment(check, ts)
    trust = None
    if check_certificate is not None and check.signer is not None and check.intact:
        pending: CheckResult | Awaitable[CheckResult] = check_certificate(
            parsed.x509_of(check.signer), moment[0]
        )
        trust = await aresolve(pending)
    return _verdict(parsed, check=check, content=content, ts=ts, trust=trust, trust_time=moment)
