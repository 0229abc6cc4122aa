"""Read functions over tenders, one per audience: the public, the owning agency, the authority.

Everything here only reads; each function takes an open session. The public sees a tender once it has
been published (``published_at`` set), whatever happened to it afterwards (cancelled, failed).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session, aliased, selectinload

from tendering.identity.models import Organisation
from tendering.tenders.models import Tender, TenderLot, TenderTransition
from tendering.tenders.notice_models import ClarificationQuestion, TenderDocument, TenderNotice
from tendering.tenders.procedures import ProcedureTable
from tendering.tenders.store import load, spec_of, tender_not_found
from tendering.tenders.views import (
    DocumentView,
    NoticeView,
    OrgRef,
    TenderDetail,
    TenderSummary,
    TimelineEntry,
)

Agency = aliased(Organisation, name="agency_org")
Tenderee = aliased(Organisation, name="tenderee_org")


def _summary_query() -> Select[Any]:
    lots = select(func.count(TenderLot.id)).where(TenderLot.tender_id == Tender.id).scalar_subquery()
    return (
        select(Tender, Agency, Tenderee, lots)
        .join(Agency, Agency.identity_id == Tender.agency_id)
        .join(Tenderee, Tenderee.identity_id == Tender.tenderee_id)
    )


def _org(org: Organisation) -> OrgRef:
    return OrgRef(org.identity_id, org.uscc, org.name)


def _summary(tender: Tender, agency: Organisation, tenderee: Organisation, lots: int) -> TenderSummary:
    return TenderSummary(
        id=tender.id,
        state=tender.state,
        title=tender.title,
        project_name=tender.project_name,
        project_code=tender.project_code,
        procedure=tender.procedure,
        category=tender.category,
        region=tender.region,
        time_zone=tender.time_zone,
        agency=_org(agency),
        tenderee=_org(tenderee),
        publication_time=tender.publication_time,
        published_at=tender.published_at,
        bid_deadline=tender.bid_deadline,
        submitted_at=tender.submitted_at,
        lot_count=int(lots),
        public_changed_at=tender.public_changed_at,
    )


def summaries(session: Session, statement: Select[Any]) -> list[TenderSummary]:
    """Run a statement built on :func:`_summary_query` (filters and order applied by the caller)."""
    return [_summary(row[0], row[1], row[2], row[3]) for row in session.execute(statement).all()]


@dataclass(frozen=True)
class PublicFilter:
    """Filters of the public list. ``region`` matches a division and everything inside it."""

    category: str | None = None
    region: str | None = None
    state: str | None = None
    procedure: str | None = None
    published_from: datetime | None = None
    published_to: datetime | None = None
    #: Plain substring match on title, project name and code (the portal may add real full-text search).
    text: str | None = None


def _region_prefix(region: str) -> str:
    stripped = region.rstrip("0")
    return region[: max(2, len(stripped) + (len(stripped) % 2))]


def public_statement(filters: PublicFilter) -> Select[Any]:
    """The public list query (newest publication first), for reuse by the portal."""
    statement = _summary_query().where(Tender.published_at.is_not(None))
    if filters.category:
        statement = statement.where(Tender.category == filters.category)
    if filters.state:
        statement = statement.where(Tender.state == filters.state)
    if filters.procedure:
        statement = statement.where(Tender.procedure == filters.procedure)
    if filters.region:
        statement = statement.where(Tender.region.startswith(_region_prefix(filters.region), autoescape=True))
    if filters.published_from:
        statement = statement.where(Tender.published_at >= filters.published_from)
    if filters.published_to:
        statement = statement.where(Tender.published_at < filters.published_to)
    if filters.text:
        pattern = filters.text.strip()
        statement = statement.where(
            or_(
                Tender.title.contains(pattern, autoescape=True),
                Tender.project_name.contains(pattern, autoescape=True),
                Tender.project_code.contains(pattern, autoescape=True),
            )
        )
    return statement.order_by(Tender.published_at.desc(), Tender.id)


def list_public(
    session: Session, filters: PublicFilter | None = None, *, limit: int = 50, offset: int = 0
) -> tuple[int, list[TenderSummary]]:
    """Published tenders matching ``filters``: the total count and one page."""
    statement = public_statement(filters or PublicFilter())
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    return int(total), summaries(session, statement.limit(limit).offset(offset))


def agency_tenders(session: Session, agency_id: uuid.UUID, state: str | None = None) -> list[TenderSummary]:
    """The tenders of one agency, most recently changed first."""
    statement = _summary_query().where(Tender.agency_id == agency_id)
    if state:
        statement = statement.where(Tender.state == state)
    return summaries(session, statement.order_by(Tender.updated_at.desc(), Tender.id))


def review_queue(session: Session) -> list[TenderSummary]:
    """Tenders waiting for the authority's review, the longest waiting first."""
    statement = _summary_query().where(Tender.state == "pending_review")
    return summaries(session, statement.order_by(Tender.submitted_at, Tender.id))


