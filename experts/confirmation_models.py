"""Tables of the call and SMS confirmations of drawn experts and the provider webhooks.

These tables are confidential (they hold phone numbers and what was said); the public transparency log
carries only ids, hashes and statuses (see :mod:`experts.notify_log`). Rows are keyed by the draw's
assignment id (``expert_assignments.id``), without a foreign key so the confirmation keeps its record
even if a draw is discarded.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tendering.db import Base, UTCDateTime, new_id


class ExpertConfirmation(Base):
    """Where the confirmation of one assignment stands.

    ``state``: ``dial`` (a call is to be placed), ``calling`` (a call is under way), ``retry_wait``
    (the next call waits until ``due_at``), ``sms`` (the SMS is to be sent), ``sms_wait`` (waiting for
    the reply until ``due_at``), ``settled`` (``outcome`` says how). ``step`` counts contact actions; a
    task or event about an older step changes nothing.
    """

    __tablename__ = "expert_confirmations"

    assignment_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    step: Mapped[int] = mapped_column(Integer, default=0)
    phone_index: Mapped[int] = mapped_column(Integer, default=0)
    phone_count: Mapped[int] = mapped_column(Integer)
    calls_on_number: Mapped[int] = mapped_column(Integer, default=0)
    locale: Mapped[str] = mapped_column(String(10))
    code_salt: Mapped[str | None] = mapped_column(String(64))
    code_hash: Mapped[str | None] = mapped_column(String(64))
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wrong_codes: Mapped[int] = mapped_column(Integer, default=0)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    outcome: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ContactAttempt(Base):
    """One call or SMS to an expert (confidential: the number and the texts)."""

    __tablename__ = "expert_contact_attempts"
    __table_args__ = (
        UniqueConstraint("assignment_id", "step", name="uq_expert_contact_attempts_assignment_step"),
        UniqueConstraint("provider", "provider_id", name="uq_expert_contact_attempts_provider_id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    assignment_id: Mapped[uuid.UUID] = mapped_column(Uuid, index=True)
    step: Mapped[int] = mapped_column(Integer)
    channel: Mapped[str] = mapped_column(String(8))  # voice | sms
    provider: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str | None] = mapped_column(String(64))
    phone_index: Mapped[int] = mapped_column(Integer)
    phone_number: Mapped[str] = mapped_column(String(32), index=True)
    content: Mapped[dict[str, Any]] = mapped_column(JSON)  # the prompt or SMS text
    status: Mapped[str] = mapped_column(String(16))  # placing, initiated, ..., a final status
    digits: Mapped[str | None] = mapped_column(String(16))
    prompts: Mapped[int] = mapped_column(Integer, default=0)  # times the voice prompt was served
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TelephonyEvent(Base):
    """Every provider event received, once (the unique key makes a repeat change nothing)."""

    __tablename__ = "expert_telephony_events"
    __table_args__ = (
        UniqueConstraint("provider", "event_key", name="uq_expert_telephony_events_provider_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(16))
    event_key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(64))
    assignment_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    result: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
