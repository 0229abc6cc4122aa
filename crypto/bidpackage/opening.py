"""Opening a sealed bid and checking everything inside: the verdict the opening (issue 5) records.

:func:`open_bid` peels the layers (opening layer with the opening key, the bidder layer if present
and a bidder key is given), verifies the SignedData (integrity, signer certificate at signing time
via ``check_certificate``, time-stamp), verifies the package and compares the manifest with the
signer. It returns a :class:`BidVerdict`; bad input never raises. Intermediate layers are spooled to
temporary files (bounded memory).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Final

from cryptography import x509

from crypto.bidpackage.errors import PackageError
from crypto.bidpackage.manifest import Manifest
from crypto.bidpackage.reader import PackageLimits, verify_package
from crypto.bidpackage.sealing import certificate_uscc
from crypto.cms import (
    CertificateCheck,
    CmsError,
    DecryptionError,
    DecryptionKey,
    Limits,
    NotARecipient,
    SignatureVerdict,
    open_envelope,
    verify_signed,
)

__all__ = ["BidVerdict", "aopen_bid", "inner_content_type", "open_bid"]

_SIGNED_DATA: Final = bytes.fromhex("06092a864886f70d010702")
_AUTH_ENVELOPED: Final = bytes.fromhex("060b2a864886f70d0109100117")


@dataclass(frozen=True)
class BidVerdict:
    """The outcome of opening one sealed bid.

    ``code`` is ``None`` when ``ok``, else the first failure: ``envelope-not-addressed``,
    ``envelope-not-opened`` (wrong key or altered bytes), ``bidder-layer-locked`` (a bidder layer
    and no bidder key), ``bidder-layer-not-opened``, ``not-signed``, ``signature-invalid``,
    ``timestamp-invalid``, ``signer-untrusted``, ``package-invalid`` (``package_error`` holds the
    package's own code), ``bidder-mismatch`` (the manifest's USCC is not the signer's),
    ``tender-mismatch``. ``reasons`` lists every problem found in plain words.
    """

    ok: bool
    code: str | None
    reasons: tuple[str, ...]
    envelope_sha256: str
    envelope_size: int
    envelope_opened: bool
    bidder_layer: bool
    signature: SignatureVerdict | None = None
    signer_certificate: x509.Certificate | None = None
    signer_uscc: str | None = None
    signing_time: datetime | None = None
    manifest: Manifest | None = None
    package_error: str | None = None
    package_sha256: str | None = None
    package_size: int | None = None

    @property
    def timestamp_valid(self) -> bool:
        """Whether a valid signature time-stamp is attached."""
        return self.signature is not None and self.signature.timestamp_valid


def inner_content_type(stream: IO[bytes]) -> str | None:
    """``signed``, ``enveloped`` or ``None``: what the ContentInfo at the start of ``stream`` holds."""
    head = stream.read(32)
    stream.seek(0)
    if len(head) < 2 or head[0] != 0x30:
        return None
    first = head[1]
    offset = 2 if first < 0x80 or first == 0x80 else 2 + (first & 0x7F)
    body = head[offset:]
    if body.startswith(_SIGNED_DATA):
        return "signed"
    if body.startswith(_AUTH_ENVELOPED):
        return "enveloped"
    return None


def _sha256_of(stream: BinaryIO, chunk_size: int) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(chunk_size):
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


class _Run:
    """Collects the verdict's fields while the layers are peeled."""

    def __init__(self, sha256: str, size: int) -> None:
        self.fields: dict[str, Any] = {
            "envelope_sha256": sha256,
            "envelope_size": size,
            "envelope_opened": False,
            "bidder_layer": False,
        }
        self.reasons: list[str] = []
        self.code: str | None = None

    def fail(self, code: str, reason: str) -> None:
        self.code = self.code or code
        self.reasons.append(reason)

    def verdict(self) -> BidVerdict:
        return BidVerdict(ok=self.code is None, code=self.code, reasons=tuple(self.reasons), **self.fields)


def _peel(
    source: BinaryIO,
    sink: BinaryIO,
    *,
    certificate: x509.Certificate,
    key: DecryptionKey,
    limits: Limits | None,
    run: _Run,
    layer: str,
) -> bool:
    try:
        open_envelope(source, sink, certificate, key, limits=limits)
    except NotARecipient:
        code = "envelope-not-addressed" if layer == "opening" else "bidder-layer-not-opened"
        run.fail(code, f"the {layer} layer is not addressed to the given certificate")
        return False
    except DecryptionError as exc:
        code = "envelope-not-opened" if layer == "opening" else "bidder-layer-not-opened"
        run.fail(code, f"the {layer} layer does not open: {exc}")
        return False
    except CmsError as exc:
        code = "envelope-not-opened" if layer == "opening" else "bidder-layer-not-opened"
        run.fail(code, f"the {layer} layer is not a readable envelope: {exc}")
        return False
    sink.seek(0)
    return True


def _check_signed(
    signed: BinaryIO,
    package: BinaryIO,
    run: _Run,
    *,
    check_certificate: CertificateCheck | None,
    check_tsa_certificate: CertificateCheck | None,
    limits: Limits | None,
) -> SignatureVerdict | None:
    if inner_content_type(signed) != "signed":
        run.fail("not-signed", "inside the envelope there is no CMS SignedData (the bid is not signed)")
        return None
    try:
        verdict = verify_signed(
            signed,
            content_sink=package,
            check_certificate=check_certificate,
            check_tsa_certificate=check_tsa_certificate,
            limits=limits,
        )
    except CmsError as exc:
        run.fail("signature-invalid", f"the signed layer cannot be read: {exc}")
        return None
    run.fields.update(
        signature=verdict,
        signer_certificate=verdict.signer_certificate,
        signing_time=verdict.signing_time,
        signer_uscc=certificate_uscc(verdict.signer_certificate) if verdict.signer_certificate else None,
    )
    if not verdict.intact or verdict.content_size is None:
        run.fail("signature-invalid", "; ".join(verdict.reasons) or "the signature does not verify")
    elif verdict.timestamp is not None and not verdict.timestamp.ok:
        run.fail("timestamp-invalid", "; ".join(verdict.timestamp.reasons) or "the time-stamp is not valid")
    elif verdict.trusted is False:
        run.fail("signer-untrusted", f"the signing certificate is not trusted: {verdict.trust_message}")
    return verdict


def _check_package(
    package: BinaryIO, run: _Run, limits: PackageLimits, expected_tender_id: str | None
) -> bool:
    package.seek(0)
    run.fields["package_sha256"], run.fields["package_size"] = _sha256_of(package, limits.chunk_size)
    try:
        manifest = verify_package(package, limits=limits)
    except PackageError as exc:
        run.fields["package_error"] = exc.code
        run.fail("package-invalid", f"the bid package is not valid ({exc.code}): {exc}")
        return False
    run.fields["manifest"] = manifest
    signer_uscc = run.fields.get("signer_uscc")
    if signer_uscc != manifest.bidder_uscc:
        run.fail(
            "bidder-mismatch",
            f"the manifest names bidder {manifest.bidder_uscc} but the bid is signed by "
            f"{signer_uscc or 'a certificate without an enterprise USCC'}",
        )
    if expected_tender_id is not None and manifest.tender_id != expected_tender_id:
        run.fail(
            "tender-mismatch", f"the package is for tender {manifest.tender_id}, not {expected_tender_id}"
        )
    return True


def _keep(package: BinaryIO, destination: Path, chunk_size: int) -> None:
    fd, name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            package.seek(0)
            while chunk := package.read(chunk_size):
                out.write(chunk)
            out.flush()
            os.fsync(out.fileno())
        Path(name).replace(destination)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(name).unlink()
        raise


def open_bid(
    sealed: BinaryIO | Path,
    opening_certificate: x509.Certificate,
    opening_key: DecryptionKey,
    *,
    check_certificate: CertificateCheck | None,
    check_tsa_certificate: CertificateCheck | None = None,
    bidder_certificate: x509.Certificate | None = None,
    bidder_key: DecryptionKey | None = None,
    expected_tender_id: str | None = None,
    cms_limits: Limits | None = None,
    package_limits: PackageLimits | None = None,
    package_destination: Path | None = None,
    workdir: Path | None = None,
) -> BidVerdict:
    """Open ``sealed`` (a path or a seekable stream) and check it completely; never raises for bad input.

    ``check_certificate(cert, at)`` validates the signer certificate at the trusted signing moment
    (the time-stamp's time if valid, else the signing-time attribute), e.g. a
    :class:`~crypto.pki.CertificateChecker` for ``Purpose.SIGNING``; pass ``None`` only where trust is
    checked elsewhere. ``package_destination`` receives the bid package (atomically) when the
    signature is intact and the package verified. Must not run inside an event loop when a check is
    async: use :func:`aopen_bid` there.
    """
    package_limits = package_limits or PackageLimits()
    chunk = package_limits.chunk_size
    with contextlib.ExitStack() as stack:
        source = stack.enter_context(sealed.open("rb")) if isinstance(sealed, Path) else sealed
        run = _Run(*_sha256_of(source, chunk))

        def spool() -> BinaryIO:
            return stack.enter_context(tempfile.TemporaryFile(dir=workdir))

        inner = spool()
        if not _peel(
            source,
            inner,
            certificate=opening_certificate,
            key=opening_key,
            limits=cms_limits,
            run=run,
            layer="opening",
        ):
            return run.verdict()
        run.fields["envelope_opened"] = True
        if inner_content_type(inner) == "enveloped":
            run.fields["bidder_layer"] = True
            if bidder_certificate is None or bidder_key is None:
                run.fail(
                    "bidder-layer-locked", "the bid has a bidder layer: the bidder's decryption key is needed"
                )
                return run.verdict()
            signed = spool()
            if not _peel(
                inner,
                signed,
                certificate=bidder_certificate,
                key=bidder_key,
                limits=cms_limits,
                run=run,
                layer="bidder",
            ):
                return run.verdict()
            inner = signed
        package = spool()
        verdict = _check_signed(
            inner,
            package,
            run,
            check_certificate=check_certificate,
            check_tsa_certificate=check_tsa_certificate,
            limits=cms_limits,
        )
        if verdict is None or not verdict.intact:
            return run.verdict()
        if _check_package(package, run, package_limits, expected_tender_id) and package_destination:
            _keep(package, package_destination, chunk)
        return run.verdict()


async def aopen_bid(*args: Any, **kwargs: Any) -> BidVerdict:
    """:func:`open_bid` in a worker thread (file work and any async certificate check run there)."""
    return await asyncio.to_thread(open_bid, *args, **kwargs)
