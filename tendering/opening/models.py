"""Tables of the opening: the session of one tender and the outcome of each of its envelopes.

``OpeningOutcome`` is what the opening record, the OCDS release and the hall are built from: every
envelope received before the deadline ends with exactly one outcome (opened, revoked or withdrawn) and
the reason, decided by recorded facts (Measures Art. 31).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tendering.db import Base, UTCDateTime, new_id


class OpeningState(enum.StrEnum):
    """Where the opening of a tender is."""

    #: The deadline passed: bids are frozen, the envelope list is logged; waiting for custodians.
    CLOSED = "closed"
    #: k valid shares arrived; envelopes are being opened (resumable after a crash).
    OPENING = "opening"
    #: Waiting for bidders to decrypt their own layer (Measures Art. 30), when the tender asks for it.
    BIDDER_DECRYPTION = "bidder_decryption"
    #: Every envelope has its outcome.
    OPENED = "opened"
    #: Too few bids: no opening; the envelopes stay sealed (Regs Art. 44).
    FAILED = "failed"


class Outcome(enum.StrEnum):
    """How an envelope ended (Measures Art. 31)."""

    OPENED = "opened"
    #: The bidder's own fault (e.g. it failed to decrypt its layer): counts as revocation (撤销).
    REVOKED = "revoked"
    #: Anyone else's fault (or the bidder withdrew before the deadline): counts as withdrawal (撤回).
    WITHDRAWN = "withdrawn"


class Decryption(enum.StrEnum):
    """The bidder-decryption layer's outcome."""

    NOT_REQUIRED = "not_required"
    #: The platform layer is (or is to be) removed; the bidder is to decrypt its own layer.
    PENDING = "pending"
    DECRYPTED = "decrypted"
    BIDDER_FAILED = "bidder_failed"
    OTHER_FAILED = "other_failed"


class OpeningSession(Base):
    """The opening of one tender, from the closing at the deadline to the last outcome."""

    __tablename__ = "opening_sessions"

    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True
    )
    state: Mapped[str] = mapped_column(String(32))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: How many envelopes stood at the deadline, and SHA-256 (hex) of their sorted list (logged).
    envelope_count: Mapped[int] = mapped_column(Integer)
    envelope_list_sha256: Mapped[str] = mapped_column(String(64))
    opening_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: End of the bidders' decryption window (when the tender asks for bidder decryption).
    decryption_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OpeningOutcome(Base):
    """The outcome of one envelope (the bid's version standing at the deadline)."""

    __tablename__ = "opening_outcomes"
    __table_args__ = (UniqueConstraint("tender_id", "bid_id", name="uq_opening_outcomes_tender_bid"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("opening_sessions.tender_id", ondelete="CASCADE"), index=True
    )
    bid_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("bids.id"))
    version: Mapped[int] = mapped_column(Integer)
    envelope_sha256: Mapped[str] = mapped_column(String(64))
    bidder_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    bidder_uscc: Mapped[str] = mapped_column(String(18))
    bidder_name: Mapped[str] = mapped_column(String(300))
    #: opened / revoked / withdrawn (Outcome); None while undecided.
    outcome: Mapped[str | None] = mapped_column(String(16))
    #: A stable code and a plain sentence saying why (also for an opened envelope: "opened").
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(Text)
    decryption: Mapped[str] = mapped_column(String(16))
    #: From the opened manifest: lots, total price (decimal string), currency, duration, quality
    #: commitment, declared bond, other declared fields. Empty until opened.
    price_form: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The inner signature's verdict in short: signer certificate, signing time, time-stamp, trusted.
    signature: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: SHA-256 (hex) of the opened bid package (the ZIP) in the blob store, once opened.
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    #: SHA-256 (hex) of the bidder-layer envelope (the middle layer, sealed to the bidder's own
    #: encryption certificate) in the blob store, while the bidder is to decrypt it.
    middle_sha256: Mapped[str | None] = mapped_column(String(64))


class ShareRelease(Base):
    """A custodian's accepted share release: the signed statement (it holds no share, only its commitment).

    The share itself never reaches the database: it is held in the memory of the process that runs
    the opening (:mod:`tendering.opening.vault`) and forgotten when the opening is done.
    """

    __tablename__ = "opening_share_releases"
    __table_args__ = (UniqueConstraint("tender_id", "share_index", name="uq_opening_share_releases_index"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("opening_sessions.tender_id", ondelete="CASCADE"), index=True
    )
    share_index: Mapped[int] = mapped_column(Integer)
    custodian_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    #: The canonical ``sealbid.share-release.v1`` statement and its detached CMS signature (DER).
    statement: Mapped[bytes] = mapped_column(LargeBinary)
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    statement_sha256: Mapped[str] = mapped_column(String(64))
    signer_fingerprint: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ShareRejection(Base):
    """A refused share release: who sent it, which index, why (never the share)."""

    __tablename__ = "opening_share_rejections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("opening_sessions.tender_id", ondelete="CASCADE"), index=True
    )
    share_index: Mapped[int] = mapped_column(Integer)
    custodian_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    reason_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    statement_sha256: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
