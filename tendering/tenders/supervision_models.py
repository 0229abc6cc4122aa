"""Electronic supervision tables: supervised steps with time limits, and the warnings they raise."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tendering.db import Base, UTCDateTime, new_id


class SupervisedStep(Base):
    """A procedural step that must be done by ``due_at`` (review, publication, an answer, ...)."""

    __tablename__ = "supervision_steps"
    __table_args__ = (
        Index("ix_supervision_steps_tender_step_subject", "tender_id", "step", "subject"),
        Index("ix_supervision_steps_status_warn_at", "status", "warn_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), index=True
    )
    #: The tender's agency: warnings are counted per agency whoever must act.
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)
    #: The step's name in the procedure table's ``time_limits``.
    step: Mapped[str] = mapped_column(String(64))
    #: What the step is about within the tender (the tender id, a question id, ...).
    subject: Mapped[str] = mapped_column(String(64))
    #: Who must act: authority, agency or system.
    responsible: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: open, done, cancelled or superseded (the step was started again).
    status: Mapped[str] = mapped_column(String(16))
    #: Whether the step's existence is confidential (a tenderer's question): its warnings are logged
    #: without naming the tender.
    confidential: Mapped[bool] = mapped_column(Boolean, default=False)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SupervisionWarning(Base):
    """A yellow (limit near) or red (limit passed) warning about a step; open until resolved."""

    __tablename__ = "supervision_warnings"
    __table_args__ = (
        UniqueConstraint("step_id", "level", name="uq_supervision_warnings_step_level"),
        Index("ix_supervision_warnings_open", "resolved_at", "agency_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    step_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("supervision_steps.id", ondelete="CASCADE"), index=True
    )
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), index=True
    )
    agency_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    #: yellow or red.
    level: Mapped[str] = mapped_column(String(8))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: escalated (a red warning followed), step-done, step-cancelled or step-superseded.
    resolution: Mapped[str | None] = mapped_column(String(32))
