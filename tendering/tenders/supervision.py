"""Electronic supervision (Xiamen practice): every procedural step has a time limit.

Domain code opens a step when it starts (:func:`open_step`, with the limit from the procedure table)
and closes it when done (:func:`close_step`). :func:`check_time_limits`, run periodically, raises a
yellow warning when a step's limit is near (``warn_hours`` before it) and a red one when it has passed;
each warning is stored and logged once (idempotent under retries and concurrent sweeps). Closing a
step resolves its warnings. Other domains (objections, candidates, contracts) use the same functions
with their own step names from the table's ``time_limits``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tendering.identity.audit import Actor
from tendering.tenders.events import log_event
from tendering.tenders.models import Tender
from tendering.tenders.procedures import ProcedureRules
from tendering.tenders.spec import utc_text
from tendering.tenders.supervision_models import SupervisedStep, SupervisionWarning

if TYPE_CHECKING:
    from tendering.platform import Platform

OPEN, DONE, CANCELLED, SUPERSEDED = "open", "done", "cancelled", "superseded"
YELLOW, RED = "yellow", "red"


def open_step(
    session: Session,
    tender: Tender,
    rules: ProcedureRules,
    step: str,
    *,
    started_at: datetime,
    subject: str | None = None,
    responsible: str = "agency",
    confidential: bool = False,
) -> SupervisedStep:
    """Start supervising ``step`` of ``tender`` (an earlier open run of the same step is superseded)."""
    limit = rules.step(step)
    due = started_at + limit.limit
    subject = subject or str(tender.id)
    _close(
        session,
        and_(
            SupervisedStep.tender_id == tender.id,
            SupervisedStep.step == step,
            SupervisedStep.subject == subject,
        ),
        SUPERSEDED,
        started_at,
    )
    row = SupervisedStep(
        tender_id=tender.id,
        agency_id=tender.agency_id,
        step=step,
        subject=subject,
        responsible=responsible,
        started_at=started_at,
        due_at=due,
        warn_at=due - limit.warn_before,
        status=OPEN,
        confidential=confidential,
    )
    session.add(row)
    session.flush()
    return row


def _close(session: Session, condition: Any, status: str, now: datetime) -> None:
    ids = list(session.scalars(select(SupervisedStep.id).where(condition, SupervisedStep.status == OPEN)))
    if not ids:
        return
    session.execute(
        update(SupervisedStep).where(SupervisedStep.id.in_(ids)).values(status=status, closed_at=now)
    )
    session.execute(
        update(SupervisionWarning)
        .where(SupervisionWarning.step_id.in_(ids), SupervisionWarning.resolved_at.is_(None))
        .values(resolved_at=now, resolution=f"step-{status}")
    )


def close_step(
    session: Session, tender_id: uuid.UUID, step: str, now: datetime, subject: str | None = None
) -> None:
    """Mark ``step`` done (its open warnings are resolved)."""
    condition = and_(
        SupervisedStep.tender_id == tender_id,
        SupervisedStep.step == step,
        SupervisedStep.subject == (subject or str(tender_id)),
    )
    _close(session, condition, DONE, now)


def cancel_steps(session: Session, tender_id: uuid.UUID, now: datetime) -> None:
    """Stop supervising every open step of a tender (it was cancelled or failed)."""
    _close(session, SupervisedStep.tender_id == tender_id, CANCELLED, now)


def _raise(platform: Platform, step_id: uuid.UUID, level: str) -> bool:
    now = platform.clock.now()
    try:
        with platform.transaction() as session:
            step = session.get(SupervisedStep, step_id, with_for_update=True)
            if step is None or step.status != OPEN:
                return False
            if session.scalar(
                select(SupervisionWarning.id).where(
                    SupervisionWarning.step_id == step_id, SupervisionWarning.level == level
                )
            ):
                return False
            if level == RED:
                session.execute(
                    update(SupervisionWarning)
                    .where(SupervisionWarning.step_id == step_id, SupervisionWarning.resolved_at.is_(None))
                    .values(resolved_at=now, resolution="escalated")
                )
            session.add(
                SupervisionWarning(
                    step_id=step_id,
                    tender_id=step.tender_id,
                    agency_id=step.agency_id,
                    level=level,
                    raised_at=now,
                )
            )
            log_event(
                platform,
                session,
                "supervision.warning",
                Actor.system(),
                None if step.confidential else step.tender_id,
                level=level,
                step=step.step,
                responsible=step.responsible,
                due=utc_text(step.due_at),
            )
    except IntegrityError:  # a concurrent sweep raised it first
        return False
    return True


@dataclass(frozen=True)
class SweepResult:
    """What one supervision sweep raised."""

    yellow: int
    red: int


def check_time_limits(platform: Platform) -> SweepResult:
    """Raise the yellow and red warnings that are due now (idempotent)."""
    now = platform.clock.now()
    with platform.session_factory() as session:
        has = select(SupervisionWarning.id).where(SupervisionWarning.step_id == SupervisedStep.id)
        red = list(
            session.scalars(
                select(SupervisedStep.id).where(
                    SupervisedStep.status == OPEN,
                    SupervisedStep.due_at <= now,
                    ~has.where(SupervisionWarning.level == RED).exists(),
                )
            )
        )
        yellow = list(
            session.scalars(
                select(SupervisedStep.id).where(
                    SupervisedStep.status == OPEN,
                    SupervisedStep.warn_at <= now,
                    SupervisedStep.due_at > now,
                    ~has.where(SupervisionWarning.level == YELLOW).exists(),
                )
            )
        )
    raised_yellow = sum(_raise(platform, step_id, YELLOW) for step_id in yellow)
    raised_red = sum(_raise(platform, step_id, RED) for step_id in red)
    return SweepResult(raised_yellow, raised_red)


@dataclass(frozen=True)
class WarningView:
    """An open warning as the authority sees it."""

    id: uuid.UUID
    level: str
    step: str
    responsible: str
    tender_id: uuid.UUID
    tender_title: str
    agency_id: uuid.UUID
    raised_at: datetime
    due_at: datetime
    resolved_at: datetime | None
    resolution: str | None

    def document(self) -> dict[str, Any]:
        """As JSON."""
        return {
            "id": str(self.id),
            "level": self.level,
            "step": self.step,
            "responsible": self.responsible,
            "tender": {"id": str(self.tender_id), "title": self.tender_title},
            "agency_id": str(self.agency_id),
            "raised_at": utc_text(self.raised_at),
            "due_at": utc_text(self.due_at),
            "resolved_at": utc_text(self.resolved_at) if self.resolved_at else None,
            "resolution": self.resolution,
        }


def list_warnings(
    session: Session,
    *,
    agency_id: uuid.UUID | None = None,
    tender_id: uuid.UUID | None = None,
    level: str | None = None,
    include_resolved: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[WarningView]:
    """Warnings (open ones unless ``include_resolved``), red first, then the oldest."""
    statement = (
        select(SupervisionWarning, SupervisedStep, Tender.title)
        .join(SupervisedStep, SupervisedStep.id == SupervisionWarning.step_id)
        .join(Tender, Tender.id == SupervisionWarning.tender_id)
    )
    if not include_resolved:
        statement = statement.where(SupervisionWarning.resolved_at.is_(None))
    if agency_id is not None:
        statement = statement.where(SupervisionWarning.agency_id == agency_id)
    if tender_id is not None:
        statement = statement.where(SupervisionWarning.tender_id == tender_id)
    if level is not None:
        statement = statement.where(SupervisionWarning.level == level)
    statement = statement.order_by(
        (SupervisionWarning.level == RED).desc(), SupervisionWarning.raised_at, SupervisionWarning.id
    )
    rows = session.execute(statement.limit(limit).offset(offset)).all()
    return [
        WarningView(
            w.id,
            w.level,
            s.step,
            s.responsible,
            w.tender_id,
            title,
            w.agency_id,
            w.raised_at,
            s.due_at,
            w.resolved_at,
            w.resolution,
        )
        for w, s, title in rows
    ]


def warning_counts(session: Session) -> list[dict[str, Any]]:
    """Open warnings per agency: ``[{"agency_id", "yellow", "red"}]``, most red first."""
    rows = session.execute(
        select(SupervisionWarning.agency_id, SupervisionWarning.level, func.count())
        .where(SupervisionWarning.resolved_at.is_(None))
        .group_by(SupervisionWarning.agency_id, SupervisionWarning.level)
    ).all()
    counts: dict[uuid.UUID, dict[str, int]] = {}
    for agency_id, level, count in rows:
        counts.setdefault(agency_id, {YELLOW: 0, RED: 0})[level] = int(count)
    ordered = sorted(counts.items(), key=lambda item: (-item[1][RED], -item[1][YELLOW], str(item[0])))
    return [{"agency_id": str(agency), **levels} for agency, levels in ordered]
