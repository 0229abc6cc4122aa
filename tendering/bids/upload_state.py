"""Who may touch an upload's partial file right now, and the running SHA-256 of what it holds.

*Locking.* A chunk and a finalisation of the same upload never run at the same time, in this process
or in another worker: :func:`hold` takes a per-process :class:`threading.Lock` (so threads of this
process do not even open the file) and an exclusive :func:`fcntl.flock` on the partial file (so other
processes sharing the upload directory are kept out too). Both are tried without waiting: a second
caller is told ``409 upload-busy`` and retries. The caller re-reads the session row *after* taking
the lock, so it acts on the offset that was committed, never on one it loaded before.

*Hashing while the chunks arrive.* Each process keeps, per upload, a SHA-256 state and the offset it
covers. A chunk continues it with the bytes it appends (re-sent bytes are compared, never hashed
twice) and installs the new state only after the new offset is durably recorded. When the state is
missing (after a restart, or the previous chunk went to another worker) or covers another offset,
:func:`running_digest` catches up by hashing the file up to the recorded offset. The finalisation
then knows the envelope's digest without reading it again.
"""

from __future__ import annotations

import fcntl
import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from hashlib import sha256
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from tendering.errors import Conflict

if TYPE_CHECKING:
    from hashlib import _Hash

_READ = 1 << 20


@dataclass
class _Running:
    offset: int
    digest: _Hash


_LOCKS: dict[uuid.UUID, threading.Lock] = {}
_STATES: dict[uuid.UUID, _Running] = {}
_GUARD = threading.Lock()


def busy() -> Conflict:
    """The refusal for a second writer (or a chunk during the finalisation)."""
    return Conflict("another chunk of this upload is being received; retry", code="upload-busy")


def _thread_lock(upload_id: uuid.UUID) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault(upload_id, threading.Lock())


@contextmanager
def hold(path: Path, upload_id: uuid.UUID) -> Iterator[BinaryIO | None]:
    """Hold the upload exclusively; yields its partial file opened for reading and writing.

    Yields ``None`` when the partial file no longer exists (an earlier finalisation moved it into the
    blob store). Raises ``upload-busy`` at once when someone else holds the upload.
    """
    lock = _thread_lock(upload_id)
    if not lock.acquire(blocking=False):
        raise busy()
    try:
        try:
            handle = path.open("r+b")
        except FileNotFoundError:
            yield None
            return
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise busy() from None
            try:
                if not _still_named(path, handle):
                    yield None  # moved into the blob store after we opened it: not ours to write
                else:
                    yield handle
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    finally:
        lock.release()


def _still_named(path: Path, handle: BinaryIO) -> bool:
    try:
        named = path.stat()
    except FileNotFoundError:
        return False
    return os.path.samestat(named, os.fstat(handle.fileno()))


def cached_digest(upload_id: uuid.UUID, offset: int) -> _Hash | None:
    """A copy of this process's running state if it covers exactly ``offset`` bytes, else None."""
    with _GUARD:
        state = _STATES.get(upload_id)
        if state is not None and state.offset == offset:
            return state.digest.copy()
    return None


def running_digest(handle: BinaryIO, upload_id: uuid.UUID, offset: int) -> _Hash:
    """A SHA-256 state over the first ``offset`` bytes of the partial file (a copy: safe to extend).

    Taken from this process's running state when it covers exactly ``offset`` (:func:`cached_digest`);
    otherwise computed from the file (the catch-up after a restart or a chunk received by another
    worker).
    """
    cached = cached_digest(upload_id, offset)
    if cached is not None:
        return cached
    digest = sha256()
    handle.seek(0)
    left = offset
    while left > 0:
        block = handle.read(min(_READ, left))
        if not block:
            break  # shorter than recorded: the digest will not match, and the upload is refused
        digest.update(block)
        left -= len(block)
    return digest


def install(upload_id: uuid.UUID, offset: int, digest: _Hash) -> None:
    """Remember ``digest`` as the state over ``offset`` bytes (call once ``offset`` is recorded)."""
    with _GUARD:
        _STATES[upload_id] = _Running(offset, digest)


def forget(upload_id: uuid.UUID) -> None:
    """Drop the running state of a finished, abandoned or expired upload."""
    with _GUARD:
        _STATES.pop(upload_id, None)
        lock = _LOCKS.get(upload_id)
        if lock is not None and not lock.locked():
            del _LOCKS[upload_id]  # (another writer that raced this still meets the file lock)
