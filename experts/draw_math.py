"""The pure computation of a verifiable expert draw (no database): seed, order, hashes, selection.

Byte encodings (all hashes SHA-256, all HMACs HMAC-SHA256, ids are UUIDs as their 16 bytes, big-endian
as in RFC 9562; integers unsigned 32-bit big-endian):

- commitment = SHA-256(secret), ``secret`` 32 random bytes.
- seed = HMAC(key=secret, msg=checkpoint_root (32 bytes) || request_id (16 bytes)).
- sort key of an expert = HMAC(key=seed, msg=expert_id (16 bytes)); the order is ascending by sort key
  (then by id bytes, which never decides in practice).
- eligible-set hash = SHA-256(ELIGIBLE_DOMAIN || for each line in request order:
  u32(len(code)) || code (ASCII) || u32(n) || the n expert ids sorted ascending).
- drawn hash = SHA-256(DRAWN_DOMAIN || for each selected expert, lines in request order, members then
  reserves by rank: u32(line index) || u32(rank) || role byte (0x01 member, 0x02 reserve) || expert_id).

Selection: the global order is over the union of the lines' eligible sets. Line by line, in request
order, a line's sequence is the global order restricted to that line's eligible set minus the members
of earlier lines; its first ``count`` are the members (ranks 0..count-1). Then, line by line again, the
reserves are the next ``reserves`` experts of the line's sequence that are neither a member of any line
nor a reserve of an earlier line (their rank is their position in the sequence). Members come first so
that one line's reserves never starve a later line of members. A replacement takes the next expert of
the line's sequence after the highest rank used, not yet assigned in the request (and still eligible
when it is taken).
"""

from __future__ import annotations

import hashlib
import hmac
import struct
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

ELIGIBLE_DOMAIN: Final = b"sealbid.experts.eligible.v1\x00"
DRAWN_DOMAIN: Final = b"sealbid.experts.drawn.v1\x00"
SECRET_BYTES: Final = 32
ROLE_BYTES: Final = {"member": b"\x01", "reserve": b"\x02"}


class DrawShort(Exception):
    """A line has fewer eligible experts than it needs."""

    def __init__(self, line_index: int, specialty: str, needed: int, available: int) -> None:
        super().__init__(f"specialty {specialty}: {needed} needed, {available} eligible")
        self.line_index = line_index
        self.specialty = specialty
        self.needed = needed
        self.available = available


@dataclass(frozen=True)
class Line:
    """A line of the request: the specialty code, members wanted and reserves wanted."""

    specialty: str
    count: int
    reserves: int


@dataclass(frozen=True)
class Pick:
    """A selected expert: line index, rank in the line's sequence, member or reserve."""

    line_index: int
    rank: int
    role: str
    expert_id: uuid.UUID


def commitment(secret: bytes) -> str:
    """Hex SHA-256 of the secret (what the log holds before the reveal)."""
    return hashlib.sha256(secret).hexdigest()


def seed(secret: bytes, checkpoint_root: bytes, request_id: uuid.UUID) -> bytes:
    """HMAC-SHA256(secret, checkpoint_root || request_id bytes)."""
    if len(checkpoint_root) != 32:
        msg = "a checkpoint root is 32 bytes"
        raise ValueError(msg)
    return hmac.new(secret, checkpoint_root + request_id.bytes, hashlib.sha256).digest()


def sort_key(seed_bytes: bytes, expert_id: uuid.UUID) -> bytes:
    """HMAC-SHA256(seed, expert id bytes)."""
    return hmac.new(seed_bytes, expert_id.bytes, hashlib.sha256).digest()


def order(seed_bytes: bytes, expert_ids: Iterable[uuid.UUID]) -> list[uuid.UUID]:
    """The experts sorted by their sort keys (duplicates removed; input order does not matter)."""
    keyed = [(sort_key(seed_bytes, e), e.bytes, e) for e in set(expert_ids)]
    keyed.sort(key=lambda item: (item[0], item[1]))
    return [item[2] for item in keyed]


def _u32(value: int) -> bytes:
    return struct.pack(">I", value)


def eligible_hash(lines: Sequence[Line], eligible: Sequence[Iterable[uuid.UUID]]) -> str:
    """Hex hash of the per-line eligible sets (each sorted here, so input order does not matter)."""
    digest = hashlib.sha256(ELIGIBLE_DOMAIN)
    for line, ids in zip(lines, eligible, strict=True):
        code = line.specialty.encode("ascii")
        sorted_ids = sorted({e.bytes for e in ids})
        digest.update(_u32(len(code)) + code + _u32(len(sorted_ids)))
        for raw in sorted_ids:
            digest.update(raw)
    return digest.hexdigest()


def drawn_hash(picks: Sequence[Pick]) -> str:
    """Hex hash of the initial selection (members and reserves of every line)."""
    digest = hashlib.sha256(DRAWN_DOMAIN)
    for pick in sorted(picks, key=lambda p: (p.line_index, p.rank)):
        digest.update(_u32(pick.line_index) + _u32(pick.rank) + ROLE_BYTES[pick.role] + pick.expert_id.bytes)
    return digest.hexdigest()


def line_sequences(
    global_order: Sequence[uuid.UUID], lines: Sequence[Line], eligible: Sequence[Iterable[uuid.UUID]]
) -> list[list[uuid.UUID]]:
    """Each line's sequence: the global order restricted to its eligible set, minus the members of
    earlier lines (a line's members are the first ``count`` of its sequence)."""
    members: set[uuid.UUID] = set()
    sequences: list[list[uuid.UUID]] = []
    for line, ids in zip(lines, eligible, strict=True):
        allowed = set(ids)
        sequence = [e for e in global_order if e in allowed and e not in members]
        sequences.append(sequence)
        members.update(sequence[: line.count])
    return sequences


def select(
    seed_bytes: bytes, lines: Sequence[Line], eligible: Sequence[Iterable[uuid.UUID]]
) -> tuple[list[Pick], list[list[uuid.UUID]]]:
    """The initial picks and every line's full sequence; :class:`DrawShort` if a line lacks members.

    A line with enough experts for its members but not all its reserves gets fewer reserves.
    """
    materialised = [list(ids) for ids in eligible]
    union: set[uuid.UUID] = set()
    for ids in materialised:
        union.update(ids)
    sequences = line_sequences(order(seed_bytes, union), lines, materialised)
    picks: list[Pick] = []
    for index, (line, sequence) in enumerate(zip(lines, sequences, strict=True)):
        if len(sequence) < line.count:
            raise DrawShort(index, line.specialty, line.count, len(sequence))
        picks.extend(Pick(index, rank, "member", sequence[rank]) for rank in range(line.count))
    taken = {pick.expert_id for pick in picks}
    for index, (line, sequence) in enumerate(zip(lines, sequences, strict=True)):
        wanted = line.reserves
        for rank in range(line.count, len(sequence)):
            if wanted == 0:
                break
            if sequence[rank] in taken:
                continue
            picks.append(Pick(index, rank, "reserve", sequence[rank]))
            taken.add(sequence[rank])
            wanted -= 1
    return picks, sequences


def pack_ids(ids: Iterable[uuid.UUID]) -> bytes:
    """The ids sorted ascending, concatenated as 16-byte strings (storage of an eligible set)."""
    return b"".join(sorted({e.bytes for e in ids}))


def unpack_ids(data: bytes) -> list[uuid.UUID]:
    """The inverse of :func:`pack_ids`."""
    return [uuid.UUID(bytes=data[i : i + 16]) for i in range(0, len(data), 16)]
