"""The database-backed :class:`PublicTenders`: the tender domain's public read functions plus full-text
search (``tendering.search.fulltext``).

Filtering reuses :func:`tendering.tenders.queries.public_statement` (published tenders only); the detail
comes from :func:`tendering.tenders.queries.public_tender`, which leaves out unreleased documents and
everything confidential. This module only reshapes those answers into :mod:`tendering.search.views`.
"""

from __future__ import annotations

import time
import uuid
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Final, cast

from sqlalchemy import Select, func, select, text, tuple_
from sqlalchemy.orm import Session, aliased, sessionmaker

from tendering.identity.models import Organisation
from tendering.search import fulltext
from tendering.search.query import AnnouncementQuery, Cursor, PublicTenders, ResultPage
from tendering.search.views import (
    DocumentView,
    LotView,
    Money,
    NoticeKind,
    NoticeView,
    PartyView,
    TenderView,
    Timetable,
)
from tendering.tenders import queries
from tendering.tenders.models import Tender, TenderLot
from tendering.tenders.notice_models import TenderDocument, TenderNotice
from tendering.tenders.procedures import ProcedureTable, default_table
from tendering.tenders.views import TenderDetail

_KINDS: dict[str, NoticeKind] = {
    "clarification": "amendment",
    "amendment": "amendment",
    "cancellation": "cancellation",
}


def _money(money: Any) -> Money | None:
    return Money(money.amount, money.currency) if money is not None else None


def to_view(detail: TenderDetail) -> TenderView:
    """Reshape the domain's public detail into the portal's view."""
    summary, spec = detail.summary, detail.spec
    published = summary.published_at or summary.publication_time
    notices = [NoticeView(summary.id, "tender", published, summary.title, spec.description)]
    notices += [
        NoticeView(n.id, _KINDS.get(n.kind, "amendment"), n.published_at, n.title, n.body)
        for n in detail.notices
    ]
    timetable = spec.timetable
    return TenderView(
        id=summary.id,
        reference=summary.project_code,
        title=summary.title,
        project=summary.project_name,
        description=spec.description,
        category=summary.category,
        region=summary.region,
        procedure=summary.procedure,
        status=summary.state,
        tenderee=PartyView(summary.tenderee.id, summary.tenderee.name, summary.tenderee.uscc),
        agency=PartyView(summary.agency.id, summary.agency.name, summary.agency.uscc),
        published=published,
        timetable=Timetable(
            document_start=timetable.document_period_start,
            document_end=timetable.document_period_end,
            clarification_deadline=timetable.clarification_deadline,
            bid_deadline=summary.bid_deadline,
            evaluation=timetable.evaluation_date,
        ),
        time_zone=summary.time_zone,
        lots=tuple(
            LotView(
                uuid.uuid5(summary.id, f"lot-{lot.number}"),
                lot.number,
                lot.name,
                _money(lot.estimated_price),
                _money(lot.ceiling_price),
                _money(lot.bid_bond),
            )
            for lot in spec.lots
        ),
        documents=tuple(
            DocumentView(d.id, d.name, d.size, d.sha256, d.version, d.media_type, d.released_at)
            for d in detail.documents
        ),
        notices=tuple(notices),
        cancel_reason=detail.end_reason,
        updated=summary.public_changed_at,
    )


def notices_by_tender(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[TenderNotice]]:
    """The published notices of several tenders in one query, each tender's in order."""
    grouped: dict[uuid.UUID, list[TenderNotice]] = {}
    if not ids:
        return grouped
    rows = session.scalars(
        select(TenderNotice)
        .where(TenderNotice.tender_id.in_(ids))
        .order_by(TenderNotice.tender_id, TenderNotice.number)
    )
    for notice in rows:
        grouped.setdefault(notice.tender_id, []).append(notice)
    return grouped


