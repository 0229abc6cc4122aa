"""The database-backed :class:`PublicTenders`: the tender domain's public read functions plus full-text
search (``tendering.search.fulltext``).

Filtering reuses :func:`tendering.tenders.queries.public_statement` (published tenders only); the detail
comes from :func:`tendering.tenders.queries.public_tender`, which leaves out unreleased documents and
everything confidential. This module only reshapes those answers into :mod:`tendering.search.views`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.orm import Session, sessionmaker

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
from tendering.tenders.models import Tender
from tendering.tenders.notice_models import TenderNotice
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
    )


def last_changed() -> ColumnElement[datetime]:
    """SQL for when a tender's public view last changed: its newest notice, else its publication."""
    newest_notice = (
        select(func.max(TenderNotice.published_at))
        .where(TenderNotice.tender_id == Tender.id)
        .scalar_subquery()
    )
    return func.coalesce(newest_notice, Tender.published_at)


class DatabasePublicTenders(PublicTenders):
    """Published tenders read from the database."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def _views(self, session: Session, ids: list[uuid.UUID]) -> list[TenderView]:
        return [to_view(queries.public_tender(session, tender_id)) for tender_id in ids]

    def search(self, query: AnnouncementQuery) -> ResultPage:
        """Filters through the domain's public query, text through the full-text index."""
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
        with self.session_factory() as session:
            total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
            rows = session.execute(statement.limit(query.per_page).offset(query.offset)).all()
            ids = [cast(Any, row)[0].id for row in rows]  # (Tender, agency, tenderee, lot count)
            return ResultPage(tuple(self._views(session, ids)), int(total), query)

    def get(self, tender_id: uuid.UUID) -> TenderView:
        """One published tender (NotFound otherwise)."""
        with self.session_factory() as session:
            return to_view(queries.public_tender(session, tender_id))

    def changed(
        self, since: datetime | None, until: datetime | None, *, after: Cursor | None = None, limit: int
    ) -> Iterator[TenderView]:
        """Published tenders by ``(last change, id)``."""
        changed_at = last_changed().label("changed_at")
        statement = select(Tender.id, changed_at).where(Tender.published_at.is_not(None))
        if since:
            statement = statement.where(changed_at >= since)
        if until:
            statement = statement.where(changed_at < until)
        if after:
            statement = statement.where(
                or_(changed_at > after[0], and_(changed_at == after[0], Tender.id > after[1]))
            )
        statement = statement.order_by(changed_at, Tender.id).limit(limit)
        with self.session_factory() as session:
            ids = [row[0] for row in session.execute(statement)]
            views = self._views(session, ids)
        return iter(views)

    def regions(self) -> tuple[str, ...]:
        """Regions that have published tenders."""
        with self.session_factory() as session:
            rows = session.scalars(
                select(Tender.region)
                .where(Tender.published_at.is_not(None))
                .distinct()
                .order_by(Tender.region)
            )
            return tuple(rows)


__all__ = ["DatabasePublicTenders", "last_changed", "to_view"]
