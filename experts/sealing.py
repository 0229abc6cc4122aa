"""Sealing of drawn lists and draw secrets: AES-256-GCM behind a small key Protocol.

The default :class:`FileListKey` reads 32 raw bytes from ``settings.experts.sealed_list_key_file``
(default ``data_dir/keys/experts-list.key``), creating it outside production; production refuses to
start sealing without the file. A KMS-backed implementation of :class:`ListKey` can replace it.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tendering.errors import SealbidError
from tendering.settings import Settings

KEY_BYTES: Final = 32
NONCE_BYTES: Final = 12


class SealingError(SealbidError):
    """The list key is missing, malformed, or a sealed item does not open with it."""

    status = 500
    default_code = "expert-list-key"
    title = "Sealed list unavailable"


@dataclass(frozen=True)
class Sealed:
    """A sealed item: the id of the key that sealed it, the nonce and the ciphertext (with its tag)."""

    key_id: str
    nonce: bytes
    ciphertext: bytes

    def to_bytes(self) -> bytes:
        """One byte string: key id length, key id, nonce, ciphertext."""
        key = self.key_id.encode("ascii")
        return bytes([len(key)]) + key + self.nonce + self.ciphertext

    @classmethod
    def from_bytes(cls, data: bytes) -> Sealed:
        """The inverse of :meth:`to_bytes`."""
        size = data[0]
        key = data[1 : 1 + size].decode("ascii")
        nonce = data[1 + size : 1 + size + NONCE_BYTES]
        return cls(key, nonce, data[1 + size + NONCE_BYTES :])


class ListKey(Protocol):
    """Seals and opens confidential expert data, binding each item to its context (``aad``)."""

    def seal(self, plaintext: bytes, aad: bytes) -> Sealed:
        """Encrypt ``plaintext`` bound to ``aad``."""
        ...

    def open(self, sealed: Sealed, aad: bytes) -> bytes:
        """Decrypt; :class:`SealingError` when the key or ``aad`` do not match."""
        ...


class FileListKey:
    """An AES-256-GCM key kept in a file only the service can read."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SealingError(f"the expert list key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self.key_id = hashlib.sha256(b"sealbid.experts.list-key\x00" + key).hexdigest()[:16]

    def seal(self, plaintext: bytes, aad: bytes) -> Sealed:
        """Encrypt ``plaintext`` bound to ``aad`` with a fresh random nonce."""
        nonce = secrets.token_bytes(NONCE_BYTES)
        return Sealed(self.key_id, nonce, self._aead.encrypt(nonce, plaintext, aad))

    def open(self, sealed: Sealed, aad: bytes) -> bytes:
        """Decrypt ``sealed``; SealingError if it was sealed with another key or for another context."""
        if sealed.key_id != self.key_id:
            raise SealingError(f"item sealed with key {sealed.key_id}, this service holds {self.key_id}")
        try:
            return self._aead.decrypt(sealed.nonce, sealed.ciphertext, aad)
        except InvalidTag as exc:
            raise SealingError("sealed item does not open (tampered, or sealed for another context)") from exc


def key_file(settings: Settings) -> Path:
    """Where the list key lives."""
    return settings.experts.sealed_list_key_file or settings.data_dir / "keys" / "experts-list.key"


def _create(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        path.parent.chmod(0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process created it first
    with os.fdopen(fd, "wb") as handle:
        handle.write(secrets.token_bytes(KEY_BYTES))
        handle.flush()
        os.fsync(handle.fileno())


_cache: dict[Path, FileListKey] = {}
_lock = threading.Lock()


def load_list_key(settings: Settings) -> ListKey:
    """The list key of this deployment (created on first use, except in production)."""
    path = key_file(settings)
    with _lock:
        cached = _cache.get(path)
        if cached is not None:
            return cached
        if not path.exists():
            if settings.environment == "production":
                raise SealingError(
                    f"the expert list key {path} does not exist; production never creates one "
                    "(generate 32 random bytes once, back them up, set experts.sealed_list_key_file)"
                )
            _create(path)
        try:
            key = FileListKey(path.read_bytes())
        except OSError as exc:
            raise SealingError(f"cannot read the expert list key {path}: {exc}") from exc
        _cache[path] = key
        return key
