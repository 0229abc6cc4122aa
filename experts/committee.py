"""The drawn committee: assignments, the contact card for the notification workers, and settling.

This module is the contract between the draw and the call/SMS confirmation:

- :class:`ExpertAssignment` (in :mod:`experts.pool_models`) is one expert's place in a committee;
- :func:`contact_card` decrypts the sealed card of an assignment for a notification worker and logs
  the read (blinded);
- :func:`settle` records an outcome (confirmed / declined / no_answer); after a decline or no answer it
  takes the next expert of the verifiable order for that specialty (re-checking avoidance), enqueues
  ``experts.confirm`` for the new assignment after commit, or raises a ``pool_short`` alert when the
  order is exhausted. Settling twice changes nothing and returns the first result.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts import draw_records
from experts.eligibility import avoidance_of, evaluation_day, load_rules
from experts.pool_models import (
    Expert,
    ExpertAlert,
    ExpertAssignment,
    ExpertParticipation,
    ExtractionRequest,
)
from experts.sealed_list import log_actor, open_card, seal_card
from tendering.errors import Forbidden, InvalidInput, NotFound
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tasks import enqueue
from tendering.translog.entries import LogEvent

__all__ = [
    "CONFIRM_TASK",
    "SKIPPED_EVENT",
    "ContactCard",
    "ExpertAssignment",
    "SettleResult",
    "contact_card",
    "settle",
    "take_next",
]

CONFIRM_TASK: Final = "experts.confirm"
SKIPPED_EVENT: Final = "experts.candidate_skipped"
"""Logged for every rank of the order a replacement passes over (request, specialty, rank, rule)."""
ASSIGNED_RULE: Final = "assigned"
"""The skip rule of an expert who already has a place in the request (another line, or avoided)."""
NOTIFICATION_ROLES: Final = frozenset({"system"})
"""Who may read a contact card through :func:`contact_card`: the platform's notification workers."""
Outcome = Literal["confirmed", "declined", "no_answer"]
OUTCOMES: Final = ("confirmed", "declined", "no_answer")


@dataclass(frozen=True)
class ContactCard:
    """What a notification worker needs to call an expert (never stored outside the sealed list)."""

    assignment_id: uuid.UUID
    expert_name: str
    phones: tuple[str, ...]
    evaluation_time: datetime
    evaluation_place: str
    time_zone: str
    locale: str


@dataclass(frozen=True)
class SettleResult:
    """How an assignment was settled and what replaced it."""

    assignment_id: uuid.UUID
    status: str
    replacement_id: uuid.UUID | None
    pool_short: bool


def _assignment(session: Session, assignment_id: uuid.UUID, *, lock: bool = False) -> ExpertAssignment:
    query = select(ExpertAssignment).where(ExpertAssignment.id == assignment_id)
    if lock:
        query = query.with_for_update()
    assignment = session.scalars(query).first()
    if assignment is None:
        raise NotFound(f"no expert assignment {assignment_id}", code="expert-assignment-unknown")
    return assignment


def _request(session: Session, request_id: uuid.UUID) -> ExtractionRequest:
    request = session.get(ExtractionRequest, request_id)
    if request is None:
        raise NotFound(f"no extraction request {request_id}", code="expert-request-unknown")
    return request


def contact_card(
    session: Session, platform: Platform, assignment_id: uuid.UUID, *, reader: Actor
) -> ContactCard:
    """Decrypt the sealed card of ``assignment_id`` for a notification worker and log the read.

    Only the platform's notification workers (role ``system``) may read cards this way; the evaluation
    session gets the list through :func:`experts.release.release_to_session`. Raises NotFound for an
    unknown assignment and Forbidden for any other reader.
    """
    if reader.role not in NOTIFICATION_ROLES:
        raise Forbidden(
            "only the notification workers read expert contact cards", code="expert-card-forbidden"
        )
    assignment = _assignment(session, assignment_id)
    request = _request(session, assignment.request_id)
    opened = open_card(session, platform, assignment, reader=reader, purpose="notification")
    return ContactCard(
        assignment_id=assignment.id,
        expert_name=opened.name,
        phones=opened.phones,
        evaluation_time=request.evaluation_time,
        evaluation_place=request.evaluation_place,
        time_zone=request.time_zone,
        locale=request.locale,
    )


