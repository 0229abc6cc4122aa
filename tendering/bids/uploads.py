"""Resumable, chunked uploads of sealed envelopes (a subset of the tus 1.0 protocol's semantics).

A bidder creates an upload session with the envelope's declared size and SHA-256, sends chunks at
offsets (``Upload-Offset``), asks for the current offset after a dropped connection, and finalises
with its signed statement (:mod:`tendering.bids.submission`). Chunks stream to a partial file under
``settings.bids.upload_dir`` (default ``data_dir/uploads``) and are fsynced before the new offset is
recorded, so an acknowledged offset survives a crash. Re-sending a chunk that was already received is
harmless (the bytes are compared, nothing changes); a chunk at any other offset is a Conflict that
tells the current offset. One chunk at a time per upload, across threads and worker processes
(:mod:`tendering.bids.upload_state`: a second one is ``upload-busy``), and every chunk extends the
upload's running SHA-256, so the finalisation never reads the envelope again. Sessions untouched for
``upload_ttl_seconds`` expire and are removed by the maintenance sweep (:func:`sweep_expired`).
"""

from __future__ import annotations

import errno
import mmap
import os
import re
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import anyio.to_thread
from sqlalchemy import delete, select, update

from tendering.bids import upload_state
from tendering.bids.acceptance import check_eligible, open_tender, opening_certificate_of
from tendering.bids.models import UploadSession, UploadState
from tendering.errors import Conflict, InvalidInput, NotFound, SealbidError, TooLate

if TYPE_CHECKING:
    from hashlib import _Hash

    from sqlalchemy.orm import Session

    from tendering.platform import Platform

_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Bytes written (and hashed) at a time, from a worker thread's block buffer.
_WRITE_BLOCK = 1 << 20
#: Bytes of request pieces gathered (by reference) before one trip to a worker thread to write them.
#: Each trip wakes a thread and costs two context switches; with 200 bidders sending 20 MiB bids,
#: gathering 4 MiB instead of 1 MiB per trip raised sealbid's submission rate by about a fifth
#: (bench/README.md). It bounds what a chunk being received holds in memory: at most this much.
_GATHER = 4 * _WRITE_BLOCK
#: Once the chunks being received in this process hold this many gathered bytes between them, each
#: writes as soon as it has ``_WRITE_BLOCK`` (as with 1 MiB trips), so very many concurrent uploads
#: hold about this much plus 1 MiB each, not 4 MiB each. (The bench's 100 uploads per process stay
#: under it: at most 400 MiB.)
_GATHER_BUDGET = 512 << 20
#: Threads for chunk file work, apart from the default pool that the synchronous handlers (the
#: finalisation among them) occupy, so a chunk's writes never queue behind finalisations.
_FILE_THREADS = anyio.CapacityLimiter(16)
#: ``os.posix_fadvise`` where the platform has it (not on macOS or Windows: there the cache keeps them).
_DROP_FROM_CACHE = getattr(os, "posix_fadvise", None)
_DONTNEED = getattr(os, "POSIX_FADV_DONTNEED", 0)
#: ``os.O_DIRECT`` where the platform has it (Linux, the BSDs; not macOS or Windows): whole blocks are
#: then written straight from the block buffer to the disk, bypassing the page cache.
_O_DIRECT: int | None = getattr(os, "O_DIRECT", None)
#: File offsets, lengths and buffer addresses of direct writes are multiples of this (4096 covers disks
#: with 512- and 4096-byte sectors; the block buffer is page-aligned).
_DIRECT_ALIGN = 4096
_BLOCKS = threading.local()


def _block_buffer() -> memoryview:
    """This thread's reusable block buffer (one per worker thread that has written chunks; at most
    ``_FILE_THREADS`` of them in use at once), page-aligned (an anonymous mapping) for direct writes."""
    block: memoryview | None = getattr(_BLOCKS, "buffer", None)
    if block is None:
        block = _BLOCKS.buffer = memoryview(mmap.mmap(-1, _WRITE_BLOCK))
    return block


class _Gathered:
    """The request bytes one chunk holds gathered, and (class-wide) what all chunks of this process
    hold: the two decide when the chunk's next trip to a worker thread is due."""

    _lock = threading.Lock()
    total = 0

    def __init__(self) -> None:
        self.held = 0

    def add(self, size: int) -> None:
        """Count a gathered piece."""
        with self._lock:
            _Gathered.total += size
            self.held += size

    def due(self) -> bool:
        """Whether to write now: ``_GATHER`` held, or ``_WRITE_BLOCK`` once the process is at its budget."""
        return self.held >= _GATHER or (self.held >= _WRITE_BLOCK and _Gathered.total >= _GATHER_BUDGET)

    def written(self) -> None:
        """What this chunk held is written (or dropped): no longer counted."""
        with self._lock:
            _Gathered.total -= self.held
            self.held = 0


