"""An in-memory :class:`~tendering.search.query.PublicTenders` (tests; the reference semantics)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime

from tendering.errors import NotFound
from tendering.search.query import AnnouncementQuery, Cursor, PublicTenders, ResultPage
from tendering.search.views import TenderView


def searchable_text(tender: TenderView) -> str:
    """The text a search looks in: titles, project, description, parties, region, reference, notices."""
    parts = [tender.title, tender.project, tender.description, tender.region, tender.reference]
    parts += [tender.tenderee.name, tender.agency.name if tender.agency else ""]
    parts += [lot.title for lot in tender.lots]
    parts += [f"{notice.title} {notice.body}" for notice in tender.notices]
    return "\n".join(parts).casefold()


def matches(tender: TenderView, query: AnnouncementQuery) -> bool:
    """Whether ``tender`` passes every filter and contains every search term (substring, any script)."""
    since, until = query.since(), query.until()
    checks = [
        query.category is None or tender.category == query.category,
        query.region is None or tender.region.startswith(query.region),
        query.status is None or tender.status == query.status,
        since is None or tender.published >= since,
        until is None or tender.published <= until,
    ]
    text = searchable_text(tender)
    return all(checks) and all(term.casefold() in text for term in query.terms)


class InMemoryPublicTenders(PublicTenders):
    """Published tender views held in a list."""

    def __init__(self, tenders: Iterable[TenderView] = ()) -> None:
        self.tenders = list(tenders)

    def search(self, query: AnnouncementQuery) -> ResultPage:
        """Filter, order newest first, cut one page."""
        found = sorted(
            (t for t in self.tenders if matches(t, query)),
            key=lambda t: (t.published, str(t.id)),
            reverse=True,
        )
        page = found[query.offset : query.offset + query.per_page]
        return ResultPage(tuple(page), len(found), query)

    def get(self, tender_id: uuid.UUID) -> TenderView:
        """The tender with ``tender_id`` or NotFound."""
        for tender in self.tenders:
            if tender.id == tender_id:
                return tender
        raise NotFound("no published tender with this id", code="tender-not-found")

    def changed(
        self, since: datetime | None, until: datetime | None, *, after: Cursor | None = None, limit: int
    ) -> Iterator[TenderView]:
        """Tenders by last change, oldest first, within ``[since, until)`` and after the cursor."""
        ordered = sorted(self.tenders, key=lambda t: (t.changed_at, str(t.id)))
        selected = [
            t
            for t in ordered
            if (since is None or t.changed_at >= since)
            and (until is None or t.changed_at < until)
            and (after is None or (t.changed_at, str(t.id)) > (after[0], str(after[1])))
        ]
        return iter(selected[:limit])

    def published_count(self) -> int:
        """How many views are held."""
        return len(self.tenders)

    def sitemap_entries(self, offset: int, limit: int) -> list[tuple[uuid.UUID, datetime]]:
        """``(id, changed_at)`` in ``(published, id)`` order, one slice."""
        ordered = sorted(self.tenders, key=lambda t: (t.published, str(t.id)))
        return [(t.id, t.changed_at) for t in ordered[offset : offset + limit]]

    def regions(self) -> tuple[str, ...]:
        """Distinct regions, sorted."""
        return tuple(sorted({t.region for t in self.tenders}))
