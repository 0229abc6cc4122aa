"""The Atom feed of announcements (RFC 4287) and the sitemap (sitemaps.org 0.9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from litestar import Controller, Request, Response, get

from api.auth import PUBLIC
from api.deps import PlatformDep
from api.portal.rendering import environment, request_locale, url_with
from api.portal.sources import PORTAL_DEPENDENCIES, PublicTendersDep
from tendering.i18n import Catalog
from tendering.search.query import parse_query

#: Sitemaps hold at most 50,000 URLs; more tenders than that need a sitemap index (not yet needed).
SITEMAP_LIMIT: Final[int] = 50_000


def atom_time(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class FeedController(Controller):
    """Machine-readable announcement lists."""

    path = "/"
    opt = dict(PUBLIC)  # noqa: RUF012 - Litestar layer attribute
    dependencies = PORTAL_DEPENDENCIES
    tags = ["portal"]  # noqa: RUF012 - Litestar layer attribute

    @get("/feed.atom", sync_to_thread=True, summary="Atom feed of the newest announcements")
    def feed(
        self, request: Request[Any, Any, Any], platform: PlatformDep, tenders: PublicTendersDep
    ) -> Response[str]:
        """The newest announcements (same filters as the list page: q, category, region, status, from, to)."""
        params = dict(request.query_params)
        params.setdefault("per_page", "50")
        query = parse_query(params)
        result = tenders.search(query)
        base_url = platform.settings.public_url.rstrip("/")
        locale = request_locale(request, platform)
        newest = max((t.last_changed for t in result.items), default=platform.clock.now())
        body = (
            environment()
            .get_template("feed.atom.xml")
            .render(
                t=Catalog(locale),
                locale=locale,
                base_url=base_url,
                self_url=base_url + url_with(request),
                updated=atom_time(newest),
                tenders=result.items,
                atom_time=atom_time,
            )
        )
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    @get("/sitemap.xml", sync_to_thread=True, summary="Sitemap of the public pages")
    def sitemap(self, platform: PlatformDep, tenders: PublicTendersDep) -> Response[str]:
        """The announcement list and every published tender page."""
        body = (
            environment()
            .get_template("sitemap.xml")
            .render(
                base_url=platform.settings.public_url.rstrip("/"),
                tenders=list(tenders.changed(None, None, limit=SITEMAP_LIMIT)),
                atom_time=atom_time,
            )
        )
        return Response(body, media_type="application/xml; charset=utf-8")
