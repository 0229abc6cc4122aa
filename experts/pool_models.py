"""Tables of the expert pool, extraction requests, verifiable draws and the sealed drawn lists.

Names and phone numbers live in ``experts`` (the pool, readable by the pool administrators only) and,
for a draw, sealed (AES-256-GCM) in ``expert_sealed_contacts``. Nothing else a tender's parties can
reach joins an assignment to a person: the assignment row holds the expert's opaque id.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tendering.db import Base, UTCDateTime, new_id

EXPERT_STATUSES = ("active", "suspended", "retired")
ASSIGNMENT_STATUSES = ("pending", "confirmed", "declined", "no_answer", "avoided", "replaced")
SETTLED_STATUSES = frozenset({"confirmed", "declined", "no_answer", "avoided", "replaced"})


class Expert(Base):
    """An evaluation expert (评标专家) of the pool."""

    __tablename__ = "experts"
    __table_args__ = (Index("ix_experts_status_region", "status", "region"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    #: The stable key of CSV import (专家编号): a re-import updates the expert with the same number.
    number: Mapped[str] = mapped_column(String(64), unique=True)
    #: The expert's person identity (registered from a person certificate), once enrolled.
    person_identity_id: Mapped[uuid.UUID | None] = mapped_column(
        Uuid, ForeignKey("identities.id", ondelete="SET NULL"), unique=True
    )
    #: SHA-256 (hex) of the expert's person signing certificate, when known.
    certificate_fingerprint: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    #: Specialty codes of experts/specialties.toml, most relevant first.
    specialties: Mapped[list[str]] = mapped_column(JSON)
    #: GB/T 2260 six-digit division code of where the expert works.
    region: Mapped[str] = mapped_column(String(6))
    employer_uscc: Mapped[str] = mapped_column(String(18), index=True)
    employer_name: Mapped[str] = mapped_column(String(300), default="")
    title: Mapped[str] = mapped_column(String(100), default="")
    #: Contact numbers in E.164, in the order they are to be called.
    phones: Mapped[list[str]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer, default=1)

    unavailable: Mapped[list[ExpertUnavailability]] = relationship(
        order_by="ExpertUnavailability.start_date", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 - SQLAlchemy mapper configuration


class ExpertUnavailability(Base):
    """Dates (inclusive) on which an expert cannot evaluate."""

    __tablename__ = "expert_unavailability"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    expert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("experts.id", ondelete="CASCADE"), index=True
    )
    start_date: Mapped[date] = mapped_column(Date)
    end_date: Mapped[date] = mapped_column(Date)


class ExpertParticipation(Base):
    """An evaluation the expert was drawn for: the tender, its tenderee, the date and the outcome."""

    __tablename__ = "expert_participations"
    __table_args__ = (Index("ix_expert_participations_tenderee_date", "tenderee_uscc", "evaluation_date"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    expert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("experts.id", ondelete="CASCADE"), index=True
    )
    #: The tender on this platform (None for history imported from elsewhere).
    tender_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tenders.id", ondelete="SET NULL"))
    tenderee_uscc: Mapped[str] = mapped_column(String(18))
    evaluation_date: Mapped[date] = mapped_column(Date)
    #: confirmed, declined, no_answer, avoided (the assignment's outcome).
    outcome: Mapped[str] = mapped_column(String(16))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExpertAudit(Base):
    """Who changed which fields of an expert when (the values stay in the pool, not in the log)."""

    __tablename__ = "expert_audit"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    expert_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("experts.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    actor_role: Mapped[str] = mapped_column(String(16))
    #: created, updated, imported.
    action: Mapped[str] = mapped_column(String(16))
    changed_fields: Mapped[list[str]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExtractionRequest(Base):
    """A request to draw the evaluation committee of a tender, and the verifiable draw made for it."""

    __tablename__ = "extraction_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), index=True
    )
    requested_by: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    requested_role: Mapped[str] = mapped_column(String(16))
    evaluation_time: Mapped[datetime] = mapped_column(UTCDateTime())
    evaluation_place: Mapped[str] = mapped_column(String(300))
    time_zone: Mapped[str] = mapped_column(String(64))
    locale: Mapped[str] = mapped_column(String(8))
    #: ``[{"specialty": "A0101", "count": 3, "reserves": 2}, ...]`` in draw order.
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    exclude_same_region: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The tender's region, for the same-region exclusion.
    region: Mapped[str] = mapped_column(String(6))
    tenderee_uscc: Mapped[str] = mapped_column(String(18))
    #: USCCs whose employees are avoided (tenderee, agency; bidders added by the recheck).
    avoided_usccs: Mapped[list[str]] = mapped_column(JSON)
    #: ``{expert id: reason}`` avoided by hand.
    manual_avoid: Mapped[dict[str, str]] = mapped_column(JSON)
    #: committed (secret logged), drawn, revealed.
    state: Mapped[str] = mapped_column(String(16))
    secret_commitment: Mapped[str] = mapped_column(String(64))
    #: The secret, sealed with the list key until it is revealed.
    sealed_secret: Mapped[bytes] = mapped_column(LargeBinary)
    eligible_hash: Mapped[str] = mapped_column(String(64))
    #: The log submission of the commitment, until it is sequenced.
    commitment_pending_id: Mapped[int | None] = mapped_column(Integer)
    commitment_index: Mapped[int | None] = mapped_column(Integer)
    checkpoint_size: Mapped[int | None] = mapped_column(Integer)
    checkpoint_root: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    drawn_hash: Mapped[str | None] = mapped_column(String(64))
    drawn_pending_id: Mapped[int | None] = mapped_column(Integer)
    reveal_pending_id: Mapped[int | None] = mapped_column(Integer)
    revealed_secret: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    drawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    rechecked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ExtractionEligibleSet(Base):
    """The eligible experts of one line of a request: their ids, sorted, as 16-byte strings."""

    __tablename__ = "extraction_eligible_sets"

    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("extraction_requests.id", ondelete="CASCADE"), primary_key=True
    )
    line_index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    expert_ids: Mapped[bytes] = mapped_column(LargeBinary)


class ExpertAssignment(Base):
    """An expert's place in a drawn committee: member or reserve, and how it was settled."""

    __tablename__ = "expert_assignments"
    __table_args__ = (
        UniqueConstraint("request_id", "expert_id", name="uq_expert_assignments_request_expert"),
        UniqueConstraint("request_id", "specialty", "rank", name="uq_expert_assignments_request_line_rank"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("extraction_requests.id", ondelete="CASCADE"), index=True
    )
    expert_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("experts.id"), index=True)
    #: The requested specialty code (the line) this expert was drawn for.
    specialty: Mapped[str] = mapped_column(String(16))
    #: Position in the verifiable order of that line (0 first).
    rank: Mapped[int] = mapped_column(Integer)
    #: member or reserve.
    role: Mapped[str] = mapped_column(String(8))
    #: pending, confirmed, declined, no_answer, avoided, replaced.
    status: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    settled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The assignment that took this one's place (after a decline, no answer or avoidance).
    replacement_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    #: Whether settling found the order exhausted.
    pool_short: Mapped[bool] = mapped_column(Boolean, default=False)


class ExpertSealedContact(Base):
    """The sealed contact card of an assignment: AES-256-GCM over the name and phone numbers."""

    __tablename__ = "expert_sealed_contacts"

    assignment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("expert_assignments.id", ondelete="CASCADE"), primary_key=True
    )
    key_id: Mapped[str] = mapped_column(String(64))
    nonce: Mapped[bytes] = mapped_column(LargeBinary(12))
    ciphertext: Mapped[bytes] = mapped_column(LargeBinary)


class ExpertListRead(Base):
    """A read of a sealed contact card: who (privately), in which role, for what, when."""

    __tablename__ = "expert_list_reads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    assignment_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("expert_assignments.id", ondelete="CASCADE"), index=True
    )
    reader_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    reader_role: Mapped[str] = mapped_column(String(16))
    #: notification or session.
    purpose: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class ExpertAlert(Base):
    """An alert to the agency and the supervisor about a request (a specialty ran out of experts)."""

    __tablename__ = "expert_alerts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    request_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("extraction_requests.id", ondelete="CASCADE"), index=True
    )
    #: pool_short.
    kind: Mapped[str] = mapped_column(String(16))
    specialty: Mapped[str] = mapped_column(String(16))
    detail: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
