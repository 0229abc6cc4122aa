"""Helpers shared by the transparency-log tests."""

from __future__ import annotations

import hashlib

from sqlalchemy import select

from crypto.merkle import MemoryNodeStore
from tendering.platform import Platform
from tendering.translog import LogActor, LogEvent
from tendering.translog.models import LogEntry


def bid_event(n: int, tender: str = "t-0001") -> LogEvent:
    """A bid-submitted event carrying only a hash, by a tenderer (never named)."""
    return LogEvent(
        "bid.submitted",
        LogActor("tenderer", f"identity-{n}", f"10.0.{n % 250}.{n % 7}"),
        tender,
        {"envelope_sha256": hashlib.sha256(f"envelope {n}".encode()).hexdigest(), "lots": ["1"]},
    )


def submit_committed(platform: Platform, count: int, start: int = 0) -> list[int]:
    """Submit ``count`` events, each in its own committed transaction; return the pending ids."""
    ids = []
    for n in range(start, start + count):
        with platform.transaction() as session:
            ids.append(platform.translog.submit(session, bid_event(n)).pending_id)
    return ids


def all_entries(platform: Platform) -> list[tuple[int, bytes, bytes]]:
    """Every row of log_entries as (index, entry, leaf hash), in index order."""
    with platform.session_factory() as session:
        rows = session.execute(
            select(LogEntry.leaf_index, LogEntry.entry, LogEntry.leaf_hash).order_by(LogEntry.leaf_index)
        ).all()
    return [(row[0], bytes(row[1]), bytes(row[2])) for row in rows]


def memory_tree(entries: list[bytes]) -> MemoryNodeStore:
    """The tree of ``entries`` built in memory, one entry at a time."""
    store = MemoryNodeStore()
    for entry in entries:
        store.append_entries([entry])
    return store


def submit_batch(platform: Platform, count: int, start: int = 0) -> None:
    """Submit ``count`` events in one committed transaction."""
    with platform.transaction() as session:
        platform.translog.submit_many(session, [bid_event(n) for n in range(start, start + count)])
