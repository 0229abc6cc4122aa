"""Reading the plaintext of an AuthEnvelopedData as a stream, decrypted as it is read.

:func:`decrypting_reader` checks the structure, unwraps the content-encryption key and returns a
buffered binary stream (with ``peek``) whose bytes are the decrypted content, so a consumer such as
the SignedData reader parses the plaintext in the same pass that decrypts it, without a spool file.

**GCM authenticates only at the end.** Every byte read is provisional until the stream has reached
its end: the last read (or :meth:`DecryptedContent.drain`) checks the tag and raises
:class:`~crypto.cms.errors.DecryptionError` on a mismatch. A consumer must therefore read to the end
(or drain) before it trusts, keeps or reports anything it derived from the bytes, and discard it all
when the stream failed. :attr:`DecryptedContent.failure` tells the envelope's own failure (altered
ciphertext, truncated envelope, wrong structure after the content) apart from the consumer's.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO, Final

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from crypto.cms.envelope_reader import (
    _MIN_TAG,
    EnvelopeInfo,
    _check_mac,
    _Head,
    _info,
    _read_tail,
    _Tail,
    prepare_envelope,
)
from crypto.cms.errors import CmsError, DecryptionError, MalformedCms, UnsupportedCms
from crypto.cms.recipients import DecryptionKey, unwrap_cek
from crypto.cms.stream import BerReader, Limits

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

__all__ = ["DecryptedContent", "content_of", "decrypting_reader", "decrypting_reader_with_cek"]

_BUFFER: Final = 1 << 16


class DecryptedContent(io.RawIOBase):
    """The raw plaintext stream (wrap it in :class:`io.BufferedReader`; the factories do).

    ``readinto`` fills the whole buffer unless the content ends, so a ``peek`` of a few bytes always
    sees them. ``finished`` is True once the tag has verified; ``failure`` holds the envelope error
    that stopped the stream, if any (it is raised again by every later read).
    """

    def __init__(self, reader: BerReader, head: _Head, first_tail: _Tail | None, decryptor: Any) -> None:
        super().__init__()
        self._reader = reader
        self._head = head
        self._first_tail = first_tail
        self._decryptor = decryptor
        self._chunks: Iterator[bytes] = reader.octet_chunks(head.content, what="encryptedContent")
        self._pending = memoryview(b"")
        self.content_size = 0
        self.finished = False
        self.failure: CmsError | None = None
        self.info: EnvelopeInfo | None = None

    def readable(self) -> bool:
        """Always readable."""
        return True

    def readinto(self, buffer: WriteableBuffer) -> int:
        """Fill ``buffer`` with plaintext; 0 only at the (authenticated) end."""
        if self.failure is not None:
            raise self.failure
        view = memoryview(buffer).cast("B")
        filled = 0
        try:
            while filled < len(view):
                if not self._pending:
                    if self.finished:
                        break
                    self._next()
                    continue
                step = min(len(self._pending), len(view) - filled)
                view[filled : filled + step] = self._pending[:step]
                self._pending = self._pending[step:]
                filled += step
        except CmsError as exc:
            self.failure = exc
            raise
        return filled

    def _next(self) -> None:
        """Decrypt the next ciphertext chunk into ``_pending``; at the end, check the tag."""
        chunk = next(self._chunks, None)
        if chunk is None:
            self._finish()
            return
        self.content_size += len(chunk)
        self._pending = memoryview(self._decryptor.update(chunk))

    def _finish(self) -> None:
        tail = _read_tail(self._reader)
        _check_mac(self._head, tail)
        if self._first_tail is None and tail.auth_attrs_der is not None:
            raise UnsupportedCms(
                "authenticated attributes need a seekable source (the AAD precedes the content)"
            )
        if self._first_tail is not None and tail != self._first_tail:
            raise MalformedCms("the envelope changed while it was being read")
        try:
            rest = self._decryptor.finalize_with_tag(tail.mac)
        except InvalidTag:
            raise DecryptionError(
                "authentication tag mismatch: the envelope was altered or the key is wrong"
            ) from None
        self._pending = memoryview(rest)
        self.finished = True
        self.info = _info(self._head, tail, self.content_size)

    def drain(self) -> int:
        """Read (and discard) the rest of the plaintext, checking the tag; returns the bytes skipped.

        Raises the envelope's :class:`~crypto.cms.errors.CmsError` if it does not verify.
        """
        if self.failure is not None:
            raise self.failure
        skipped = 0
        try:
            while True:
                skipped += len(self._pending)
                self._pending = memoryview(b"")
                if self.finished:
                    return skipped
                self._next()
        except CmsError as exc:
            self.failure = exc
            raise


def _stream(reader: BerReader, head: _Head, first_tail: _Tail | None, cek: bytes) -> io.BufferedReader:
    decryptor = Cipher(algorithms.AES(cek), modes.GCM(head.nonce, min_tag_length=_MIN_TAG)).decryptor()
    if first_tail is not None and first_tail.auth_attrs_der is not None:
        decryptor.authenticate_additional_data(b"\x31" + first_tail.auth_attrs_der[1:])
    return io.BufferedReader(DecryptedContent(reader, head, first_tail, decryptor), _BUFFER)


def decrypting_reader(
    source: BinaryIO | bytes,
    certificate: x509.Certificate,
    private_key: DecryptionKey,
    *,
    limits: Limits | None = None,
    allow_rsa_pkcs1v15: bool = False,
) -> io.BufferedReader:
    """The envelope's plaintext as a buffered stream; its ``.raw`` is the :class:`DecryptedContent`.

    The structure is checked first (a seekable source is skipped over once) and the key unwrapped,
    raising :class:`~crypto.cms.errors.NotARecipient`, :class:`~crypto.cms.errors.DecryptionError` or
    :class:`~crypto.cms.errors.MalformedCms` right away; later failures come from the reads.
    """
    reader, head, first_tail = prepare_envelope(source, limits)
    cek = unwrap_cek(
        head.infos, certificate, private_key, key_size=head.key_size, allow_rsa_pkcs1v15=allow_rsa_pkcs1v15
    )
    return _stream(reader, head, first_tail, cek)


def decrypting_reader_with_cek(
    source: BinaryIO | bytes, cek: bytes, *, limits: Limits | None = None
) -> io.BufferedReader:
    """:func:`decrypting_reader` with the content-encryption key itself (no RecipientInfo is used)."""
    reader, head, first_tail = prepare_envelope(source, limits)
    if len(cek) != head.key_size:
        raise DecryptionError(f"the key is {len(cek)} bytes; this envelope needs {head.key_size}")
    return _stream(reader, head, first_tail, cek)


def content_of(stream: io.BufferedReader) -> DecryptedContent:
    """The :class:`DecryptedContent` under a stream made by :func:`decrypting_reader`."""
    raw = stream.raw
    assert isinstance(raw, DecryptedContent)
    return raw
