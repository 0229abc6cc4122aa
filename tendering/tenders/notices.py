"""Clarifications, amendments and questions on a published tender.

A notice is published at once by the agency and linked to the tender; it is delivered to every
organisation that obtained the documents. Law Art. 23 (the table's
``amendment_min_days_before_deadline``): a notice published less than that many days before the bid
deadline must move the deadline to at least that many days after the notice; otherwise it is refused
with :class:`~tendering.errors.TooLate` ``amendment-requires-new-deadline``, which says the earliest
acceptable deadline. Tenderers ask questions until the clarification deadline; the agency sees the
text, never the author, and answers with a clarification notice.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal
from zoneinfo import ZoneInfo

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from tendering.errors import Conflict, Forbidden, InvalidInput, TooLate
from tendering.identity.audit import Actor
from tendering.tenders import supervision
from tendering.tenders.events import log_event, new_salt, record_commitment
from tendering.tenders.models import Tender
from tendering.tenders.notice_models import (
    ClarificationQuestion,
    DocumentDownload,
    NoticeDelivery,
    TenderDocument,
    TenderNotice,
)
from tendering.tenders.procedures import ProcedureRules
from tendering.tenders.rules import amendment_window, check_timetable, refuse
from tendering.tenders.spec import utc_text
from tendering.tenders.store import apply_timetable, load, spec_of, tender_not_found, timetable_of, unit
from tendering.tenders.workflow import State, ensure_allowed, transition

if TYPE_CHECKING:
    from tendering.platform import Platform


class AmendmentSpec(BaseModel):
    """A clarification or amendment notice, with the timetable changes and released documents it makes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["clarification", "amendment"] = "amendment"
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100_000)]
    new_bid_deadline: datetime | None = None
    new_evaluation_date: datetime | None = None
    new_document_period_end: datetime | None = None
    new_clarification_deadline: datetime | None = None
    #: Questions this notice answers.
    answers: tuple[uuid.UUID, ...] = Field(default=(), max_length=500)
    #: Staged document versions (uploaded after publication) this notice releases.
    documents: tuple[uuid.UUID, ...] = Field(default=(), max_length=200)


def new_notice(
    session: Session,
    tender: Tender,
    kind: str,
    title: str,
    body: str,
    *,
    now: datetime,
    previous_deadline: datetime | None = None,
    new_deadline: datetime | None = None,
) -> TenderNotice:
    """Add the tender's next notice (numbered 1, 2, ...)."""
    number = (
        session.scalar(select(func.max(TenderNotice.number)).where(TenderNotice.tender_id == tender.id)) or 0
    ) + 1
    content: dict[str, Any] = {
        "tender": str(tender.id),
        "number": number,
        "kind": kind,
        "title": title,
        "body": body,
    }
    if new_deadline is not None:
        content["new_bid_deadline"] = utc_text(new_deadline)
    notice = TenderNotice(
        id=uuid.uuid4(),
        tender_id=tender.id,
        number=number,
        kind=kind,
        title=title,
        body=body,
        published_at=now,
        previous_bid_deadline=previous_deadline,
        new_bid_deadline=new_deadline,
        content_sha256=hashlib.sha256(bytes(rfc8785.dumps(content))).hexdigest(),
    )
    session.add(notice)
    tender.public_changed_at = now  # the notice changes the public view (the OCDS export's order)
    session.flush()
    return notice


def deliver_notice(session: Session, notice: TenderNotice, now: datetime) -> int:
    """Deliver ``notice`` to every organisation that obtained the tender's documents."""
    recipients = session.scalars(
        select(DocumentDownload.organisation_id)
        .where(DocumentDownload.tender_id == notice.tender_id)
        .distinct()
    ).all()
    for organisation_id in recipients:
        session.add(NoticeDelivery(notice_id=notice.id, organisation_id=organisation_id, delivered_at=now))
    return len(recipients)


def _aware(when: datetime | None, zone: str) -> datetime | None:
    if when is None or when.tzinfo is not None:
        return when
    return when.replace(tzinfo=ZoneInfo(zone))