def _open_direct(path: Path, held: int) -> int | None:
    """A second descriptor of the held partial file for direct writes, or None where there is none.

    None when the platform or the file system has no direct I/O (tmpfs before Linux 6.6, for one),
    or when ``path`` no longer names the held file (the expiry sweep removed it meanwhile)."""
    if _O_DIRECT is None:
        return None
    try:
        fd = os.open(path, os.O_WRONLY | _O_DIRECT)
    except OSError:
        return None
    if not os.path.samestat(os.fstat(fd), os.fstat(held)):
        os.close(fd)
        return None
    return fd


@dataclass(frozen=True)
class UploadStatus:
    """What a client needs to resume: the session, how much arrived, how much is expected."""

    id: uuid.UUID
    tender_id: uuid.UUID
    offset: int
    size: int
    sha256: str
    expires_at: datetime
    state: str

    def document(self) -> dict[str, Any]:
        """JSON view."""
        return {
            "id": str(self.id),
            "tender": str(self.tender_id),
            "offset": self.offset,
            "size": self.size,
            "sha256": self.sha256,
            "expires_at": self.expires_at.isoformat(),
            "state": self.state,
        }


def _upload_dir_of(platform: Platform) -> Path:
    return platform.settings.bids.upload_dir or platform.settings.data_dir / "uploads"


def upload_dir(platform: Platform) -> Path:
    """Where partial uploads live (made if missing)."""
    directory = _upload_dir_of(platform)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def partial_path(platform: Platform, upload_id: uuid.UUID) -> Path:
    """The partial file of an upload session (its directory is made when a session is created)."""
    return _upload_dir_of(platform) / f"{upload_id}.part"


def _status(row: UploadSession) -> UploadStatus:
    return UploadStatus(
        row.id, row.tender_id, row.offset, row.declared_size, row.declared_sha256, row.expires_at, row.state
    )


def _not_found() -> NotFound:
    return NotFound("no upload session with this id is open for you", code="upload-not-found")


def create_upload(
    platform: Platform,
    *,
    bidder_id: uuid.UUID,
    tender_id: uuid.UUID,
    size: int,
    sha256: str,
    address: str | None,
    user_agent: str | None,
) -> UploadStatus:
    """Open an upload session after the checks that can be made before any byte arrives."""
    limit = platform.settings.bids.max_envelope_bytes
    if size < 1:
        raise InvalidInput("the envelope size must be at least one byte", code="envelope-size-invalid")
    if size > limit:
        raise InvalidInput(
            f"the envelope is {size} bytes; this platform accepts at most {limit} bytes",
            code="envelope-too-large",
            limit=limit,
        )
    if not _HEX64.fullmatch(sha256):
        raise InvalidInput("sha256 must be 64 lower-case hex digits", code="envelope-digest-invalid")
    now = platform.clock.now()
    with platform.transaction() as session:
        tender = open_tender(session, tender_id, now)
        opening_certificate_of(session, tender)
        check_eligible(session, tender, bidder_id)
        row = UploadSession(
            id=uuid.uuid4(),
            tender_id=tender_id,
            bidder_id=bidder_id,
            declared_size=size,
            declared_sha256=sha256,
            offset=0,
            state=UploadState.OPEN,
            created_at=now,
            updated_at=now,
            expires_at=now + timedelta(seconds=platform.settings.bids.upload_ttl_seconds),
            chunks=[],
            address=(address or "")[:100] or None,
            user_agent=(user_agent or "")[:300] or None,
        )
        session.add(row)
    upload_dir(platform)  # made here, so chunks and finalisations only open files in it
    partial_path(platform, row.id).touch()
    return _status(row)


def upload_status(platform: Platform, upload_id: uuid.UUID, bidder_id: uuid.UUID) -> UploadStatus:
    """The session's current offset (only for its owner; anyone else gets NotFound)."""
    with platform.session_factory() as session:
        row = session.get(UploadSession, upload_id)
        if row is None or row.bidder_id != bidder_id:
            raise _not_found()
        return _status(row)


def open_session(
    platform: Platform, upload_id: uuid.UUID, bidder_id: uuid.UUID, *, check_expiry: bool = True
) -> UploadSession:
    """The owner's open (and, unless told otherwise, unexpired) session row (detached)."""
    with platform.session_factory() as session:
        return owned_open_row(platform, session, upload_id, bidder_id, check_expiry=check_expiry)


