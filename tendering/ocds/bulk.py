"""Bulk OCDS export: release packages paged by the date tenders last changed.

A page holds every release of up to ``limit`` tenders, taken in ``(last change, tender id)`` order from
``since``; the cursor of the last tender continues the walk. A full crawl at one instant sees every
release exactly once; an incremental crawl (``since`` = the last harvest) sees the releases of every
tender that changed since, the older ones again (releases are identified by ``ocid`` + ``id``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tendering.errors import InvalidInput
from tendering.ocds.mapping import DEFAULT_OCID_PREFIX, releases
from tendering.search.query import Cursor, PublicTenders


@dataclass(frozen=True)
class ReleasePage:
    """The releases of one page and the cursor for the next page (None at the end)."""

    releases: list[dict[str, Any]]
    next_cursor: Cursor | None


def format_cursor(cursor: Cursor) -> str:
    """The cursor as a URL-safe token."""
    return f"{cursor[0].isoformat()}~{cursor[1]}"


def parse_cursor(token: str) -> Cursor:
    """Read a cursor token (InvalidInput if malformed)."""
    moment, _, ident = token.partition("~")
    try:
        when = datetime.fromisoformat(moment)
        if when.tzinfo is None:
            raise ValueError(moment)
        return when, uuid.UUID(ident)
    except ValueError:
        raise InvalidInput(
            "after is not a cursor this server issued", code="invalid-query", parameter="after"
        ) from None


def release_page(
    source: PublicTenders,
    *,
    since: datetime | None,
    until: datetime | None,
    after: Cursor | None,
    limit: int,
    base_url: str,
    prefix: str = DEFAULT_OCID_PREFIX,
    extra: Callable[[Iterable[uuid.UUID]], Mapping[uuid.UUID, list[dict[str, Any]]]] | None = None,
) -> ReleasePage:
    """One page of the bulk release export (``extra``: releases kept elsewhere, by tender id)."""
    tenders = list(source.changed(since, until, after=after, limit=limit + 1))
    more = len(tenders) > limit
    tenders = tenders[:limit]
    kept = extra([tender.id for tender in tenders]) if extra else {}
    items = [
        item
        for tender in tenders
        for item in releases(tender, base_url=base_url, prefix=prefix, extra=kept.get(tender.id, ()))
    ]
    last = tenders[-1] if tenders else None
    cursor = (last.changed_at, last.id) if more and last else None
    return ReleasePage(items, cursor)