def _timetable_changes(
    tender: Tender, spec: AmendmentSpec, now: datetime, rules: ProcedureRules
) -> dict[str, Any]:
    earliest = amendment_window(rules, now)
    zone = tender.time_zone
    changes: dict[str, Any] = {}
    deadline = _aware(spec.new_bid_deadline, zone)
    if deadline is not None:
        if deadline < earliest:
            raise InvalidInput(
                f"a deadline moved by a notice published now must be at least "
                f"{rules.amendment_min_days_before_deadline} days away: "
                f"not before {utc_text(earliest)} (Law Art. 23)",
                code="new-deadline-too-early",
                earliest=utc_text(earliest),
            )
        changes["bid_deadline"] = deadline
        if spec.new_evaluation_date is None and deadline > tender.bid_deadline:
            # the evaluation keeps its distance from the opening unless the notice sets it
            changes["evaluation_date"] = tender.evaluation_date + (deadline - tender.bid_deadline)
    elif tender.bid_deadline < earliest:
        raise TooLate(
            f"this notice would be published less than {rules.amendment_min_days_before_deadline} days "
            f"before the bid deadline {utc_text(tender.bid_deadline)} (Law Art. 23); "
            f"it must move the deadline to {utc_text(earliest)} or later",
            code="amendment-requires-new-deadline",
            earliest=utc_text(earliest),
        )
    for field in ("evaluation_date", "document_period_end", "clarification_deadline"):
        value = _aware(getattr(spec, f"new_{field}"), zone)
        if value is not None:
            changes[field] = value
    if changes:
        refuse(check_timetable(timetable_of(tender).model_copy(update=changes), rules))
    return changes


def _answer_questions(
    session: Session, tender: Tender, notice: TenderNotice, ids: tuple[uuid.UUID, ...], now: datetime
) -> None:
    for question_id in ids:
        question = session.get(ClarificationQuestion, question_id)
        if question is None or question.tender_id != tender.id:
            raise InvalidInput(f"no question {question_id} on this tender", code="question-unknown")
        if question.answered_at is not None:
            raise Conflict(f"question {question_id} is already answered", code="question-answered")
        question.answered_at, question.notice_id = now, notice.id
        supervision.close_step(session, tender.id, "clarification_answer", now, subject=str(question.id))


def _release_documents(
    session: Session, tender: Tender, notice: TenderNotice, ids: tuple[uuid.UUID, ...], now: datetime
) -> None:
    for document_id in ids:
        document = session.get(TenderDocument, document_id)
        if document is None or document.tender_id != tender.id or document.released_at is not None:
            raise InvalidInput(
                f"document {document_id} is not a staged version of this tender", code="document-not-staged"
            )
        document.released_at, document.notice_id = now, notice.id


def amend(platform: Platform, tender_id: uuid.UUID, spec: AmendmentSpec, *, actor: Actor) -> TenderNotice:
    """Publish a clarification or amendment notice on a published tender before its deadline."""
    now = platform.clock.now()
    with unit(platform) as session:
        tender = load(session, tender_id, lock=True)
        if tender.agency_id != actor.identity_id:
            raise tender_not_found()
        ensure_allowed(tender, "amend", actor)
        if now >= tender.bid_deadline:
            raise TooLate(
                "the bid deadline has passed; the documents can no longer change", code="tender-closed"
            )
        rules = platform.procedures.rules(tender.procedure, tender.region)
        changes = _timetable_changes(tender, spec, now, rules)
        previous = tender.bid_deadline
        moved = changes.get("bid_deadline")
        notice = new_notice(
            session,
            tender,
            spec.kind,
            spec.title,
            spec.body,
            now=now,
            previous_deadline=previous if moved else None,
            new_deadline=moved,
        )
        _answer_questions(session, tender, notice, spec.answers, now)
        _release_documents(session, tender, notice, spec.documents, now)
        if changes:
            apply_timetable(tender, timetable_of(tender).model_copy(update=changes))
            tender.content_sha256 = spec_of(session, tender).sha256()
        delivered = deliver_notice(session, notice, now)
        del delivered  # how many obtained the documents stays confidential, even from the log
        data: dict[str, Any] = {
            "notice": str(notice.id),
            "number": notice.number,
            "kind": notice.kind,
            "notice_sha256": notice.content_sha256,
        }
        if moved is not None:
            data["bid_deadline"] = utc_text(moved)
        transition(
            platform, session, tender, "amend", actor, details={"notice": str(notice.id)}, log_data=data
        )
        session.flush()
        return notice