def owned_open_row(
    platform: Platform,
    session: Session,
    upload_id: uuid.UUID,
    bidder_id: uuid.UUID,
    *,
    check_expiry: bool = True,
) -> UploadSession:
    """:func:`open_session` read in the caller's ``session``."""
    row = session.get(UploadSession, upload_id)
    if row is None or row.bidder_id != bidder_id:
        raise _not_found()
    if row.state != UploadState.OPEN:
        raise _finished()
    if check_expiry:
        check_not_expired(platform, row)
    return row


@contextmanager
def hold_owned(platform: Platform, upload_id: uuid.UUID, bidder_id: uuid.UUID) -> Iterator[BinaryIO | None]:
    """:func:`upload_state.hold` for synchronous callers: anyone but the owner of the upload is told
    NotFound rather than ``upload-busy`` (the caller reads the row once it is held)."""
    entered = False
    try:
        with upload_state.hold(partial_path(platform, upload_id), upload_id) as handle:
            entered = True
            yield handle
    except Conflict:
        if not entered:  # busy: nobody else may learn that this upload exists
            open_session(platform, upload_id, bidder_id, check_expiry=False)
        raise


def check_not_expired(platform: Platform, row: UploadSession) -> None:
    """Refuse an expired session (the sweep removes it soon)."""
    if platform.clock.now() >= row.expires_at:
        raise TooLate("this upload session expired; start a new upload", code="upload-expired")


def _offset_mismatch(current: int, given: int) -> Conflict:
    return Conflict(
        f"the upload is at offset {current}, not {given}: resume from {current}",
        code="upload-offset-mismatch",
        offset=current,
    )


def _finished() -> Conflict:
    return Conflict("this upload was already finalised", code="upload-finished")


async def write_chunk(
    platform: Platform,
    upload_id: uuid.UUID,
    bidder_id: uuid.UUID,
    offset: int,
    body: AsyncIterator[bytes],
) -> UploadStatus:
    """Append the bytes of ``body`` at ``offset``; returns the new status.

    The body streams to the partial file (bounded by ``max_chunk_bytes`` per request). A chunk that
    starts before the current offset is compared with what was received and only its new tail is
    written (and hashed); a chunk that starts after it is refused. The session row is read once the
    upload is held (:func:`upload_state.hold`), so a chunk never acts on an offset it loaded before
    another chunk committed; anyone but the owner is told NotFound, even while the upload is busy.
    """
    path = partial_path(platform, upload_id)
    with ExitStack() as held:
        try:
            handle = held.enter_context(upload_state.hold(path, upload_id))
        except Conflict:  # busy: but only its owner may learn even that much about an upload
            await anyio.to_thread.run_sync(open_session, platform, upload_id, bidder_id)
            raise
        # read once the upload is held: the owner's, open and fresh, at the offset last committed
        row = await anyio.to_thread.run_sync(open_session, platform, upload_id, bidder_id)
        if handle is None:
            raise _finished()
        if offset < 0 or offset > row.offset:
            raise _offset_mismatch(row.offset, offset)
        started = platform.clock.now()
        digest = upload_state.cached_digest(upload_id, row.offset)  # the usual case: no file work
        if digest is None:
            digest = await anyio.to_thread.run_sync(
                upload_state.running_digest, handle, upload_id, row.offset, limiter=_FILE_THREADS
            )
        writer = _ChunkWriter(handle, path, row, offset, digest)
        held.callback(writer.close)
        gathered = _Gathered()
        held.callback(gathered.written)
        limit = platform.settings.bids.max_chunk_bytes
        pending, interrupted = await _receive(writer, body, limit, gathered)
        # one trip to a thread for the rest: last writes, fsync, then the new offset recorded
        new = await anyio.to_thread.run_sync(
            _finish, platform, writer, pending, row, started, limiter=_FILE_THREADS
        )
        if writer.position > row.offset:
            upload_state.install(upload_id, writer.position, digest)  # only once the offset is recorded
    if interrupted is not None:
        raise interrupted  # what did arrive is kept: the client resumes from the new offset
    return new


