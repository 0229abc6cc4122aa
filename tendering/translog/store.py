"""Database access of the log: the perfect-node store and the one-transaction batch sequencer.

The sequencer holds an exclusive lock for its whole transaction: on PostgreSQL a transaction-level
advisory lock, on SQLite the database write lock, taken by a no-op write as the first statement (a
deferred SQLite transaction that read first could not upgrade to a writer once another had committed).
Under the lock it reads the latest checkpoint (size and root), takes up to ``max_batch`` pending rows
in id order, and writes their entries with gap-free indices, their audit rows, every perfect node
they complete, and a signed checkpoint of the new size, then deletes the pending rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import Table, delete, insert, select, text, tuple_
from sqlalchemy.orm import Session

from crypto.checkpoint import Checkpoint, sign_checkpoint
from crypto.merkle import EMPTY_ROOT, NodeKey, leaf_hash, nodes_to_add, root_hash
from crypto.signednote import NoteSigner
from tendering.db import Base
from tendering.translog.bulk import bulk_insert, delete_ids
from tendering.translog.entries import LogActor, LogEvent, prepare_entry
from tendering.translog.models import LogAudit, LogCheckpoint, LogEntry, LogNode, LogPending

#: Key of the PostgreSQL advisory lock that serialises sequencers ("sealbid" "log" as an integer).
ADVISORY_LOCK_KEY: Final = 0x5EA1B1D_106
GENESIS_TYPE: Final = "log.created"
#: Keys per lookup or delete statement; keeps the bound parameters modest on every database.
_CHUNK: Final = 400


def table_of(model: type[Base]) -> Table:
    """The Core table of a model (for the bulk helpers)."""
    table = model.__table__
    assert isinstance(table, Table)
    return table


class DbNodeStore:
    """A :class:`crypto.merkle.NodeStore` over ``log_nodes``: one query per batch of keys."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        """Return the hashes of those ``keys`` that exist."""
        found: dict[NodeKey, bytes] = {}
        for start in range(0, len(keys), _CHUNK):
            chunk = list(keys[start : start + _CHUNK])
            rows = self.session.execute(
                select(LogNode.level, LogNode.node_index, LogNode.hash).where(
                    tuple_(LogNode.level, LogNode.node_index).in_(chunk)
                )
            )
            for level, index, h in rows:
                found[(level, index)] = bytes(h)
        return found


class _OverlayStore:
    """Nodes just computed (not yet visible to a query), falling back to the database."""

    def __init__(self, fresh: Mapping[NodeKey, bytes], base: DbNodeStore) -> None:
        self.fresh = fresh
        self.base = base

    def get_nodes(self, keys: Sequence[NodeKey]) -> dict[NodeKey, bytes]:
        found = {key: self.fresh[key] for key in keys if key in self.fresh}
        missing = [key for key in keys if key not in found]
        if missing:
            found.update(self.base.get_nodes(missing))
        return found


@dataclass(frozen=True)
class Head:
    """The latest checkpoint: tree size, root hash, signed note text and when it was signed."""

    size: int
    root: bytes
    note: str
    signed_at: datetime


def read_head(session: Session) -> Head | None:
    """The latest signed checkpoint, or None before the log was initialised."""
    row = session.execute(
        select(LogCheckpoint.size, LogCheckpoint.root, LogCheckpoint.note, LogCheckpoint.signed_at)
        .order_by(LogCheckpoint.size.desc())
        .limit(1)
    ).first()
    return None if row is None else Head(row.size, bytes(row.root), row.note, row.signed_at)


def lock_sequencer(session: Session) -> None:
    """Take the exclusive sequencer lock until the end of ``session``'s transaction."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    else:
        session.execute(delete(LogPending).where(LogPending.id < 0))


@dataclass(frozen=True)
class BatchResult:
    """What one sequencer transaction did."""

    first_index: int
    count: int
    size: int
    root: bytes
    pending_ids: tuple[int, ...]


def _signed(origin: str, size: int, root: bytes, signer: NoteSigner, now: datetime) -> dict[str, Any]:
    note = sign_checkpoint(Checkpoint(origin, size, root), signer).decode("utf-8")
    return {"size": size, "root": root, "note": note, "signed_at": now}


def _genesis(origin: str, signer: NoteSigner, now: datetime) -> dict[str, Any]:
    event = LogEvent(
        GENESIS_TYPE,
        LogActor.system(),
        None,
        {"origin": origin, "verifier_key": signer.verifier().to_text()},
    )
    prepared = prepare_entry(event, now, secrets.token_bytes(32))
    return {
        "id": None,
        "entry": prepared.entry,
        "operator": None,
        "role": prepared.role,
        "address": None,
        "salt": prepared.salt,
        "created_at": now,
    }


def _pending_rows(session: Session, max_batch: int) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            LogPending.id,
            LogPending.entry,
            LogPending.operator,
            LogPending.role,
            LogPending.address,
            LogPending.salt,
            LogPending.created_at,
        )
        .order_by(LogPending.id)
        .limit(max_batch)
    )
    return [row._asdict() for row in rows]


def sequence_batch(
    session: Session, *, origin: str, signer: NoteSigner, now: datetime, max_batch: int
) -> BatchResult | None:
    """Integrate up to ``max_batch`` pending entries in the caller's transaction (which must be new).

    The first call on an empty log signs the checkpoint of size 0 and appends the genesis entry
    ``log.created`` (origin and verifier key) as entry 0. Returns None when nothing was pending.
    """
    lock_sequencer(session)
    head = read_head(session)
    batch: list[dict[str, Any]] = []
    if head is None:
        session.execute(insert(LogCheckpoint).values(**_signed(origin, 0, EMPTY_ROOT, signer, now)))
        size = 0
        batch.append(_genesis(origin, signer, now))
    else:
        size = head.size
    batch.extend(_pending_rows(session, max_batch))
    if not batch:
        return None

    entries = [bytes(row["entry"]) for row in batch]
    hashes = [leaf_hash(entry) for entry in entries]
    store = DbNodeStore(session)
    new_nodes = nodes_to_add(size, hashes, store)
    new_size = size + len(batch)
    root = root_hash(_OverlayStore(dict(new_nodes), store), new_size)

    bulk_insert(
        session,
        table_of(LogEntry),
        [
            {"leaf_index": size + i, "entry": entry, "leaf_hash": h, "integrated_at": now}
            for i, (entry, h) in enumerate(zip(entries, hashes, strict=True))
        ],
    )
    bulk_insert(
        session,
        table_of(LogAudit),
        [
            {
                "leaf_index": size + i,
                "pending_id": row["id"],
                "operator": row["operator"],
                "role": row["role"],
                "address": row["address"],
                "salt": bytes(row["salt"]),
                "recorded_at": row["created_at"],
            }
            for i, row in enumerate(batch)
        ],
    )
    bulk_insert(
        session, table_of(LogNode), [{"level": lv, "node_index": ix, "hash": h} for (lv, ix), h in new_nodes]
    )
    session.execute(insert(LogCheckpoint).values(**_signed(origin, new_size, root, signer, now)))
    pending_ids = tuple(row["id"] for row in batch if row["id"] is not None)
    delete_ids(session, table_of(LogPending), "id", pending_ids)
    return BatchResult(size, len(batch), new_size, root, pending_ids)
