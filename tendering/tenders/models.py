"""Tender tables: the tender, its lots, evaluation criteria, opening custodians and workflow history.

Money is exact decimal (``NUMERIC(18, 2)`` on PostgreSQL) with a currency column beside it, never
float. Times are ``UTCDateTime``; the tender's ``time_zone`` says how to show them. Ids are opaque UUIDs.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tendering.db import Base, UTCDateTime, new_id
from tendering.tenders.money import ExactDecimal

MONEY = ExactDecimal(18, 2)


class Tender(Base):
    """A tender (招标项目) and its announcement, from draft to its final state."""

    __tablename__ = "tenders"
    __table_args__ = (
        Index("ix_tenders_state_publication_time", "state", "publication_time"),
        Index("ix_tenders_published_at", "published_at"),
        Index("ix_tenders_public_changed_at_id", "public_changed_at", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    state: Mapped[str] = mapped_column(String(32), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    #: The agency organisation that drafts and runs the tender (an identity id).
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)
    #: The tenderee organisation (an identity id).
    tenderee_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)

    title: Mapped[str] = mapped_column(String(300))
    project_name: Mapped[str] = mapped_column(String(300))
    project_code: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    procedure: Mapped[str] = mapped_column(String(64))
    category: Mapped[str] = mapped_column(String(16), index=True)
    #: GB/T 2260 six-digit administrative division code.
    region: Mapped[str] = mapped_column(String(6), index=True)
    time_zone: Mapped[str] = mapped_column(String(64))
    qualification_requirements: Mapped[list[str]] = mapped_column(JSON)

    evaluation_method: Mapped[str] = mapped_column(String(32))
    committee_size: Mapped[int] = mapped_column(Integer)
    tenderee_representatives: Mapped[int] = mapped_column(Integer, default=0)

    publication_time: Mapped[datetime] = mapped_column(UTCDateTime())
    document_period_start: Mapped[datetime | None] = mapped_column(UTCDateTime())
    document_period_end: Mapped[datetime] = mapped_column(UTCDateTime())
    clarification_deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The bid deadline, which is also the opening time (Law Art. 34).
    bid_deadline: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    evaluation_date: Mapped[datetime] = mapped_column(UTCDateTime())
    publicity_days: Mapped[int] = mapped_column(Integer)

    opening_threshold: Mapped[int] = mapped_column(Integer)
    bidder_decryption: Mapped[bool] = mapped_column(Boolean, default=False)

    #: SHA-256 (hex) of the canonical JSON of the content as last saved, submitted or amended.
    content_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When the public view last changed (publication, a notice, the failure, the opening record);
    #: None until published. The OCDS export and the sitemap walk tenders in (this, id) order.
    public_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Why the tender was cancelled or failed (public once the tender was published).
    end_reason: Mapped[str | None] = mapped_column(Text)
    end_code: Mapped[str | None] = mapped_column(String(64))

    lots: Mapped[list[TenderLot]] = relationship(
        back_populates="tender", order_by="TenderLot.number", cascade="all, delete-orphan"
    )
    criteria: Mapped[list[TenderCriterion]] = relationship(
        order_by="TenderCriterion.position", cascade="all, delete-orphan"
    )
    custodians: Mapped[list[TenderCustodian]] = relationship(
        order_by="TenderCustodian.position", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy mapper configuration


class TenderLot(Base):
    """A lot (标段) with its estimated price, ceiling price (最高投标限价) and bid bond."""

    __tablename__ = "tender_lots"
    __table_args__ = (UniqueConstraint("tender_id", "number", name="uq_tender_lots_tender_number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenders.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    currency: Mapped[str] = mapped_column(String(3))
    estimated_price: Mapped[Decimal] = mapped_column(MONEY)
    ceiling_price: Mapped[Decimal | None] = mapped_column(MONEY)
    bid_bond: Mapped[Decimal | None] = mapped_column(MONEY)
    qualification: Mapped[str] = mapped_column(Text, default="")

    tender: Mapped[Tender] = relationship(back_populates="lots")


class TenderCriterion(Base):
    """An evaluation criterion with its weight (the weights of a tender sum to 100)."""

    __tablename__ = "tender_criteria"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(200))
    #: technical, commercial, price or other.
    kind: Mapped[str] = mapped_column(String(16))
    weight: Mapped[Decimal] = mapped_column(ExactDecimal(5, 2))
    description: Mapped[str] = mapped_column(Text, default="")


class TenderCustodian(Base):
    """A custodian of the opening key (one of n; any ``opening_threshold`` of them open the bids)."""

    __tablename__ = "tender_custodians"
    __table_args__ = (
        UniqueConstraint("tender_id", "identity_id", name="uq_tender_custodians_tender_identity"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenders.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    identity_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)


class TenderTransition(Base):
    """One workflow step of a tender: who did what, from which state to which, and why."""

    __tablename__ = "tender_transitions"
    __table_args__ = (
        UniqueConstraint("tender_id", "sequence", name="uq_tender_transitions_tender_sequence"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenders.id", ondelete="CASCADE"))
    #: 1, 2, ... per tender: the order of the steps (several may share a timestamp).
    sequence: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_role: Mapped[str] = mapped_column(String(32))
    #: The acting identity (None for the platform's scheduled steps); never shown publicly.
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    content_sha256: Mapped[str] = mapped_column(String(64))
    #: Reasons given (a rejection's list, a cancellation's text) as JSON.
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: Whether this step is part of the public timeline (publication, amendments, the end).
    public: Mapped[bool] = mapped_column(Boolean, default=False)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