class _ChunkWriter:
    """Writes one chunk at its offset: compares what was already received, appends and hashes the rest.

    The new bytes are copied into this thread's block buffer (warm memory, reused) and written and
    hashed a block at a time: one ``pwrite`` and one hash update per block instead of two calls per
    request piece, each of which lets go of the interpreter lock and has to win it back. Writes are
    positional on file descriptors, so the buffered handle never holds written data.

    Whole aligned blocks go through a second descriptor opened with ``O_DIRECT``: the disk reads them
    from the block buffer, so the kernel neither copies them into the page cache nor writes them back
    later, the costliest part of receiving a bid on a virtual machine (bench/README.md). What is not
    aligned (the envelope's last bytes, a chunk resumed at an odd offset) is written through the page
    cache, and so is everything where direct I/O is refused; the fsync covers both.
    """

    def __init__(self, handle: BinaryIO, path: Path, row: UploadSession, offset: int, digest: _Hash) -> None:
        self.fd = handle.fileno()
        self.path = path
        self.direct: int | None = None
        self._direct_tried = False
        #: New bytes received but not yet written (they end off an aligned offset), written next time.
        self.carry = b""
        self.acknowledged = row.offset
        self.declared_size = row.declared_size
        self.offset = offset
        self.position = offset
        self.digest = digest

    def write_all(self, pieces: list[bytes], *, last: bool = False) -> None:
        """Compare the part of ``pieces`` below the acknowledged offset, then write and hash the rest.

        Blocks end on aligned file offsets (the first one shorter if the new bytes start off one), so
        every block after the first can be written directly. Unless this is the ``last`` call of the
        chunk, the bytes past the last aligned offset are kept for the next call instead of being
        written now (fewer than ``_DIRECT_ALIGN``, plus a block that is not full)."""
        block = _block_buffer()
        filled = len(self.carry)
        block[:filled] = self.carry
        self.carry = b""
        for piece in pieces:
            view = memoryview(piece)
            overlap = max(0, min(self.acknowledged - self.position, len(view)))
            if overlap and os.pread(self.fd, overlap, self.position) != view[:overlap]:
                raise _offset_mismatch(self.acknowledged, self.offset)
            self.position += len(view)
            view = view[overlap:]
            while view:
                at = self.position - len(view) - filled  # the file offset of the block's first byte
                room = len(block) - at % _DIRECT_ALIGN - filled
                step = min(len(view), room)
                block[filled : filled + step] = view[:step]
                filled += step
                view = view[step:]
                if step == room:
                    self._append(block[:filled], at)
                    filled = 0
        if not filled:
            return
        at = self.position - filled
        keep = 0 if last else min(filled, (at + filled) % _DIRECT_ALIGN)
        if filled > keep:
            self._append(block[: filled - keep], at)
        if keep:
            self.carry = bytes(block[filled - keep : filled])

    def _append(self, data: memoryview, at: int) -> None:
        """Write ``data`` (the start of the block buffer) at ``at``, directly as far as it is aligned."""
        self.digest.update(data)
        aligned = len(data) - len(data) % _DIRECT_ALIGN if at % _DIRECT_ALIGN == 0 else 0
        written = self._write_direct(data[:aligned], at) if aligned and self._direct_fd() is not None else 0
        while written < len(data):
            written += os.pwrite(self.fd, data[written:], at + written)

    def _direct_fd(self) -> int | None:
        if not self._direct_tried:
            self._direct_tried = True
            self.direct = _open_direct(self.path, self.fd)
        return self.direct

    def _write_direct(self, data: memoryview, at: int) -> int:
        """Write aligned ``data`` with direct I/O; returns how much was written (the caller writes the
        rest through the page cache). A refusal (EINVAL: alignment this disk does not take) turns
        direct writes off for this chunk."""
        assert self.direct is not None
        written = 0
        try:
            while written < len(data) and written % _DIRECT_ALIGN == 0:
                written += os.pwrite(self.direct, data[written:], at + written)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            self.close()
        return written

    def sync(self) -> None:
        """Fsync what was written (before the offset is recorded), then drop it from the page cache.

        The fsync is the file's, whichever descriptor wrote. A sealed envelope is not read again until
        the opening, so once the chunk is on disk whatever of it the page cache holds (the unaligned
        writes, the pages read to compare a re-sent overlap) is handed back (``POSIX_FADV_DONTNEED``)
        instead of filling the page cache: keeping gigabytes of them evicts what the server does read,
        and on virtual machines writes into an ever-growing cache cost several times the CPU of writes
        into pages just freed (bench/README.md).
        """
        os.fsync(self.fd)
        if _DROP_FROM_CACHE is not None and self.position > self.offset:
            _DROP_FROM_CACHE(self.fd, self.offset, self.position - self.offset, _DONTNEED)

    def close(self) -> None:
        """Close the direct descriptor (the held handle is the hold's to close)."""
        if self.direct is not None:
            os.close(self.direct)
            self.direct = None


