"""Hashing a file in the same pass that reads it for something else.

:class:`HashingSource` wraps a binary stream and feeds SHA-256 with the bytes read from it, as long as
they continue where the hash stopped (a high-water mark): the envelope reader's structure pass reads
the header (hashed), seeks over the encrypted content and reads the tail (not hashed: it is beyond
the mark); its second pass reads everything again from offset 0, and hashing resumes where the header
ended. :meth:`HashingSource.finish` reads whatever was not hashed yet (everything after a failure that
stopped early), so the digest is always that of the whole stream.

With ``background=True`` the hashing runs in a worker thread (``hashlib`` releases the GIL for large
updates), so it overlaps the decryption and the other hashes of the same envelope; at most a few
chunks wait in its queue (bounded memory).

:class:`HashingWriter` is the writing side: bytes written to a file are hashed as they pass.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from typing import Any, BinaryIO, Final

__all__ = ["HashingSource", "HashingWriter"]

_QUEUE_DEPTH: Final = 4
_CHUNK: Final = 1 << 20
_SMALL: Final = 1 << 16


class _Background:
    """A SHA-256 fed from a bounded queue by one worker thread."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()
        self._queue: queue.Queue[memoryview | bytes | None] = queue.Queue(_QUEUE_DEPTH)
        self._small = bytearray()
        self._thread = threading.Thread(target=self._work, name="sealbid-hash", daemon=True)
        self._thread.start()

    def _work(self) -> None:
        while (item := self._queue.get()) is not None:
            self._digest.update(item)

    def update(self, data: memoryview | bytes) -> None:
        """Queue ``data``; the many small reads of a structure walk are gathered into one item."""
        if len(data) < _SMALL:
            self._small += data
            if len(self._small) >= _SMALL:
                self._flush()
            return
        self._flush()
        self._queue.put(data)

    def _flush(self) -> None:
        if self._small:
            self._queue.put(bytes(self._small))
            self._small.clear()

    def hexdigest(self) -> str:
        self.close()
        return self._digest.hexdigest()

    def close(self) -> None:
        if self._thread.is_alive():
            self._flush()
            self._queue.put(None)
            self._thread.join()


class _Inline:
    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def update(self, data: memoryview | bytes) -> None:
        self._digest.update(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()

    def close(self) -> None:
        """Nothing to stop."""


class HashingSource:
    """A read-through view of ``stream`` that hashes the contiguous bytes read from its start.

    Offers what :class:`~crypto.cms.stream.BerReader` uses (``read``, ``seek``, ``tell``,
    ``seekable``). Call :meth:`close` (or :meth:`finish`) to stop a background worker.
    """

    def __init__(self, stream: BinaryIO, *, background: bool = False, chunk_size: int = _CHUNK) -> None:
        self._stream = stream
        self._start = stream.tell() if stream.seekable() else 0
        self._position = 0  # relative to the start
        self._hashed = 0
        self._chunk = chunk_size
        self._hasher: _Background | _Inline = _Background() if background else _Inline()
        self._result: tuple[str, int] | None = None

    def readable(self) -> bool:
        """Always readable."""
        return True

    def seekable(self) -> bool:
        """Whether the wrapped stream is seekable."""
        return bool(self._stream.seekable())

    def tell(self) -> int:
        """The wrapped stream's position."""
        return self._stream.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        """Move the wrapped stream (hashing resumes only where it stopped)."""
        absolute = self._stream.seek(offset, whence)
        self._position = absolute - self._start
        return absolute

    def read(self, size: int = -1) -> bytes:
        """Read from the wrapped stream; bytes just past the hashed prefix are hashed."""
        data = self._stream.read(size)
        if not data:
            return b""
        start, end = self._position, self._position + len(data)
        self._position = end
        if start <= self._hashed < end and self._result is None:
            self._hasher.update(memoryview(data)[self._hashed - start :] if start < self._hashed else data)
            self._hashed = end
        return data

    def finish(self) -> tuple[str, int]:
        """SHA-256 (hex) and size of the whole stream, reading the part not hashed yet."""
        if self._result is None:
            self._stream.seek(self._start + self._hashed)
            self._position = self._hashed
            while self.read(self._chunk):
                pass
            self._result = (self._hasher.hexdigest(), self._hashed)
        return self._result

    def close(self) -> None:
        """Stop the background worker, if any (the wrapped stream stays open)."""
        self._hasher.close()


class HashingWriter:
    """Writes to ``sink`` and hashes what is written (SHA-256, size)."""

    def __init__(self, sink: BinaryIO) -> None:
        self._sink = sink
        self._digest = hashlib.sha256()
        self.size = 0

    def write(self, data: Any) -> int:
        """Write and hash ``data``."""
        self._digest.update(data)
        written = self._sink.write(data)
        self.size += len(data)
        return written

    def hexdigest(self) -> str:
        """The SHA-256 of everything written so far."""
        return self._digest.hexdigest()
