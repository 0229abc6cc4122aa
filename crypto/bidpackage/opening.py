"""Opening a sealed bid and checking everything inside: the verdict the opening (issue 5) records.

:func:`open_bid` peels the layers (opening layer with the opening key, the bidder layer if present
and a bidder key is given), verifies the SignedData (integrity, signer certificate at signing time
via ``check_certificate``, time-stamp), verifies the package and compares the manifest with the
signer. It returns a :class:`BidVerdict`; bad input never raises.

It reads the envelope once for everything: the envelope's SHA-256 is computed from the bytes the
decryption reads (in a worker thread, see :mod:`crypto.bidpackage.hashing`), the plaintext streams
straight from the AES-GCM decryption into the SignedData reader, and the package's SHA-256 and size
are those of the signature's message-digest computation, and the package's files are hashed
(SHA-256 and CRC-32, in a worker thread) as the package passes, so the package check reads only its
central directory and manifest again (:mod:`crypto.bidpackage.entry_stream`). The package is written once (to
``package_destination``); a bidder layer is written once (to ``middle_destination``) or spooled to a
temporary file when the bidder's key is given. GCM authenticates only at the end, so everything
derived from the plaintext is provisional until the tag has verified: on a tag failure nothing is
kept and the verdict is ``envelope-not-opened`` (or ``bidder-layer-not-opened``). Memory is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, BinaryIO, Final, cast

from cryptography import x509

from crypto.bidpackage.entry_stream import StreamedEntry, StreamedPackage
from crypto.bidpackage.errors import PackageError
from crypto.bidpackage.hashing import HashingSource, HashingWriter
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
    verify_signed,
)
from crypto.cms.envelope_stream import content_of, decrypting_reader

__all__ = ["BidVerdict", "aopen_bid", "inner_content_type", "open_bid"]

_SIGNED_DATA: Final = bytes.fromhex("06092a864886f70d010702")
_AUTH_ENVELOPED: Final = bytes.fromhex("060b2a864886f70d0109100117")
_HEAD: Final = 32


@dataclass(frozen=True)
class BidVerdict:
    """The outcome of opening one sealed bid.

    ``code`` is ``None`` when ``ok``, else the first failure: ``envelope-not-addressed``,
    ``envelope-not-opened`` (wrong key or altered bytes), ``bidder-layer-locked`` (a bidder layer
    and no bidder key), ``bidder-layer-not-opened``, ``not-signed``, ``signature-invalid``,
    ``timestamp-invalid``, ``signer-untrusted``, ``package-invalid`` (``package_error`` holds the
    package's own code), ``bidder-mismatch`` (the manifest's USCC is not the signer's),
    ``tender-mismatch``. ``reasons`` lists every problem found in plain words. ``middle_sha256`` and
    ``middle_size`` describe the bidder layer written to ``middle_destination`` (when locked).
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
    middle_sha256: str | None = None
    middle_size: int | None = None

    @property
    def timestamp_valid(self) -> bool:
        """Whether a valid signature time-stamp is attached."""
        return self.signature is not None and self.signature.timestamp_valid


def _content_type(head: bytes) -> str | None:
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


def inner_content_type(stream: IO[bytes]) -> str | None:
    """``signed``, ``enveloped`` or ``None``: what the ContentInfo at the start of ``stream`` holds."""
    head = stream.read(_HEAD)
    stream.seek(0)
    return _content_type(head)


class _Run:
    """Collects the verdict's fields while the layers are peeled."""

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {
            "envelope_sha256": "",
            "envelope_size": 0,
            "envelope_opened": False,
            "bidder_layer": False,
        }
        self.reasons: list[str] = []
        self.code: str | None = None

    def fail(self, code: str, reason: str) -> None:
        self.code = self.code or code
        self.reasons.append(reason)

    def layer_failed(self, layer: str, exc: CmsError) -> None:
        opening = layer == "opening"
        if isinstance(exc, NotARecipient):
            code = "envelope-not-addressed" if opening else "bidder-layer-not-opened"
            self.fail(code, f"the {layer} layer is not addressed to the given certificate")
            return
        code = "envelope-not-opened" if opening else "bidder-layer-not-opened"
        if isinstance(exc, DecryptionError):
            self.fail(code, f"the {layer} layer does not open: {exc}")
        else:
            self.fail(code, f"the {layer} layer is not a readable envelope: {exc}")

    def verdict(self) -> BidVerdict:
        return BidVerdict(ok=self.code is None, code=self.code, reasons=tuple(self.reasons), **self.fields)


class _Outputs:
    """The files one opening writes; those not kept are removed when the opening ends."""

    def __init__(self, stack: contextlib.ExitStack[Any], workdir: Path | None) -> None:
        self._stack = stack
        self._workdir = workdir
        self._files: list[tuple[Path, BinaryIO]] = []
        self.keep: set[Path] = set()
        stack.callback(self._discard)

    def temporary(self) -> BinaryIO:
        """An anonymous spool file (gone when the opening ends)."""
        return cast(BinaryIO, self._stack.enter_context(tempfile.TemporaryFile(dir=self._workdir)))

    def file(self, destination: Path | None) -> BinaryIO:
        """``destination`` opened for writing (an anonymous file without a destination)."""
        if destination is None:
            return self.temporary()
        file = destination.open("w+b")
        self._files.append((destination, file))
        return file

    def scan(self, package: BinaryIO, limits: PackageLimits) -> StreamedPackage:
        """The package sink that hashes the package's entries as they are written."""
        scan = StreamedPackage(package, limits)
        self._stack.callback(scan.close)
        return scan

    def _discard(self) -> None:
        for destination, file in self._files:
            file.close()
            if destination not in self.keep:
                with contextlib.suppress(OSError):
                    destination.unlink()


@dataclass(frozen=True)
class _Request:
    opening_certificate: x509.Certificate
    opening_key: DecryptionKey
    check_certificate: CertificateCheck | None
    check_tsa_certificate: CertificateCheck | None
    bidder_certificate: x509.Certificate | None
    bidder_key: DecryptionKey | None
    expected_tender_id: str | None
    cms_limits: Limits | None
    package_limits: PackageLimits
    package_destination: Path | None
    middle_destination: Path | None


def _unlock(
    source: BinaryIO,
    run: _Run,
    layer: str,
    *,
    certificate: x509.Certificate,
    key: DecryptionKey,
    limits: Limits | None,
) -> io.BufferedReader | None:
    try:
        return decrypting_reader(source, certificate, key, limits=limits)
    except CmsError as exc:
        run.layer_failed(layer, exc)
        return None


def _peek(plain: io.BufferedReader, run: _Run, layer: str) -> tuple[bool, str | None]:
    try:
        return True, _content_type(plain.peek(_HEAD)[:_HEAD])
    except CmsError as exc:
        run.layer_failed(layer, exc)
        return False, None


def _settle(plain: io.BufferedReader, run: _Run, layer: str) -> bool:
    """Read the layer to its end, checking its tag; False (recorded) when it does not verify."""
    try:
        content_of(plain).drain()
    except CmsError as exc:
        run.layer_failed(layer, exc)
        return False
    if layer == "opening":
        run.fields["envelope_opened"] = True
    return True


def _copy(plain: io.BufferedReader, sink: BinaryIO | HashingWriter, run: _Run, chunk: int) -> bool:
    """Copy the opening layer's plaintext to ``sink`` up to its verified end."""
    try:
        while data := plain.read(chunk):
            sink.write(data)
    except CmsError as exc:
        run.layer_failed("opening", exc)
        return False
    return _settle(plain, run, "opening")


def _bidder_layer(
    plain: io.BufferedReader, run: _Run, out: _Outputs, request: _Request
) -> io.BufferedReader | None:
    """The bidder layer: kept as it is without the bidder's key, else opened (None: stop here)."""
    chunk = request.package_limits.chunk_size
    if request.bidder_certificate is None or request.bidder_key is None:
        destination = request.middle_destination
        sink = HashingWriter(out.file(destination)) if destination is not None else None
        if not (_copy(plain, sink, run, chunk) if sink is not None else _settle(plain, run, "opening")):
            return None
        run.fields["bidder_layer"] = True
        if sink is not None and destination is not None:
            run.fields.update(middle_sha256=sink.hexdigest(), middle_size=sink.size)
            out.keep.add(destination)
        run.fail("bidder-layer-locked", "the bid has a bidder layer: the bidder's decryption key is needed")
        return None
    spool = out.temporary()
    if not _copy(plain, spool, run, chunk):
        return None
    run.fields["bidder_layer"] = True
    spool.seek(0)
    return _unlock(
        spool,
        run,
        "bidder",
        certificate=request.bidder_certificate,
        key=request.bidder_key,
        limits=request.cms_limits,
    )


def _check_signed(
    plain: io.BufferedReader, package: StreamedPackage, run: _Run, layer: str, request: _Request
) -> SignatureVerdict | None:
    try:
        verdict = verify_signed(
            plain,
            content_sink=cast(BinaryIO, package),
            check_certificate=request.check_certificate,
            check_tsa_certificate=request.check_tsa_certificate,
            limits=request.cms_limits,
        )
    except CmsError as exc:
        if _settle(plain, run, layer):  # the envelope is intact: the signed layer inside is broken
            run.fail("signature-invalid", f"the signed layer cannot be read: {exc}")
        return None
    if not _settle(plain, run, layer):  # verify_signed read to the end: this only confirms the tag
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
    package: BinaryIO,
    streamed: dict[int, StreamedEntry],
    verdict: SignatureVerdict,
    run: _Run,
    request: _Request,
) -> bool:
    run.fields["package_sha256"], run.fields["package_size"] = verdict.content_sha256, verdict.content_size
    package.seek(0)
    try:
        manifest = verify_package(package, limits=request.package_limits, streamed=streamed)
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
    expected = request.expected_tender_id
    if expected is not None and manifest.tender_id != expected:
        run.fail("tender-mismatch", f"the package is for tender {manifest.tender_id}, not {expected}")
    return True