def _finish(
    platform: Platform,
    writer: _ChunkWriter,
    pending: list[bytes],
    row: UploadSession,
    started: datetime,
) -> UploadStatus:
    """Write what is left of the chunk, make it durable, then record the new offset (in a thread)."""
    writer.write_all(pending, last=True)
    writer.sync()
    return _record_offset(platform, row, writer.position, writer.offset, started)


async def _receive(
    writer: _ChunkWriter, body: AsyncIterator[bytes], limit: int, gathered: _Gathered
) -> tuple[list[bytes], Exception | None]:
    """Stream ``body`` through ``writer`` off the event loop, ``_GATHER`` bytes at a time (or
    ``_WRITE_BLOCK`` while the process is at ``_GATHER_BUDGET``), counted in ``gathered``.

    Returns the pieces not yet written (for :func:`_finish`) and the error that cut the body short."""
    pending: list[bytes] = []  # by reference here; the writer copies them into its reused block
    received = 0
    interrupted: Exception | None = None
    try:
        async for piece in body:
            if not piece:
                continue
            received += len(piece)
            if received > limit:
                raise InvalidInput(
                    f"a chunk may be at most {limit} bytes", code="chunk-too-large", limit=limit
                )
            if writer.offset + received > writer.declared_size:
                raise InvalidInput(
                    f"the chunk goes beyond the declared size of {writer.declared_size} bytes",
                    code="upload-beyond-size",
                )
            pending.append(piece)
            gathered.add(len(piece))
            if gathered.due():
                await anyio.to_thread.run_sync(writer.write_all, pending, limiter=_FILE_THREADS)
                pending = []
                gathered.written()
    except SealbidError:
        raise
    except Exception as exc:  # noqa: BLE001 - a dropped connection: keep what arrived
        interrupted = exc
    return pending, interrupted


def _record_offset(
    platform: Platform, row: UploadSession, end: int, offset: int, started: datetime
) -> UploadStatus:
    now = platform.clock.now()
    if end <= row.offset:
        return _status(row)  # a re-sent chunk: nothing new
    chunk = [offset, end - offset, now.isoformat(), round((now - started).total_seconds(), 3)]
    with platform.transaction() as session:
        # only if no other chunk moved the offset meanwhile; the new row comes back in the same statement
        updated = session.scalars(
            update(UploadSession)
            .where(
                UploadSession.id == row.id,
                UploadSession.offset == row.offset,
                UploadSession.state == UploadState.OPEN,
            )
            .values(
                offset=end,
                updated_at=now,
                expires_at=now + timedelta(seconds=platform.settings.bids.upload_ttl_seconds),
                chunks=[*row.chunks, chunk],
            )
            .returning(UploadSession)
            .execution_options(synchronize_session=False)
        ).first()
        if updated is not None:
            return _status(updated)
        fresh = session.get(UploadSession, row.id)
        if fresh is None:
            raise _not_found()
        session.refresh(fresh)
        raise _offset_mismatch(fresh.offset, offset)


def abandon_upload(platform: Platform, upload_id: uuid.UUID, bidder_id: uuid.UUID) -> None:
    """Delete an open upload and its partial file (the bidder gave up); not while a chunk arrives."""

    def remove() -> None:
        with platform.transaction() as session:
            row = session.get(UploadSession, upload_id)
            if row is None or row.bidder_id != bidder_id or row.state != UploadState.OPEN:
                raise _not_found()
            session.delete(row)

    with platform.session_factory() as session:
        row = session.get(UploadSession, upload_id)
        if row is None or row.bidder_id != bidder_id or row.state != UploadState.OPEN:
            raise _not_found()  # before holding the upload: a stranger never learns it is busy
    path = partial_path(platform, upload_id)
    with upload_state.hold(path, upload_id):
        remove()
        path.unlink(missing_ok=True)
    upload_state.forget(upload_id)


def sweep_expired(platform: Platform) -> int:
    """Remove expired open sessions and their partial files; returns how many. Idempotent."""
    now = platform.clock.now()
    with platform.transaction() as session:
        ids = list(
            session.scalars(
                select(UploadSession.id).where(
                    UploadSession.state == UploadState.OPEN, UploadSession.expires_at <= now
                )
            )
        )
        if ids:
            session.execute(delete(UploadSession).where(UploadSession.id.in_(ids)))
    for upload_id in ids:
        partial_path(platform, upload_id).unlink(missing_ok=True)
        upload_state.forget(upload_id)
    return len(ids)
