"""HTML pages: the announcement list with search and filters, and the tender detail page."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.params import FromPath
from litestar.response import Redirect

from api.auth import PUBLIC
from api.deps import PlatformDep
from api.portal.rendering import render
from api.portal.sources import PORTAL_DEPENDENCIES, PublicTendersDep
from tendering.search.query import CATEGORIES, STATUSES, parse_query
from tendering.search.views import DocumentView, TenderView


def timeline(tender: TenderView) -> list[tuple[str, datetime]]:
    """The dated events of a tender in time order, as ``(catalog key, moment)``."""
    table = tender.timetable
    events: list[tuple[str, datetime | None]] = [
        ("published", tender.published),
        ("document_start", table.document_start),
        ("document_end", table.document_end),
        ("clarification_deadline", table.clarification_deadline),
        ("bid_deadline", table.bid_deadline),
        ("evaluation", table.evaluation),
    ]
    events += [("amended", n.published) for n in tender.notices if n.kind == "amendment"]
    events += [("cancelled", n.published) for n in tender.notices if n.kind == "cancellation"]
    return sorted(((key, moment) for key, moment in events if moment is not None), key=lambda event: event[1])


def download_url(tender: TenderView, document: DocumentView) -> str:
    """Where the tender page posts a signed-in tenderer's download (``api/portal/downloads.py``; the
    API's bearer-token download is ``/tenders/{id}/documents/{document}/download``)."""
    return f"/announcements/{tender.id}/documents/{document.id}/download"


class PortalPages(Controller):
    """Server-rendered public pages."""

    path = "/"
    opt = dict(PUBLIC)  # noqa: RUF012 - Litestar layer attribute
    include_in_schema = False
    dependencies = PORTAL_DEPENDENCIES

    @get("/", sync_to_thread=False)
    def home(self) -> Redirect:
        """The portal starts at the announcement list."""
        return Redirect("/announcements")

    @get("/announcements", sync_to_thread=True)
    def announcements(
        self, request: Request[Any, Any, Any], platform: PlatformDep, tenders: PublicTendersDep
    ) -> Response[str]:
        """The announcement list: free-text search (Chinese included), filters, pages."""
        query = parse_query(dict(request.query_params))
        return render(
            request,
            platform,
            "announcements.html",
            query=query,
            result=tenders.search(query),
            categories=CATEGORIES,
            statuses=STATUSES,
            regions=tenders.regions(),
        )

    @get("/announcements/{tender_id:uuid}", sync_to_thread=True)
    def tender(
        self,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        tenders: PublicTendersDep,
        tender_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        """One tender: facts, timeline, lots, documents, clarifications and amendments."""
        tender = tenders.get(tender_id)
        return render(
            request,
            platform,
            "tender.html",
            time_zone=tender.time_zone,
            tender=tender,
            timeline=timeline(tender),
            download_url=download_url,
        )
