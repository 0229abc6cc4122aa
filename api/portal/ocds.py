"""OCDS 1.1 endpoints: the bulk release package paged by date, and per-tender releases and records."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Controller, Request, Response, get
from litestar.params import FromPath

from api.auth import PUBLIC
from api.deps import PlatformDep
from api.portal.sources import PORTAL_DEPENDENCIES, PublicTendersDep
from tendering.errors import InvalidInput, NotFound
from tendering.ocds.bulk import format_cursor, parse_cursor, release_page
from tendering.ocds.mapping import record_package, release_package, releases
from tendering.ocds.opening import published_opening_releases

PUBLISHER: Final[str] = "sealbid"
MAX_LIMIT: Final[int] = 1000


def _moment(raw: str | None, name: str) -> datetime | None:
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise InvalidInput(
            f"{name} must be an RFC 3339 time with a zone, e.g. 2026-03-01T00:00:00Z",
            code="invalid-query",
            parameter=name,
        )
    return moment


def _limit(raw: str | None) -> int:
    if not raw:
        return 100
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidInput(f"limit must be 1..{MAX_LIMIT}", code="invalid-query", parameter="limit")
    return int(raw)


class OcdsController(Controller):
    """Open Contracting Data Standard 1.1 publication."""

    path = "/ocds"
    opt = dict(PUBLIC)  # noqa: RUF012 - Litestar layer attribute
    dependencies = PORTAL_DEPENDENCIES
    tags = ["ocds"]  # noqa: RUF012 - Litestar layer attribute

    @get("/releases", sync_to_thread=True, summary="Bulk release package, paged by date of change")
    def bulk(
        self, request: Request[Any, Any, Any], platform: PlatformDep, tenders: PublicTendersDep
    ) -> Response[Any]:
        """Releases of tenders that changed in ``[since, until)``; ``links.next`` (and a ``Link`` header)
        continue with the ``after`` cursor. ``limit`` counts tenders per page (1..1000)."""
        params = request.query_params
        since, until = _moment(params.get("since"), "since"), _moment(params.get("until"), "until")
        if since and until and since >= until:
            raise InvalidInput(
                "since must be before until (the range [since, until) would be empty)",
                code="invalid-range",
                parameter="until",
            )
        after = parse_cursor(params["after"]) if params.get("after") else None
        limit = _limit(params.get("limit"))
        base_url = platform.settings.public_url.rstrip("/")
        prefix = platform.settings.ocid_prefix
        page = release_page(
            tenders,
            since=since,
            until=until,
            after=after,
            limit=limit,
            base_url=base_url,
            prefix=prefix,
            extra=lambda ids: published_opening_releases(platform.session_factory, ids, prefix=prefix),
        )
        if not page.releases:
            # A release package holds at least one release (OCDS 1.1 release-package schema, minItems 1),
            # so an empty page is not a package: the answer is a problem that says so.
            raise NotFound("no releases changed in this range (after this cursor)", code="no-releases")
        package = release_package(
            page.releases,
            uri=base_url + str(request.url.path) + (f"?{request.url.query}" if request.url.query else ""),
            published=platform.clock.now(),
            publisher=PUBLISHER,
        )
        headers = {}
        if page.next_cursor:
            keep = {k: v for k, v in params.items() if k in ("since", "until", "limit") and v}
            next_url = (
                f"{base_url}/ocds/releases?{urlencode({**keep, 'after': format_cursor(page.next_cursor)})}"
            )
            package["links"] = {"next": next_url}
            headers["Link"] = f'<{next_url}>; rel="next"'
        return Response(package, media_type="application/json", headers=headers)

    @get("/tenders/{tender_id:uuid}/releases", sync_to_thread=True, summary="Release package of one tender")
    def tender_releases(
        self, platform: PlatformDep, tenders: PublicTendersDep, tender_id: FromPath[uuid.UUID]
    ) -> dict[str, Any]:
        """Every release of one tender."""
        tender = tenders.get(tender_id)
        base_url = platform.settings.public_url.rstrip("/")
        prefix = platform.settings.ocid_prefix
        opening = published_opening_releases(platform.session_factory, [tender_id], prefix=prefix)
        return release_package(
            releases(tender, base_url=base_url, prefix=prefix, extra=opening.get(tender_id, [])),
            uri=f"{base_url}/ocds/tenders/{tender_id}/releases",
            published=platform.clock.now(),
            publisher=PUBLISHER,
        )

    @get("/tenders/{tender_id:uuid}/record", sync_to_thread=True, summary="Record package of one tender")
    def tender_record(
        self, platform: PlatformDep, tenders: PublicTendersDep, tender_id: FromPath[uuid.UUID]
    ) -> dict[str, Any]:
        """The record of one tender: its releases and the compiled release."""
        tender = tenders.get(tender_id)
        base_url = platform.settings.public_url.rstrip("/")
        prefix = platform.settings.ocid_prefix
        opening = published_opening_releases(platform.session_factory, [tender_id], prefix=prefix)
        return record_package(
            tender,
            uri=f"{base_url}/ocds/tenders/{tender_id}/record",
            base_url=base_url,
            published=platform.clock.now(),
            publisher=PUBLISHER,
            prefix=prefix,
            extra=opening.get(tender_id, []),
        )