def summary_view(
    tender: Tender, agency: Organisation, tenderee: Organisation, notices: Iterable[TenderNotice]
) -> TenderView:
    """A published tender as the announcement list and the feed show it: the same facts, timetable and
    notices as :func:`to_view`, without lots and documents."""
    published = tender.published_at or tender.publication_time
    views = [NoticeView(tender.id, "tender", published, tender.title, tender.description)]
    views += [
        NoticeView(n.id, _KINDS.get(n.kind, "amendment"), n.published_at, n.title, n.body) for n in notices
    ]
    return TenderView(
        id=tender.id,
        reference=tender.project_code,
        title=tender.title,
        project=tender.project_name,
        description=tender.description,
        category=tender.category,
        region=tender.region,
        procedure=tender.procedure,
        status=tender.state,
        tenderee=PartyView(tenderee.identity_id, tenderee.name, tenderee.uscc),
        agency=PartyView(agency.identity_id, agency.name, agency.uscc),
        published=published,
        timetable=Timetable(
            document_start=tender.document_period_start,
            document_end=tender.document_period_end,
            clarification_deadline=tender.clarification_deadline,
            bid_deadline=tender.bid_deadline,
            evaluation=tender.evaluation_date,
        ),
        time_zone=tender.time_zone,
        notices=tuple(views),
        cancel_reason=tender.end_reason,
        updated=tender.public_changed_at,
    )


def full_views(session: Session, ids: list[uuid.UUID]) -> list[TenderView]:
    """The public views of several published tenders (in ``ids`` order) with five queries in all;
    the same views as :func:`to_view` of the domain's detail (a test holds them equal)."""
    if not ids:
        return []
    agency, tenderee = aliased(Organisation), aliased(Organisation)
    rows = session.execute(
        select(Tender, agency, tenderee)
        .join(agency, agency.identity_id == Tender.agency_id)
        .join(tenderee, tenderee.identity_id == Tender.tenderee_id)
        .where(Tender.id.in_(ids), Tender.published_at.is_not(None))
    ).all()
    lots: dict[uuid.UUID, list[LotView]] = {}
    for lot in session.scalars(
        select(TenderLot).where(TenderLot.tender_id.in_(ids)).order_by(TenderLot.tender_id, TenderLot.number)
    ):
        lots.setdefault(lot.tender_id, []).append(
            LotView(
                uuid.uuid5(lot.tender_id, f"lot-{lot.number}"),
                lot.number,
                lot.name,
                _amount(lot.estimated_price, lot.currency),
                _amount(lot.ceiling_price, lot.currency),
                _amount(lot.bid_bond, lot.currency),
            )
        )
    documents: dict[uuid.UUID, list[DocumentView]] = {}
    for d in session.scalars(
        select(TenderDocument)
        .where(TenderDocument.tender_id.in_(ids), TenderDocument.released_at.is_not(None))
        .order_by(TenderDocument.tender_id, TenderDocument.name, TenderDocument.version)
    ):
        documents.setdefault(d.tender_id, []).append(
            DocumentView(d.id, d.name, d.size, d.sha256, d.version, d.media_type, d.released_at)
        )
    notices = notices_by_tender(session, ids)
    views = {
        t.id: replace(
            summary_view(t, a, e, notices.get(t.id, ())),
            lots=tuple(lots.get(t.id, ())),
            documents=tuple(documents.get(t.id, ())),
        )
        for t, a, e in rows
    }
    return [views[tender_id] for tender_id in ids if tender_id in views]


def _amount(amount: Decimal | None, currency: str) -> Money | None:
    return Money(amount, currency) if amount is not None else None


def changed_statement(
    since: datetime | None, until: datetime | None, *, after: Cursor | None = None, limit: int
) -> Select[uuid.UUID, datetime | None]:
    """``(id, public_changed_at)`` of published tenders that changed in ``[since, until)`` after the
    ``after`` cursor, in ``(public_changed_at, id)`` order, at most ``limit``: the bulk export's query,
    which walks the ``ix_tenders_public_changed_at_id`` index and stops after ``limit`` rows."""
    changed_at = Tender.public_changed_at
    statement = select(Tender.id, changed_at).where(changed_at.is_not(None))
    if since:
        statement = statement.where(changed_at >= since)
    if until:
        statement = statement.where(changed_at < until)
    if after:
        statement = statement.where(tuple_(changed_at, Tender.id) > tuple_(after[0], after[1]))
    return statement.order_by(changed_at, Tender.id).limit(limit)


def list_statement(query: AnnouncementQuery) -> Select[Any]:
    """The announcement list's statement for ``query`` (newest first; the caller pages and counts)."""
    since, until = query.since(), query.until()
    filters = queries.PublicFilter(
        category=query.category,
        region=query.region,
        state=query.status,
        published_from=since,
        published_to=until + timedelta(microseconds=1) if until else None,
    )
    statement = queries.public_statement(filters)
    for term in query.terms:
        statement = statement.where(fulltext.matches(term))
    return statement


