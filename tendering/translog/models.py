"""Tables of the transparency log.

Public (anyone may read them through the API): ``log_entries``, ``log_nodes``, ``log_checkpoints``.
Private: ``log_pending`` (the queue between domain transactions and the sequencer) and ``log_audit``
(who did what from where, Measures Art. 49; it holds the salts that open the actor commitments of the
public entries, so it is confidential and never served).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tendering.db import Base, UTCDateTime

#: A 64-bit integer that is still SQLite's auto-incrementing rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LogPending(Base):
    """An event written in the domain transaction that caused it, waiting for the sequencer."""

    __tablename__ = "log_pending"
    # AUTOINCREMENT: SQLite would otherwise reuse the ids of sequenced (deleted) rows.
    __table_args__ = {"sqlite_autoincrement": True}  # noqa: RUF012 - SQLAlchemy declarative attribute

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    operator: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(100))
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LogEntry(Base):
    """A sequenced entry: leaf ``leaf_index`` of the tree, its canonical JSON bytes and leaf hash."""

    __tablename__ = "log_entries"

    leaf_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    entry: Mapped[bytes] = mapped_column(LargeBinary)
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    integrated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LogNode(Base):
    """The hash of a perfect subtree ``(level, node_index)``; written once, never changed."""

    __tablename__ = "log_nodes"

    level: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    node_index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LogCheckpoint(Base):
    """A signed checkpoint (C2SP signed note) of the tree at ``size`` entries."""

    __tablename__ = "log_checkpoints"

    size: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LogAudit(Base):
    """Private record of an entry's operator, role, network address, commitment salt and time."""

    __tablename__ = "log_audit"

    leaf_index: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("log_entries.leaf_index"), primary_key=True, autoincrement=False
    )
    pending_id: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    operator: Mapped[str | None] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(100))
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
