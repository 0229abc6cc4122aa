"""DER writing helpers for the streaming writers (which compute every length up front)."""

from __future__ import annotations

import io
from typing import BinaryIO

__all__ = ["as_stream", "der_header", "der_length", "der_tlv"]


def der_length(length: int) -> bytes:
    """DER length octets for ``length``."""
    if length < 0:
        raise ValueError("negative length")
    if length < 0x80:
        return bytes([length])
    octets = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(octets)]) + octets


def der_header(identifier: int, length: int) -> bytes:
    """Identifier octet (low-tag-number form) plus DER length."""
    return bytes([identifier]) + der_length(length)


def der_tlv(identifier: int, content: bytes) -> bytes:
    """A complete DER element."""
    return der_header(identifier, len(content)) + content


def as_stream(data: bytes | bytearray | memoryview | BinaryIO) -> BinaryIO:
    """Wrap in-memory bytes in a stream; streams are returned unchanged."""
    if isinstance(data, bytes | bytearray | memoryview):
        return io.BytesIO(bytes(data))
    return data