class DatabasePublicTenders(PublicTenders):
    """Published tenders read from the database."""

    def __init__(
        self, session_factory: sessionmaker[Session], procedures: ProcedureTable | None = None
    ) -> None:
        """``procedures``: the platform's procedure table (the shipped one for tools that have no
        platform; the public views show no rules)."""
        self.session_factory = session_factory
        self.procedures = procedures or default_table()

    def search(self, query: AnnouncementQuery) -> ResultPage:
        """Filters through the domain's public query, text through the full-text index.

        The items are list summaries (:func:`summary_view`: no lots or documents, which the list and the
        feed do not show), built from the page's rows plus one query for their notices, so a page costs
        three queries whatever its size."""
        statement = list_statement(query)
        with self.session_factory() as session:
            if query.terms and session.get_bind().dialect.name == "postgresql":
                # A generic plan cannot see the search pattern and scans every tender (psycopg prepares
                # repeated statements); plan each search with its terms so the trigram indexes are used.
                session.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
            total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
            rows = session.execute(statement.limit(query.per_page).offset(query.offset)).all()
            ids = [cast(Any, row)[0].id for row in rows]  # (Tender, agency, tenderee, lot count)
            notices = notices_by_tender(session, ids)
            items = tuple(summary_view(row[0], row[1], row[2], notices.get(row[0].id, ())) for row in rows)
            return ResultPage(items, int(total), query)

    def get(self, tender_id: uuid.UUID) -> TenderView:
        """One published tender (NotFound otherwise)."""
        with self.session_factory() as session:
            return to_view(queries.public_tender(session, tender_id, self.procedures))

    def changed(
        self, since: datetime | None, until: datetime | None, *, after: Cursor | None = None, limit: int
    ) -> Iterator[TenderView]:
        """Published tenders by ``(public_changed_at, id)``: a range scan of their index."""
        with self.session_factory() as session:
            ids = [
                row[0] for row in session.execute(changed_statement(since, until, after=after, limit=limit))
            ]
            views = full_views(session, ids)
        return iter(views)

    def published_count(self) -> int:
        """Published tenders, counted on the ``published_at`` index."""
        with self.session_factory() as session:
            return int(
                session.scalar(
                    select(func.count()).select_from(Tender).where(Tender.published_at.is_not(None))
                )
                or 0
            )

    def sitemap_entries(self, offset: int, limit: int) -> list[tuple[uuid.UUID, datetime]]:
        """Two columns per tender, nothing else: ``(id, public_changed_at)`` in ``(published_at, id)``
        order (the last change falls back to the publication for rows written without it)."""
        statement = (
            select(Tender.id, func.coalesce(Tender.public_changed_at, Tender.published_at))
            .where(Tender.published_at.is_not(None))
            .order_by(Tender.published_at, Tender.id)
            .offset(offset)
            .limit(limit)
        )
        with self.session_factory() as session:
            return [(row[0], row[1]) for row in session.execute(statement)]

    def regions(self) -> tuple[str, ...]:
        """Regions that have published tenders (remembered for :data:`REGIONS_TTL` seconds per database:
        the filter list changes rarely, and reading it scans every published tender)."""
        now = time.monotonic()
        remembered = _REGIONS.get(self.session_factory)
        if remembered is not None and remembered[0] > now:
            return remembered[1]
        with self.session_factory() as session:
            rows = session.scalars(
                select(Tender.region)
                .where(Tender.published_at.is_not(None))
                .distinct()
                .order_by(Tender.region)
            )
            regions = tuple(rows)
        _REGIONS[self.session_factory] = (now + REGIONS_TTL, regions)
        return regions


#: How long the region filter list is reused before it is read again.
REGIONS_TTL: Final[float] = 60.0
_REGIONS: weakref.WeakKeyDictionary[sessionmaker[Session], tuple[float, tuple[str, ...]]] = (
    weakref.WeakKeyDictionary()
)


__all__ = [
    "DatabasePublicTenders",
    "changed_statement",
    "full_views",
    "list_statement",
    "notices_by_tender",
    "summary_view",
    "to_view",
]
