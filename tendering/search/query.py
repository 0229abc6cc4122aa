"""What the public may ask of the announcements, checked once, and what a search answers.

:class:`PublicTenders` is the read side the portal, the feed, the sitemap and the OCDS endpoints use.
``tendering.search.memory`` implements it over a list (tests, and the reference behaviour);
``tendering.search.source`` over the tender domain's tables.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from typing import Final

from tendering.errors import InvalidInput
from tendering.search.views import TenderView

CATEGORIES: Final[tuple[str, ...]] = ("works", "goods", "services")
STATUSES: Final[tuple[str, ...]] = ("published", "cancelled", "failed")  # tendering.tenders.workflow.State
MAX_PER_PAGE: Final[int] = 100
MAX_TEXT: Final[int] = 100


@dataclass(frozen=True)
class AnnouncementQuery:
    """A checked announcement search: free text, filters, one page."""

    text: str = ""
    category: str | None = None
    region: str | None = None  # GB/T 2260 code or prefix (42 = Hubei, 4201 = Wuhan)
    status: str | None = None
    published_from: date | None = None
    published_to: date | None = None
    page: int = 1
    per_page: int = 20

    @property
    def terms(self) -> tuple[str, ...]:
        """The whitespace-separated search terms (every one must match)."""
        return tuple(self.text.split())

    @property
    def offset(self) -> int:
        """Rows before this page."""
        return (self.page - 1) * self.per_page

    def since(self) -> datetime | None:
        """Start of ``published_from`` (UTC midnight) or None."""
        return datetime.combine(self.published_from, time.min, UTC) if self.published_from else None

    def until(self) -> datetime | None:
        """End of ``published_to`` (exclusive: next UTC midnight) or None."""
        if self.published_to is None:
            return None
        return datetime.combine(self.published_to, time.max, UTC)

    def with_page(self, page: int) -> AnnouncementQuery:
        """The same query on another page."""
        return replace(self, page=page)


@dataclass(frozen=True)
class ResultPage:
    """One page of announcements and the total count."""

    items: tuple[TenderView, ...]
    total: int
    query: AnnouncementQuery = field(default_factory=AnnouncementQuery)

    @property
    def pages(self) -> int:
        """How many pages the whole result has (at least 1)."""
        return max(1, -(-self.total // self.query.per_page))


def _int(params: Mapping[str, str | None], name: str, default: int, low: int, high: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number", code="invalid-query", parameter=name) from None
    if not low <= value <= high:
        raise InvalidInput(f"{name} must be between {low} and {high}", code="invalid-query", parameter=name)
    return value


def _date(params: Mapping[str, str | None], name: str) -> date | None:
    raw = params.get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InvalidInput(
            f"{name} must be a date YYYY-MM-DD", code="invalid-query", parameter=name
        ) from None


def _choice(params: Mapping[str, str | None], name: str, allowed: tuple[str, ...]) -> str | None:
    raw = params.get(name) or None
    if raw is not None and raw not in allowed:
        raise InvalidInput(
            f"{name} must be one of {', '.join(allowed)}",
            code="invalid-query",
            parameter=name,
            allowed=[*allowed],
        )
    return raw


def parse_query(params: Mapping[str, str | None]) -> AnnouncementQuery:
    """Check raw query parameters (``q``, ``category``, ``region``, ``status``, ``from``, ``to``, ``page``,
    ``per_page``); anything malformed is :class:`InvalidInput` naming the parameter."""
    text = " ".join((params.get("q") or "").split())
    if len(text) > MAX_TEXT:
        raise InvalidInput(f"q is longer than {MAX_TEXT} characters", code="invalid-query", parameter="q")
    if any(ord(char) < 32 for char in text):
        raise InvalidInput("q contains control characters", code="invalid-query", parameter="q")
    region = (params.get("region") or "").strip() or None
    if region is not None and not (region.isdigit() and region.isascii() and 2 <= len(region) <= 6):
        raise InvalidInput(
            "region must be a GB/T 2260 division code or its prefix (2 to 6 digits)",
            code="invalid-query",
            parameter="region",
        )
    query = AnnouncementQuery(
        text=text,
        category=_choice(params, "category", CATEGORIES),
        region=region,
        status=_choice(params, "status", STATUSES),
        published_from=_date(params, "from"),
        published_to=_date(params, "to"),
        page=_int(params, "page", 1, 1, 10_000),
        per_page=_int(params, "per_page", 20, 1, MAX_PER_PAGE),
    )
    if query.published_from and query.published_to and query.published_from > query.published_to:
        raise InvalidInput("from is after to", code="invalid-query", parameter="from")
    return query


#: A position in the change order: (last change, tender id).
Cursor = tuple[datetime, uuid.UUID]


class PublicTenders(ABC):
    """Read access to published tenders, for anyone (an interface; see the module doc)."""

    @abstractmethod
    def search(self, query: AnnouncementQuery) -> ResultPage:
        """One page of published tenders matching ``query``, newest first."""
        ...

    @abstractmethod
    def get(self, tender_id: uuid.UUID) -> TenderView:
        """One published tender (NotFound if it does not exist or is not public)."""
        ...

    @abstractmethod
    def changed(
        self, since: datetime | None, until: datetime | None, *, after: Cursor | None = None, limit: int
    ) -> Iterator[TenderView]:
        """Published tenders whose public view last changed in ``[since, until)``, ordered by
        ``(last_changed, id)`` and strictly after the ``after`` cursor, at most ``limit``."""
        ...

    @abstractmethod
    def published_count(self) -> int:
        """How many tenders are published (the sitemap's size)."""
        ...

    @abstractmethod
    def sitemap_entries(self, offset: int, limit: int) -> list[tuple[uuid.UUID, datetime]]:
        """``(id, last change)`` of published tenders in publication order (``(published, id)``: a
        page keeps its tenders as new ones are published), ``limit`` of them after ``offset``."""
        ...

    @abstractmethod
    def regions(self) -> tuple[str, ...]:
        """The regions of published tenders, for the filter."""
        ...