def _open_layers(source: BinaryIO, run: _Run, out: _Outputs, request: _Request) -> None:
    plain = _unlock(
        source,
        run,
        "opening",
        certificate=request.opening_certificate,
        key=request.opening_key,
        limits=request.cms_limits,
    )
    if plain is None:
        return
    layer = "opening"
    readable, kind = _peek(plain, run, layer)
    if readable and kind == "enveloped":
        plain = _bidder_layer(plain, run, out, request)
        if plain is None:
            return
        layer = "bidder"
        readable, kind = _peek(plain, run, layer)
    if not readable:
        return
    if kind != "signed":
        if _settle(plain, run, layer):
            run.fail("not-signed", "inside the envelope there is no CMS SignedData (the bid is not signed)")
        return
    package = out.file(request.package_destination)
    scan = out.scan(package, request.package_limits)
    verdict = _check_signed(plain, scan, run, layer, request)
    streamed = scan.finish()
    if verdict is None or not verdict.intact:
        return
    if _check_package(package, streamed, verdict, run, request) and request.package_destination is not None:
        out.keep.add(request.package_destination)


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
    middle_destination: Path | None = None,
    workdir: Path | None = None,
) -> BidVerdict:
    """Open ``sealed`` (a path or a seekable stream) and check it completely; never raises for bad input.

    ``check_certificate(cert, at)`` validates the signer certificate at the trusted signing moment
    (the time-stamp's time if valid, else the signing-time attribute), e.g. a
    :class:`~crypto.pki.CertificateChecker` for ``Purpose.SIGNING``; pass ``None`` only where trust is
    checked elsewhere. ``package_destination`` receives the bid package when the envelope's tag and
    the signature verified and the package is valid (``package_sha256`` is its hash); without a
    bidder key, ``middle_destination`` receives a bidder layer as it is (``middle_sha256``). They
    are written in place while the bid is read and removed again unless kept, so put them in a
    private scratch directory; they are not fsynced: hand them to ``BlobStore.adopt``. ``workdir``
    holds the anonymous spool files. Must not run inside an event loop when a check is async: use
    :func:`aopen_bid` there.
    """
    request = _Request(
        opening_certificate,
        opening_key,
        check_certificate,
        check_tsa_certificate,
        bidder_certificate,
        bidder_key,
        expected_tender_id,
        cms_limits,
        package_limits or PackageLimits(),
        package_destination,
        middle_destination,
    )
    with contextlib.ExitStack() as stack:
        stream = stack.enter_context(sealed.open("rb")) if isinstance(sealed, Path) else sealed
        source = HashingSource(stream, background=True, chunk_size=request.package_limits.chunk_size)
        stack.callback(source.close)
        run = _Run()
        out = _Outputs(stack, workdir)
        _open_layers(cast(BinaryIO, source), run, out, request)
        run.fields["envelope_sha256"], run.fields["envelope_size"] = source.finish()
        return run.verdict()


async def aopen_bid(*args: Any, **kwargs: Any) -> BidVerdict:
    """:func:`open_bid` in a worker thread (file work and any async certificate check run there)."""
    return await asyncio.to_thread(open_bid, *args, **kwargs)