def _has_obtained(session: Session, tender_id: uuid.UUID, organisation_id: uuid.UUID) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    DocumentDownload.tender_id == tender_id,
                    DocumentDownload.organisation_id == organisation_id,
                )
            )
        )
    )


def ask_question(
    platform: Platform, tender_id: uuid.UUID, text: str, *, actor: Actor
) -> ClarificationQuestion:
    """A tenderer that obtained the documents asks for a clarification (until the clarification deadline)."""
    text = text.strip()
    if not text or len(text) > 20_000:
        raise InvalidInput("a question needs a text of at most 20000 characters", code="question-invalid")
    now = platform.clock.now()
    with unit(platform) as session:
        tender = load(session, tender_id)
        if tender.published_at is None or actor.identity_id is None:
            raise tender_not_found()
        if tender.state != State.PUBLISHED or now > tender.clarification_deadline:
            raise TooLate("questions on this tender are closed", code="clarification-closed")
        if not _has_obtained(session, tender.id, actor.identity_id):
            raise Forbidden(
                "only tenderers that obtained the documents may ask", code="documents-not-obtained"
            )
        salt = new_salt()
        question = ClarificationQuestion(
            id=uuid.uuid4(),
            tender_id=tender.id,
            organisation_id=actor.identity_id,
            text=text,
            asked_at=now,
            salt=salt,
        )
        session.add(question)
        rules = platform.procedures.rules(tender.procedure, tender.region)
        supervision.open_step(
            session,
            tender,
            rules,
            "clarification_answer",
            started_at=now,
            subject=str(question.id),
            confidential=True,
        )
        record = {
            "kind": "question",
            "question": str(question.id),
            "tender": str(tender.id),
            "organisation": str(actor.identity_id),
            "text_sha256": hashlib.sha256(text.encode()).hexdigest(),
            "time": utc_text(now),
        }
        log_event(
            platform, session, "tender.question_asked", actor, None, record=record_commitment(salt, record)
        )
        return question


def questions_for_agency(
    session: Session, tender_id: uuid.UUID, agency_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The questions on a tender, without their authors."""
    tender = load(session, tender_id)
    if tender.agency_id != agency_id:
        raise tender_not_found()
    rows = session.scalars(
        select(ClarificationQuestion)
        .where(ClarificationQuestion.tender_id == tender_id)
        .order_by(ClarificationQuestion.asked_at)
    ).all()
    return [
        {
            "id": str(q.id),
            "text": q.text,
            "asked_at": utc_text(q.asked_at),
            "answered_at": utc_text(q.answered_at) if q.answered_at else None,
            "notice_id": str(q.notice_id) if q.notice_id else None,
        }
        for q in rows
    ]


def notices_delivered_to(session: Session, organisation_id: uuid.UUID) -> list[dict[str, Any]]:
    """Notices delivered to an organisation (its own inbox), newest first."""
    rows = session.execute(
        select(NoticeDelivery, TenderNotice, Tender.title)
        .join(TenderNotice, TenderNotice.id == NoticeDelivery.notice_id)
        .join(Tender, Tender.id == TenderNotice.tender_id)
        .where(NoticeDelivery.organisation_id == organisation_id)
        .order_by(NoticeDelivery.delivered_at.desc(), TenderNotice.number.desc())
    ).all()
    return [
        {
            "tender": {"id": str(n.tender_id), "title": title},
            "notice": str(n.id),
            "number": n.number,
            "kind": n.kind,
            "title": n.title,
            "delivered_at": utc_text(d.delivered_at),
            "new_bid_deadline": utc_text(n.new_bid_deadline) if n.new_bid_deadline else None,
        }
        for d, n, title in rows
    ]
