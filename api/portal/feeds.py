"""The Atom feed of announcements (RFC 4287) and the sitemap index with its sitemaps (sitemaps.org 0.9)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from litestar import Controller, Request, Response, get

from api.auth import PUBLIC
from api.deps import PlatformDep
from api.portal.rendering import environment, request_locale, url_with
from api.portal.sources import PORTAL_DEPENDENCIES, PublicTendersDep
from tendering.errors import NotFound
from tendering.i18n import Catalog
from tendering.search.query import parse_query

#: Tender pages per sitemap (the sitemaps.org protocol allows at most 50,000 URLs in one sitemap).
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

    @get("/sitemap.xml", sync_to_thread=True, summary="Sitemap index, and its sitemaps (?page=)")
    def sitemap(
        self, request: Request[Any, Any, Any], platform: PlatformDep, tenders: PublicTendersDep
    ) -> Response[str]:
        """Without ``page``: the sitemap index (sitemaps.org 0.9), naming ``?page=portal`` (the portal's
        own pages) and ``?page=1`` … ``?page=N`` (at most :data:`SITEMAP_LIMIT` tender pages each, in
        publication order, with their last change). A page beyond the end is 404 ``sitemap-page-unknown``."""
        base_url = platform.settings.public_url.rstrip("/")
        raw = request.query_params.get("page")
        limit = SITEMAP_LIMIT
        if raw is None:
            pages = -(-tenders.published_count() // limit)
            body = _render("sitemap_index.xml", base_url=base_url, pages=range(1, pages + 1))
        elif raw == "portal":
            body = _render("sitemap.xml", base_url=base_url, portal=True, entries=[], atom_time=atom_time)
        else:
            page = int(raw) if raw.isdigit() and len(raw) <= 9 else 0
            entries = tenders.sitemap_entries((page - 1) * limit, limit) if page >= 1 else []
            if not entries:
                raise NotFound(
                    f"no sitemap page {raw!r}: see {base_url}/sitemap.xml for the pages there are",
                    code="sitemap-page-unknown",
                )
            body = _render(
                "sitemap.xml", base_url=base_url, portal=False, entries=entries, atom_time=atom_time
            )
        return Response(body, media_type="application/xml; charset=utf-8")


def _render(template: str, **context: Any) -> str:
    return environment().get_template(template).render(**context)
