"""RFC 3161 signature time-stamps: where tokens come from, and their verdicts.

The TSP exchange itself (request, nonce, response status) is pyHanko's: wrap any
``pyhanko.sign.timestamps.TimeStamper`` (``HTTPTimeStamper``, ``DummyTimeStamper``, sealbid's in-process
TSA) in :class:`PyhankoTimeStamper`. Anything else with a ``timestamp(digest, hash_algo)`` method that
returns (or resolves to) the DER of a TimeStampToken ContentInfo also fits :class:`TimeStamper`.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from asn1crypto import cms
from cryptography import x509

from crypto.cms.errors import ASN1_PARSE_ERRORS, TimestampError

__all__ = [
    "CertificateCheck",
    "CheckResult",
    "PyhankoTimeStamper",
    "TimeStamper",
    "TimestampVerdict",
    "parse_token",
    "resolve",
]

T = TypeVar("T")


class TimeStamper(Protocol):
    """Source of RFC 3161 tokens (sync or async)."""

    def timestamp(self, message_imprint_digest: bytes, hash_algo: str) -> bytes | Awaitable[bytes]:
        """The DER TimeStampToken (a ContentInfo) over ``message_imprint_digest`` made with ``hash_algo``."""
        ...


class PyhankoTimeStamper:
    """Adapts a pyHanko ``TimeStamper`` (it handles the TSP request, nonce and response checks)."""

    def __init__(self, stamper: Any) -> None:
        self._stamper = stamper

    async def timestamp(self, message_imprint_digest: bytes, hash_algo: str) -> bytes:
        """Ask pyHanko's time-stamper for a token; its failures become :class:`TimestampError`."""
        try:
            token = await self._stamper.async_timestamp(message_imprint_digest, hash_algo)
        except Exception as exc:  # pyHanko raises several unrelated types
            raise TimestampError(f"time-stamping failed: {exc}") from exc
        return bytes(token.dump())


class CheckResult(Protocol):
    """What a certificate check returns (``crypto.pki.CertVerdict`` fits)."""

    @property
    def ok(self) -> bool:
        """Whether the certificate is trusted for the purpose at the time."""
        ...

    @property
    def message(self) -> str:
        """Why (or why not)."""
        ...


CertificateCheck = Callable[[x509.Certificate, datetime | None], CheckResult | Awaitable[CheckResult]]
"""``check(certificate, at)``: path validation at a moment, sync or async (e.g. a closure over
``CertificateChecker.avalidate(cert, purpose=..., at=at)``)."""


@dataclass(frozen=True, slots=True)
class TimestampVerdict:
    """The outcome of checking one signature time-stamp token.

    ``intact``: the token's own signature and ESS binding verify; ``covers_signature``: its message
    imprint is the hash of this SignerInfo's signature value; ``trusted`` is ``None`` when no TSA
    certificate check was requested.
    """

    intact: bool
    covers_signature: bool
    gen_time: datetime | None
    tsa_certificate: x509.Certificate | None
    policy: str | None
    serial_number: int | None
    hash_algorithm: str | None
    trusted: bool | None
    trust_message: str | None
    reasons: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Intact, covering the signature, and not found untrusted."""
        return self.intact and self.covers_signature and self.trusted is not False


def parse_token(token_der: bytes) -> cms.ContentInfo:
    """Check that ``token_der`` is a ContentInfo holding a SignedData (raises :class:`TimestampError`)."""
    try:
        info = cms.ContentInfo.load(token_der, strict=True)
        if info["content_type"].native != "signed_data":
            raise TimestampError("the time-stamp token is not a SignedData")
        info["content"]["encap_content_info"]["content_type"].native  # noqa: B018 - forces parsing
    except TimestampError:
        raise
    except ASN1_PARSE_ERRORS as exc:
        raise TimestampError(f"the time-stamp token does not parse: {exc}") from None
    return info


def resolve(value: T | Awaitable[T]) -> T:
    """The value of a sync-or-async result, from synchronous code (no running event loop allowed)."""
    if not inspect.isawaitable(value):
        return value
    try:
        asyncio.get_running_loop()
    except RuntimeError:

        async def wait() -> T:
            return await value

        return asyncio.run(wait())
    if inspect.iscoroutine(value):
        value.close()
    raise RuntimeError("an async time-stamper or certificate check inside an event loop: use the a* variant")


async def aresolve(value: T | Awaitable[T]) -> T:
    """The value of a sync-or-async result, from async code."""
    if inspect.isawaitable(value):
        return await value
    return value
