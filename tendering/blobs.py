"""Content-addressed blob storage for documents and envelopes, behind a Protocol.

Blobs are named by the SHA-256 of their bytes. Writes stream in bounded memory and are atomic: a blob
is written to a temporary file, fsynced, then renamed into place (and the directory fsynced), so a
reader never sees a partial blob and a crash loses nothing that was acknowledged.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import shutil
import tempfile
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from tendering.errors import InvalidInput, NotFound

CHUNK = 1 << 20
_HEX64 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class BlobRef:
    """What a stored blob is: its SHA-256 (hex) and size in bytes."""

    sha256: str
    size: int


def _check_digest(sha256: str) -> str:
    if not _HEX64.fullmatch(sha256):
        msg = f"not a SHA-256 hex digest: {sha256[:80]!r}"
        raise InvalidInput(msg, code="bad-digest")
    return sha256


def _chunks(source: BinaryIO | Iterable[bytes]) -> Iterator[bytes]:
    if isinstance(source, (bytes, bytearray)):
        msg = "pass bytes as [data] or io.BytesIO(data)"
        raise TypeError(msg)
    if hasattr(source, "read"):
        while chunk := source.read(CHUNK):
            yield chunk
    else:
        yield from source


@runtime_checkable
class BlobStore(Protocol):
    """Where sealbid keeps large immutable byte strings."""

    def put(self, source: BinaryIO | Iterable[bytes], *, expected_sha256: str | None = None) -> BlobRef:
        """Store the bytes from ``source``; refuse them if ``expected_sha256`` does not match."""
        ...

    def adopt(self, path: Path, *, sha256: str) -> BlobRef:
        """Move the finished file at ``path`` into the store as the blob ``sha256``.

        For callers that hashed the bytes in the same pass that wrote them (an upload that hashes
        its chunks as they arrive, the opening that writes a verified package): the store takes the
        file without reading it again. The caller vouches for ``sha256``; ``path`` is gone afterwards
        (moved in, or removed when the blob was already stored). Raises NotFound if ``path`` does
        not exist.
        """
        ...

    def open(self, sha256: str) -> BinaryIO:
        """A readable binary stream of the blob (raises NotFound)."""
        ...

    def exists(self, sha256: str) -> bool:
        """Whether the blob is stored."""
        ...

    def size(self, sha256: str) -> int:
        """The blob's size in bytes (raises NotFound)."""
        ...

    def ping(self) -> None:
        """Raise if the store cannot accept writes."""
        ...


class FilesystemBlobStore:
    """Blobs as files under ``root/ab/cd/<sha256>``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._tmp = root / "tmp"
        self._tmp.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        _check_digest(sha256)
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def put(self, source: BinaryIO | Iterable[bytes], *, expected_sha256: str | None = None) -> BlobRef:
        """Stream ``source`` to a temporary file, fsync, verify, then rename into place."""
        if expected_sha256 is not None:
            _check_digest(expected_sha256)
        digest = hashlib.sha256()
        size = 0
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="put-")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as out:
                for chunk in _chunks(source):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha = digest.hexdigest()
            if expected_sha256 is not None and sha != expected_sha256:
                msg = f"content hash {sha} does not match the expected {expected_sha256}"
                raise InvalidInput(msg, code="digest-mismatch")
            final = self._path(sha)
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                tmp.unlink()
            else:
                tmp.replace(final)
                _fsync_dir(final.parent)
            return BlobRef(sha, size)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise

    def adopt(self, path: Path, *, sha256: str) -> BlobRef:
        """Fsync ``path``, rename it into place and fsync the directories on the way.

        A file on another file system is copied into the store's temporary directory first (the
        rename must stay atomic), so the blob is complete or absent, never partial.
        """
        final = self._path(sha256)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no file to adopt at {path}", code="blob-source-missing") from None
        if final.exists():
            path.unlink()
            return BlobRef(sha256, final.stat().st_size)
        _fsync_file(path)
        self._make_parents(final)
        try:
            path.replace(final)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            self._adopt_across_devices(path, final)
        _fsync_dir(final.parent)
        return BlobRef(sha256, size)

    def _make_parents(self, final: Path) -> None:
        for parent in (final.parent.parent, final.parent):
            if not parent.is_dir():
                parent.mkdir(parents=True, exist_ok=True)
                _fsync_dir(parent.parent)

    def _adopt_across_devices(self, path: Path, final: Path) -> None:
        fd, tmp_name = tempfile.mkstemp(dir=self._tmp, prefix="adopt-")
        tmp = Path(tmp_name)
        try:
            with path.open("rb") as src, os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(src, out, CHUNK)
                out.flush()
                os.fsync(out.fileno())
            tmp.replace(final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        path.unlink()

    def open(self, sha256: str) -> BinaryIO:
        """Open the blob for streaming reads."""
        try:
            return self._path(sha256).open("rb")
        except FileNotFoundError:
            raise NotFound(f"no blob {sha256}", code="blob-not-found") from None

    def exists(self, sha256: str) -> bool:
        """Whether the blob file exists."""
        return self._path(sha256).is_file()

    def size(self, sha256: str) -> int:
        """The blob's size."""
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError:
            raise NotFound(f"no blob {sha256}", code="blob-not-found") from None

    def ping(self) -> None:
        """Check the store is writable by writing and removing a probe file."""
        fd, name = tempfile.mkstemp(dir=self._tmp, prefix="ping-")
        os.close(fd)
        Path(name).unlink()


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class MemoryBlobStore:
    """Blobs in a dict; for tests only."""

    def __init__(self) -> None:
        self._blobs: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def put(self, source: BinaryIO | Iterable[bytes], *, expected_sha256: str | None = None) -> BlobRef:
        """Store the bytes in memory."""
        if expected_sha256 is not None:
            _check_digest(expected_sha256)
        data = b"".join(_chunks(source))
        sha = hashlib.sha256(data).hexdigest()
        if expected_sha256 is not None and sha != expected_sha256:
            msg = f"content hash {sha} does not match the expected {expected_sha256}"
            raise InvalidInput(msg, code="digest-mismatch")
        with self._lock:
            self._blobs.setdefault(sha, data)
        return BlobRef(sha, len(data))

    def adopt(self, path: Path, *, sha256: str) -> BlobRef:
        """Read ``path`` into memory, check it really is ``sha256`` and remove the file.

        The check makes a caller that vouches for a wrong digest fail its tests here.
        """
        _check_digest(sha256)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise NotFound(f"no file to adopt at {path}", code="blob-source-missing") from None
        actual = hashlib.sha256(data).hexdigest()
        if actual != sha256:
            msg = f"content hash {actual} does not match the vouched {sha256}"
            raise InvalidInput(msg, code="digest-mismatch")
        with self._lock:
            self._blobs.setdefault(sha256, data)
        path.unlink()
        return BlobRef(sha256, len(data))

    def open(self, sha256: str) -> BinaryIO:
        """A BytesIO over the blob."""
        _check_digest(sha256)
        with self._lock:
            data = self._blobs.get(sha256)
        if data is None:
            raise NotFound(f"no blob {sha256}", code="blob-not-found")
        return io.BytesIO(data)

    def exists(self, sha256: str) -> bool:
        """Whether the blob is held."""
        _check_digest(sha256)
        return sha256 in self._blobs

    def size(self, sha256: str) -> int:
        """The blob's size."""
        with self.open(sha256) as f:
            return len(f.getvalue()) if isinstance(f, io.BytesIO) else 0

    def ping(self) -> None:
        """Always ready."""
