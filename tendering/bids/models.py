"""Tables for submitted bids: versions, upload sessions, receipts and submission metadata.

Everything here is confidential until the tender's opening (Bidding Law Art. 22): who bid, how many,
when, from where. Only hashes and blinded commitments leave these tables before the opening (the
transparency log entry of each version, see ``docs/submission.md``). The envelope bytes live in the
blob store under their SHA-256; the server can never read them (they are sealed to the tender's
opening certificate).
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from tendering.db import Base, UTCDateTime, new_id


class BidState(enum.StrEnum):
    """Whether a bid currently stands."""

    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


class VersionKind(enum.StrEnum):
    """What a bid version did."""

    SUBMITTED = "submitted"
    REPLACED = "replaced"
    WITHDRAWN = "withdrawn"


class UploadState(enum.StrEnum):
    """Where a resumable upload is."""

    OPEN = "open"
    FINISHED = "finished"


class Bid(Base):
    """One organisation's bid on one tender (its versions say what was submitted, replaced, withdrawn)."""

    __tablename__ = "bids"
    __table_args__ = (UniqueConstraint("tender_id", "bidder_id", name="uq_bids_tender_bidder"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenders.id"), index=True)
    #: The bidding organisation (an identity id).
    bidder_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)
    #: The bidder's USCC as signed in its statements.
    bidder_uscc: Mapped[str] = mapped_column(String(18))
    #: Lot numbers of the current version.
    lots: Mapped[list[int]] = mapped_column(JSON)
    state: Mapped[str] = mapped_column(String(16))
    current_version: Mapped[int] = mapped_column(Integer)
    #: 32 random bytes blinding this bid's log commitments; confidential until the opening.
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BidVersion(Base):
    """A logged step of a bid: the envelope submitted (or replaced), or the withdrawal."""

    __tablename__ = "bid_versions"
    __table_args__ = (
        UniqueConstraint("bid_id", "version", name="uq_bid_versions_bid_version"),
        UniqueConstraint("nonce", name="uq_bid_versions_nonce"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    bid_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("bids.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    lots: Mapped[list[int]] = mapped_column(JSON)
    #: SHA-256 (hex) and size of the sealed envelope (None for a withdrawal).
    envelope_sha256: Mapped[str | None] = mapped_column(String(64))
    envelope_size: Mapped[int | None] = mapped_column(BigInteger)
    #: The signed statement (canonical JSON) and its detached CMS signature (DER).
    statement: Mapped[bytes] = mapped_column(LargeBinary)
    statement_signature: Mapped[bytes] = mapped_column(LargeBinary)
    #: The statement's nonce: a replayed statement is refused.
    nonce: Mapped[str] = mapped_column(String(128))
    signer_fingerprint: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Hex commitments: to the bidder, and to this version (the public log entry's data).
    bidder_commitment: Mapped[str] = mapped_column(String(64))
    commitment: Mapped[str] = mapped_column(String(64))
    log_pending_id: Mapped[int] = mapped_column(BigInteger)
    log_index: Mapped[int | None] = mapped_column(BigInteger)
    #: The receipt bundle (JSON bytes) once built (signed, time-stamped, with proof and checkpoint).
    receipt: Mapped[bytes | None] = mapped_column(LargeBinary)


class UploadSession(Base):
    """A resumable, chunked upload of one sealed envelope by one bidder for one tender."""

    __tablename__ = "bid_upload_sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenders.id"), index=True)
    bidder_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)
    declared_size: Mapped[int] = mapped_column(BigInteger)
    declared_sha256: Mapped[str] = mapped_column(String(64))
    #: Bytes received and durably written so far.
    offset: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    #: ``[[offset, length, received_at_iso, seconds], ...]`` for monitors.
    chunks: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
    address: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(300))


class SubmissionMetadata(Base):
    """What monitors may see after the opening about how a version arrived (Measures Art. 49)."""

    __tablename__ = "bid_submission_metadata"

    version_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("bid_versions.id", ondelete="CASCADE"), primary_key=True
    )
    address: Mapped[str | None] = mapped_column(String(100))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    client_name: Mapped[str | None] = mapped_column(String(100))
    client_version: Mapped[str | None] = mapped_column(String(50))
    machine_code: Mapped[str | None] = mapped_column(String(128))
    client_time: Mapped[str | None] = mapped_column(String(40))
    upload_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    upload_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    chunks: Mapped[list[list[Any]]] = mapped_column(JSON, default=list)
