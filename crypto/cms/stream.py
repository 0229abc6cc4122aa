"""Incremental BER reading under limits, and the few DER writing helpers the streaming writers need.

:class:`BerReader` walks a binary stream one TLV header at a time, so an envelope or a SignedData of
any size is parsed without holding it in memory. It accepts BER (definite and indefinite lengths,
constructed strings) because other tools emit it (``openssl cms -stream``), and it enforces
:class:`Limits`: no element may end beyond ``max_size``, no structural element that is read into
memory may exceed ``max_metadata``, nesting is capped at ``max_depth``, and every child must fit in
its parent. Violations raise :class:`~crypto.cms.errors.MalformedCms` or
:class:`~crypto.cms.errors.LimitExceeded`, never anything else. The DER writing helpers are in
:mod:`crypto.cms.der`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, Final

from crypto.cms.errors import LimitExceeded, MalformedCms

__all__ = [
    "CONTEXT",
    "UNIVERSAL",
    "BerReader",
    "Header",
    "Limits",
]

UNIVERSAL: Final = 0
CONTEXT: Final = 2

TAG_INTEGER: Final = 2
TAG_OCTET_STRING: Final = 4
TAG_OID: Final = 6
TAG_SEQUENCE: Final = 16
TAG_SET: Final = 17

_MAX_LENGTH_OCTETS: Final = 8
_MAX_TAG_OCTETS: Final = 4


@dataclass(frozen=True, slots=True)
class Limits:
    """Bounds applied to untrusted input.

    ``max_size``: no element may end beyond this offset (bytes) of the input.
    ``max_metadata``: largest structural element read into memory (recipient infos, certificates,
    signer infos, attributes). ``max_depth``: deepest nesting of constructed elements.
    ``chunk_size``: how much content is read, hashed or decrypted at a time.
    """

    max_size: int = 1 << 36
    max_metadata: int = 4 << 20
    max_depth: int = 32
    chunk_size: int = 1 << 20

    def __post_init__(self) -> None:
        if min(self.max_size, self.max_metadata, self.max_depth, self.chunk_size) < 1:
            raise ValueError("limits must be positive")


@dataclass(frozen=True, slots=True)
class Header:
    """One parsed identifier + length; ``length`` is ``None`` for the indefinite form."""

    offset: int
    tag_class: int
    constructed: bool
    tag: int
    length: int | None
    raw: bytes

    @property
    def content_offset(self) -> int:
        """Offset of the first content octet."""
        return self.offset + len(self.raw)

    @property
    def end(self) -> int | None:
        """Offset just past the element (``None`` for indefinite length)."""
        return None if self.length is None else self.content_offset + self.length

    @property
    def is_eoc(self) -> bool:
        """Whether this is an end-of-contents marker (``00 00``)."""
        return self.tag_class == UNIVERSAL and self.tag == 0 and not self.constructed and self.length == 0

    def is_(self, tag_class: int, tag: int, *, constructed: bool | None = None) -> bool:
        """Whether the element has this class and tag (and constructed form, if given)."""
        return (
            self.tag_class == tag_class
            and self.tag == tag
            and (constructed is None or self.constructed == constructed)
        )

    def describe(self) -> str:
        """A short human description for error messages, e.g. ``[0] constructed at 17``."""
        cls = {0: "", 1: "APPLICATION ", 2: "", 3: "PRIVATE "}[self.tag_class]
        tag = f"[{self.tag}]" if self.tag_class == CONTEXT else f"{cls}tag {self.tag}"
        form = "constructed" if self.constructed else "primitive"
        return f"{tag} {form} at offset {self.offset}"


class BerReader:
    """Reads BER elements from a binary stream, tracking nesting, position and limits."""

    def __init__(self, stream: BinaryIO, limits: Limits | None = None) -> None:
        self._stream = stream
        self.limits = limits or Limits()
        self._pos = 0
        self._open: list[int | None] = []
        self._pending: Header | None = None
        try:
            self.seekable = bool(stream.seekable())
            self._base = stream.tell() if self.seekable else 0
        except (OSError, ValueError, AttributeError):
            self.seekable, self._base = False, 0

    @property
    def position(self) -> int:
        """Offset (relative to where reading started) of the next unread byte."""
        return self._pos if self._pending is None else self._pending.offset

    @property
    def depth(self) -> int:
        """How many constructed elements are currently entered."""
        return len(self._open)

    # -- low level -------------------------------------------------------------------------------

    def _read(self, n: int) -> bytes:
        if self._pos + n > self.limits.max_size:
            raise LimitExceeded(f"input exceeds the maximum size of {self.limits.max_size} bytes")
        data = self._stream.read(n) if n else b""
        if data is None or len(data) < n:
            # A raw stream may return short reads; keep reading until EOF.
            parts = [data or b""]
            got = len(parts[0])
            while got < n:
                more = self._stream.read(n - got)
                if not more:
                    raise MalformedCms(f"truncated input: expected {n} bytes at offset {self._pos}")
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        self._pos += n
        return data

    def _byte(self) -> int:
        return self._read(1)[0]

    def at_eof(self) -> bool:
        """Whether the stream has no more bytes (consumes nothing if it has)."""
        if self._pending is not None:
            return False
        if self.seekable:
            here = self._stream.tell()
            more = self._stream.read(1)
            self._stream.seek(here)
            return not more
        peek = getattr(self._stream, "peek", None)
        if peek is not None:
            return not peek(1)
        raise MalformedCms("cannot test for trailing data on this stream")  # pragma: no cover

    # -- headers ---------------------------------------------------------------------------------

    def read_header(self) -> Header:
        """Parse the next identifier and length octets, checking them against the limits."""
        if self._pending is not None:
            header, self._pending = self._pending, None
            return header
        offset = self._pos
        raw = bytearray()
        first = self._byte()
        raw.append(first)
        tag_class, constructed, tag = first >> 6, bool(first & 0x20), first & 0x1F
        if tag == 0x1F:
            tag = 0
            for count in range(_MAX_TAG_OCTETS + 1):
                if count == _MAX_TAG_OCTETS:
                    raise MalformedCms(f"tag number too long at offset {offset}")
                octet = self._byte()
                raw.append(octet)
                tag = (tag << 7) | (octet & 0x7F)
                if not octet & 0x80:
                    break
        first_len = self._byte()
        raw.append(first_len)
        length: int | None
        if first_len < 0x80:
            length = first_len
        elif first_len == 0x80:
            if not constructed:
                raise MalformedCms(f"indefinite length on a primitive element at offset {offset}")
            length = None
        else:
            count = first_len & 0x7F
            if count > _MAX_LENGTH_OCTETS:
                raise LimitExceeded(f"length field of {count} octets at offset {offset}")
            octets = self._read(count)
            raw += octets
            length = int.from_bytes(octets, "big")
        header = Header(offset, tag_class, constructed, tag, length, bytes(raw))
        end = header.end
        if end is not None:
            if end > self.limits.max_size:
                raise LimitExceeded(
                    f"element at offset {offset} declares {length} bytes, beyond the maximum size "
                    f"of {self.limits.max_size}"
                )
            parent_end = self._parent_end()
            if parent_end is not None and end > parent_end:
                raise MalformedCms(f"element at offset {offset} overruns its enclosing element")
        if header.is_eoc and not self._open:
            raise MalformedCms(f"unexpected end-of-contents at offset {offset}")
        return header

    def _parent_end(self) -> int | None:
        for end in reversed(self._open):
            if end is not None:
                return end
        return None

    def peek_header(self) -> Header | None:
        """The next header inside the current element without consuming it; ``None`` at its end."""
        header = self.next_child()
        if header is not None:
            self._pending = header
        return header

    def next_child(self) -> Header | None:
        """The next element of the current constructed element, or ``None`` (consumed) at its end."""
        if not self._open:
            return self.read_header()
        end = self._open[-1]
        if end is not None and self._pending is None and self._pos == end:
            self._open.pop()
            return None
        header = self.read_header()
        if header.is_eoc:
            if end is not None:
                raise MalformedCms(f"end-of-contents inside a definite-length element at {header.offset}")
            self._open.pop()
            return None
        return header

    def expect(self, tag_class: int, tag: int, *, constructed: bool | None = None, what: str) -> Header:
        """Read the next child and insist on its class and tag; ``what`` names it in errors."""
        header = self.next_child()
        if header is None:
            raise MalformedCms(f"{what} is missing")
        if not header.is_(tag_class, tag, constructed=constructed):
            raise MalformedCms(f"expected {what}, found {header.describe()}")
        return header

    def enter(self, header: Header) -> None:
        """Step into a constructed element; its children are then read with :meth:`next_child`."""
        if not header.constructed:
            raise MalformedCms(f"expected a constructed element, found {header.describe()}")
        if len(self._open) >= self.limits.max_depth:
            raise LimitExceeded(f"nesting deeper than {self.limits.max_depth} levels")
        self._open.append(header.end)

    def leave(self, what: str) -> None:
        """Finish the current element: it must have no further children."""
        header = self.next_child()
        if header is not None:
            raise MalformedCms(f"unexpected {header.describe()} at the end of {what}")

    # -- values ----------------------------------------------------------------------------------

    def read_primitive(self, header: Header, *, cap: int | None = None, what: str) -> bytes:
        """The content octets of a primitive element (at most ``cap`` or ``max_metadata`` bytes)."""
        if header.constructed or header.length is None:
            raise MalformedCms(f"{what}: expected a primitive element, found {header.describe()}")
        limit = self.limits.max_metadata if cap is None else cap
        if header.length > limit:
            raise LimitExceeded(f"{what} is {header.length} bytes, more than the limit of {limit}")
        return self._read(header.length)

    def read_element(self, header: Header, *, cap: int | None = None, what: str) -> bytes:
        """The complete encoding (header included) of an element, for parsing in memory."""
        limit = self.limits.max_metadata if cap is None else cap
        if header.length is not None:
            if len(header.raw) + header.length > limit:
                raise LimitExceeded(f"{what} is {header.length} bytes, more than the limit of {limit}")
            return header.raw + self._read(header.length)
        out = bytearray(header.raw)
        self._collect_indefinite(out, limit, what)
        return bytes(out)

    def _collect_indefinite(self, out: bytearray, limit: int, what: str) -> None:
        self._open.append(None)
        if len(self._open) > self.limits.max_depth:
            raise LimitExceeded(f"nesting deeper than {self.limits.max_depth} levels")
        while True:
            header = self.read_header()
            out += header.raw
            if header.is_eoc:
                self._open.pop()
                return
            if len(out) > limit:
                raise LimitExceeded(f"{what} is larger than the limit of {limit} bytes")
            if header.length is None:
                self._collect_indefinite(out, limit, what)
            else:
                if len(out) + header.length > limit:
                    raise LimitExceeded(f"{what} is larger than the limit of {limit} bytes")
                out += self._read(header.length)

    def skip(self, header: Header) -> None:
        """Pass over an element of any size without keeping it (seeking where possible)."""
        if header.length is None:
            self.enter(header)
            while (child := self.next_child()) is not None:
                self.skip(child)
            return
        if self.seekable and header.length > 4096:
            if header.content_offset + header.length > self.limits.max_size:  # pragma: no cover
                raise LimitExceeded("element beyond the maximum size")
            self._stream.seek(self._base + header.content_offset + header.length)
            self._pos = header.content_offset + header.length
            if self._stream.tell() != self._base + self._pos:  # pragma: no cover
                raise MalformedCms("seek failed")
            return
        remaining = header.length
        while remaining:
            step = min(remaining, self.limits.chunk_size)
            self._read(step)
            remaining -= step

    def octet_chunks(self, header: Header, *, what: str) -> Iterator[bytes]:
        """The value of an OCTET STRING (primitive, or constructed of OCTET STRING segments) in chunks.

        The tag of ``header`` itself is not checked (it may be an IMPLICIT context tag); nested
        segments must be universal OCTET STRINGs. The iterator must be consumed completely.
        """
        if not header.constructed:
            if header.length is None:  # pragma: no cover - rejected by read_header
                raise MalformedCms(f"{what}: primitive element with indefinite length")
            remaining = header.length
            while remaining:
                step = min(remaining, self.limits.chunk_size)
                yield self._read(step)
                remaining -= step
            return
        self.enter(header)
        while (child := self.next_child()) is not None:
            if not child.is_(UNIVERSAL, TAG_OCTET_STRING):
                raise MalformedCms(f"{what}: segment is not an OCTET STRING ({child.describe()})")
            yield from self.octet_chunks(child, what=what)

    def skip_octets(self, header: Header, *, what: str) -> int:
        """Pass over an OCTET STRING value (validating segments); returns its length in bytes."""
        if not header.constructed:
            self.skip(header)
            return header.length or 0
        total = 0
        self.enter(header)
        while (child := self.next_child()) is not None:
            if not child.is_(UNIVERSAL, TAG_OCTET_STRING):
                raise MalformedCms(f"{what}: segment is not an OCTET STRING ({child.describe()})")
            total += self.skip_octets(child, what=what)
        return total

    def seek_to(self, offset: int) -> None:
        """Reposition a seekable stream at ``offset`` with no element open (for a second pass)."""
        if not self.seekable:
            raise MalformedCms("the input stream is not seekable")
        self._stream.seek(self._base + offset)
        self._pos, self._open, self._pending = offset, [], None