def _evidence_hash(evidence: Mapping[str, str]) -> str:
    canonical = json.dumps(dict(evidence), ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _result(assignment: ExpertAssignment) -> SettleResult:
    return SettleResult(assignment.id, assignment.status, assignment.replacement_id, assignment.pool_short)


def settle(
    session: Session,
    platform: Platform,
    assignment_id: uuid.UUID,
    outcome: Outcome,
    *,
    actor: Actor,
    evidence: Mapping[str, str],
) -> SettleResult:
    """Record ``outcome`` for a pending assignment; after a decline or no answer, replace the expert.

    Idempotent: an assignment that is no longer pending is returned as it is. The replacement is the
    next expert of the verifiable order for the same specialty that is not yet assigned in the request
    and still passes the avoidance rules; ``experts.confirm`` is enqueued for it (after commit). With
    the order exhausted, an ``experts.pool_short`` alert is raised and ``pool_short`` is True.
    """
    if outcome not in OUTCOMES:
        raise InvalidInput(f"outcome must be one of {', '.join(OUTCOMES)}", code="expert-outcome-invalid")
    # Lock the request first (as the recheck does), then the assignment: replacements of one request
    # are taken one at a time, so two concurrent declines never pick the same next expert.
    request_id = session.scalar(
        select(ExpertAssignment.request_id).where(ExpertAssignment.id == assignment_id)
    )
    if request_id is None:
        raise NotFound(f"no expert assignment {assignment_id}", code="expert-assignment-unknown")
    request = session.scalars(
        select(ExtractionRequest).where(ExtractionRequest.id == request_id).with_for_update()
    ).one()
    assignment = _assignment(session, assignment_id, lock=True)
    if assignment.status != "pending":
        return _result(assignment)
    now = platform.clock.now()
    assignment.status = outcome
    assignment.settled_at = now
    session.add(
        ExpertParticipation(
            id=uuid.uuid4(),
            expert_id=assignment.expert_id,
            tender_id=request.tender_id,
            tenderee_uscc=request.tenderee_uscc,
            evaluation_date=evaluation_day(request),
            outcome=outcome,
            recorded_at=now,
        )
    )
    platform.translog.submit(
        session,
        LogEvent(
            "experts.assignment_settled",
            log_actor(actor),
            request.tender_id,
            {
                "request": str(request.id),
                "assignment": str(assignment.id),
                "specialty": assignment.specialty,
                "rank": assignment.rank,
                "outcome": outcome,
                "evidence_sha256": _evidence_hash(evidence),
            },
        ),
    )
    if outcome != "confirmed" and assignment.role == "member":  # a reserve that says no is just gone
        replacement = take_next(session, platform, request, assignment.specialty, actor=actor)
        if replacement is None:
            assignment.pool_short = True
        else:
            assignment.replacement_id = replacement.id
    session.flush()
    return _result(assignment)


def take_next(
    session: Session, platform: Platform, request: ExtractionRequest, specialty: str, *, actor: Actor
) -> ExpertAssignment | None:
    """Put the next expert of ``specialty``'s order in the committee, or raise a pool_short alert.

    A pending reserve of the line is promoted first (lowest rank); otherwise a new assignment is made
    for the first expert of the line's sequence after the highest rank used. Either way the expert is
    re-checked against the avoidance rules (a failing reserve becomes ``avoided``). Every rank of the
    sequence passed over is logged (``experts.candidate_skipped`` with the rule: an avoidance rule, or
    ``assigned`` for an expert already in the request), so verify-draw can tell a skip with a reason
    from one without. The new member's ``experts.confirm`` task leaves after commit.
    """
    rules = load_rules(
        session, request, platform.settings.experts.recent_participation_days, request.tenderee_uscc
    )
    assigned = list(
        session.scalars(select(ExpertAssignment).where(ExpertAssignment.request_id == request.id))
    )
    reserves = sorted(
        (a for a in assigned if a.specialty == specialty and a.role == "reserve" and a.status == "pending"),
        key=lambda a: a.rank,
    )
    now = platform.clock.now()
    for reserve in reserves:
        reason = avoidance_of(session, rules, reserve.expert_id)
        if reason is not None:
            _avoid(session, platform, request, reserve, reason, actor=actor)
            continue
        reserve.role = "member"
        _log_taken(session, platform, request, reserve, "reserve", actor=actor)
        session.flush()
        enqueue(session, CONFIRM_TASK, platform.clock, assignment_id=str(reserve.id))
        return reserve
    index = draw_records.line_index(request, specialty)
    sequence = draw_records.sequences(session, platform.settings, request)[index]
    taken = {a.expert_id for a in assigned}
    start = max((a.rank for a in assigned if a.specialty == specialty), default=-1) + 1
    for rank in range(start, len(sequence)):
        expert_id = sequence[rank]
        rule = ASSIGNED_RULE if expert_id in taken else avoidance_of(session, rules, expert_id)
        if rule is not None:
            _log_skipped(session, platform, request, specialty, rank=rank, rule=rule, actor=actor)
            continue
        expert = session.get(Expert, expert_id)
        assert expert is not None
        new = ExpertAssignment(
            id=uuid.uuid4(),
            request_id=request.id,
            expert_id=expert_id,
            specialty=specialty,
            rank=rank,
            role="member",
            status="pending",
            created_at=now,
        )
        session.add(new)
        session.flush()
        seal_card(session, platform, new, expert)
        _log_taken(session, platform, request, new, "order", actor=actor)
        enqueue(session, CONFIRM_TASK, platform.clock, assignment_id=str(new.id))
        return new
    _raise_short(session, platform, request, specialty, actor=actor)
    return None


def _log_skipped(
    session: Session,
    platform: Platform,
    request: ExtractionRequest,
    specialty: str,
    *,
    rank: int,
    rule: str,
    actor: Actor,
) -> None:
    """Log that rank ``rank`` of ``specialty``'s order was passed over and why (no name, no expert id)."""
    platform.translog.submit(
        session,
        LogEvent(
            SKIPPED_EVENT,
            log_actor(actor),
            request.tender_id,
            {"request": str(request.id), "specialty": specialty, "rank": rank, "rule": rule},
        ),
    )


def _avoid(
    session: Session,
    platform: Platform,
    request: ExtractionRequest,
    assignment: ExpertAssignment,
    reason: str,
    *,
    actor: Actor,
) -> None:
    assignment.status = "avoided"
    assignment.settled_at = platform.clock.now()
    platform.translog.submit(
        session,
        LogEvent(
            "experts.assignment_avoided",
            log_actor(actor),
            request.tender_id,
            {
                "request": str(request.id),
                "assignment": str(assignment.id),
                "specialty": assignment.specialty,
                "rank": assignment.rank,
                "rule": reason,
            },
        ),
    )


def _log_taken(
    session: Session,
    platform: Platform,
    request: ExtractionRequest,
    assignment: ExpertAssignment,
    source: str,
    *,
    actor: Actor,
) -> None:
    platform.translog.submit(
        session,
        LogEvent(
            "experts.replacement_taken",
            log_actor(actor),
            request.tender_id,
            {
                "request": str(request.id),
                "assignment": str(assignment.id),
                "specialty": assignment.specialty,
                "rank": assignment.rank,
                "source": source,
            },
        ),
    )


def _raise_short(
    session: Session, platform: Platform, request: ExtractionRequest, specialty: str, *, actor: Actor
) -> None:
    open_alert = session.scalars(
        select(ExpertAlert).where(
            ExpertAlert.request_id == request.id,
            ExpertAlert.specialty == specialty,
            ExpertAlert.kind == "pool_short",
            ExpertAlert.resolved_at.is_(None),
        )
    ).first()
    if open_alert is not None:
        return
    session.add(
        ExpertAlert(
            id=uuid.uuid4(),
            request_id=request.id,
            kind="pool_short",
            specialty=specialty,
            detail=f"the verifiable order of specialty {specialty} is exhausted",
            raised_at=platform.clock.now(),
        )
    )
    platform.translog.submit(
        session,
        LogEvent(
            "experts.pool_short",
            log_actor(actor),
            request.tender_id,
            {"request": str(request.id), "specialty": specialty},
        ),
    )
