"""Opening an AuthEnvelopedData with its content-encryption key (the bidder-decryption layer).

At the opening a bidder decrypts its own layer (Measures Art. 30) without giving the platform its
private key: its tool unwraps the layer's AES-256 content-encryption key (CEK) locally and sends only
that key, which opens this one envelope and nothing else. The platform then decrypts the layer
itself, so AES-GCM's tag proves the plaintext is exactly what was sealed before the deadline.

``crypto.cms`` opens envelopes with a recipient's private key only; this adapter reuses its streaming
reader's structure parsing (private helpers of :mod:`crypto.cms.envelope_reader`) with a given CEK.
"""

from __future__ import annotations

from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from crypto.cms import DecryptionError, Limits, MalformedCms
from crypto.cms.der import as_stream
from crypto.cms.envelope_reader import _check_mac, _read_head, _read_tail
from crypto.cms.stream import BerReader

_MIN_TAG = 12


def open_with_cek(source: BinaryIO, sink: BinaryIO, cek: bytes, *, limits: Limits | None = None) -> int:
    """Decrypt the seekable envelope ``source`` into ``sink`` with ``cek``; returns the content size.

    The sink's content is valid only if this returns (:class:`DecryptionError` on a wrong key or an
    altered envelope, :class:`MalformedCms` for a broken structure).
    """
    reader = BerReader(as_stream(source), limits)
    head = _read_head(reader)
    reader.skip_octets(head.content, what="encryptedContent")
    first_tail = _read_tail(reader)
    _check_mac(head, first_tail)
    if len(cek) != head.key_size:
        raise DecryptionError(f"the key is {len(cek)} bytes; this envelope needs {head.key_size}")
    reader.seek_to(0)
    head = _read_head(reader)
    decryptor = Cipher(algorithms.AES(cek), modes.GCM(head.nonce, min_tag_length=_MIN_TAG)).decryptor()
    if first_tail.auth_attrs_der is not None:
        decryptor.authenticate_additional_data(b"\x31" + first_tail.auth_attrs_der[1:])
    size = 0
    for chunk in reader.octet_chunks(head.content, what="encryptedContent"):
        size += len(chunk)
        sink.write(decryptor.update(chunk))
    tail = _read_tail(reader)
    if tail != first_tail:
        raise MalformedCms("the envelope changed while it was being read")
    try:
        sink.write(decryptor.finalize_with_tag(tail.mac))
    except InvalidTag:
        raise DecryptionError("the key does not open this envelope (authentication tag mismatch)") from None
    return size