def documents_of(session: Session, tender_id: uuid.UUID, *, released_only: bool) -> list[DocumentView]:
    """Document versions of a tender, by name and version; ``current`` marks each name's latest."""
    statement = select(TenderDocument).where(TenderDocument.tender_id == tender_id)
    if released_only:
        statement = statement.where(TenderDocument.released_at.is_not(None))
    rows = session.scalars(statement.order_by(TenderDocument.name, TenderDocument.version)).all()
    latest = {row.name: row.version for row in rows}
    return [
        DocumentView(
            row.id,
            row.name,
            row.version,
            row.sha256,
            row.size,
            row.media_type,
            row.uploaded_at,
            row.released_at,
            row.notice_id,
            latest[row.name] == row.version,
        )
        for row in rows
    ]


def notices_of(session: Session, tender_id: uuid.UUID) -> list[NoticeView]:
    """Published notices of a tender, in order."""
    notices = session.scalars(
        select(TenderNotice).where(TenderNotice.tender_id == tender_id).order_by(TenderNotice.number)
    ).all()
    questions: dict[uuid.UUID, list[str]] = {}
    for notice_id, text in session.execute(
        select(ClarificationQuestion.notice_id, ClarificationQuestion.text)
        .where(ClarificationQuestion.tender_id == tender_id, ClarificationQuestion.notice_id.is_not(None))
        .order_by(ClarificationQuestion.asked_at)
    ):
        if notice_id is not None:
            questions.setdefault(notice_id, []).append(text)
    documents: dict[uuid.UUID, list[uuid.UUID]] = {}
    for notice_id, document_id in session.execute(
        select(TenderDocument.notice_id, TenderDocument.id).where(
            TenderDocument.tender_id == tender_id, TenderDocument.notice_id.is_not(None)
        )
    ):
        if notice_id is not None:
            documents.setdefault(notice_id, []).append(document_id)
    return [
        NoticeView(
            n.id,
            n.tender_id,
            n.number,
            n.kind,
            n.title,
            n.body,
            n.published_at,
            n.previous_bid_deadline,
            n.new_bid_deadline,
            n.content_sha256,
            tuple(questions.get(n.id, ())),
            tuple(documents.get(n.id, ())),
        )
        for n in notices
    ]


def _timeline(session: Session, tender_id: uuid.UUID, *, public_only: bool) -> Sequence[TimelineEntry]:
    statement = select(TenderTransition).where(TenderTransition.tender_id == tender_id)
    if public_only:
        statement = statement.where(TenderTransition.public.is_(True))
    rows = session.scalars(statement.order_by(TenderTransition.sequence)).all()
    return [
        TimelineEntry(r.action, r.to_state, r.at, r.actor_role, r.content_sha256, tuple(r.reasons), r.public)
        for r in rows
    ]


def detail(session: Session, tender: Tender, audience: str, table: ProcedureTable) -> TenderDetail:
    """The detail of ``tender`` for ``audience`` (public, agency or authority), with its rules from
    ``table`` (the platform's procedure table); no access check here."""
    statement = _summary_query().where(Tender.id == tender.id).options(selectinload(Tender.lots))
    (summary,) = summaries(session, statement)
    public = audience == "public"
    return TenderDetail(
        summary=summary,
        spec=spec_of(session, tender),
        rules=table.rules(tender.procedure, tender.region),
        content_sha256=tender.content_sha256,
        version=tender.version,
        documents=tuple(documents_of(session, tender.id, released_only=public)),
        notices=tuple(notices_of(session, tender.id)),
        timeline=tuple(_timeline(session, tender.id, public_only=public)),
        end_code=tender.end_code if (not public or tender.published_at) else None,
        end_reason=tender.end_reason if (not public or tender.published_at) else None,
        audience=audience,
    )


def public_tender(session: Session, tender_id: uuid.UUID, table: ProcedureTable) -> TenderDetail:
    """A published tender as anyone may see it; NotFound for tenders never published."""
    tender = load(session, tender_id)
    if tender.published_at is None:
        raise tender_not_found()
    return detail(session, tender, "public", table)


def agency_tender(
    session: Session, tender_id: uuid.UUID, agency_id: uuid.UUID, table: ProcedureTable
) -> TenderDetail:
    """A tender as its own agency sees it; NotFound for another agency's tender."""
    tender = load(session, tender_id)
    if tender.agency_id != agency_id:
        raise tender_not_found()
    return detail(session, tender, "agency", table)


def authority_tender(session: Session, tender_id: uuid.UUID, table: ProcedureTable) -> TenderDetail:
    """A tender as the authority sees it (once it has been submitted at least once)."""
    tender = load(session, tender_id)
    if tender.submitted_at is None:
        raise tender_not_found()
    return detail(session, tender, "authority", table)
