"""The supervising authority's page of open time-limit warnings, per agency and per tender.

The same data as ``GET /authority/warnings`` (``api/supervision.py``), for a signed-in authority officer
in the browser: a table of open yellow/red warnings per agency (names from the identity registry), and
the warnings themselves grouped by tender, red first; ``?agency=`` or ``?tender=`` narrows both.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from litestar import Controller, Request, Response, get
from litestar.params import FromQuery
from sqlalchemy import select

from api.auth import requires
from api.deps import PlatformDep
from api.portal.page_errors import PAGE_EXCEPTION_HANDLERS
from api.portal.rendering import render
from tendering.identity.models import Identity, Role
from tendering.platform import Platform
from tendering.tenders import reading
from tendering.tenders.supervision import WarningView

#: Most warnings one page lists (the API pages through more).
PAGE_LIMIT = 500


@dataclass(frozen=True)
class TenderWarnings:
    """The open warnings of one tender."""

    tender_id: uuid.UUID
    title: str
    agency_id: uuid.UUID
    warnings: tuple[WarningView, ...]

    @property
    def red(self) -> int:
        """How many are red."""
        return sum(1 for warning in self.warnings if warning.level == "red")


def identity_names(platform: Platform, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Display names of identities (organisations and people) by id."""
    wanted = set(ids)
    if not wanted:
        return {}
    with platform.session_factory() as session:
        rows = session.execute(select(Identity.id, Identity.display_name).where(Identity.id.in_(wanted)))
        return {identity_id: name for identity_id, name in rows}  # noqa: C416 - a Result has keys()


def per_tender(warnings: Iterable[WarningView]) -> list[TenderWarnings]:
    """Warnings grouped by tender, keeping the given order (red first) for tenders and warnings."""
    groups: dict[uuid.UUID, list[WarningView]] = {}
    for warning in warnings:
        groups.setdefault(warning.tender_id, []).append(warning)
    return [
        TenderWarnings(tender_id, items[0].tender_title, items[0].agency_id, tuple(items))
        for tender_id, items in groups.items()
    ]


class SupervisionPages(Controller):
    """Pages for the supervising authority."""

    path = "/supervision"
    include_in_schema = False
    guards = [requires(Role.AUTHORITY, browser=True)]  # noqa: RUF012 - Litestar layer attribute
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/", sync_to_thread=True)
    def warnings_page(
        self,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        agency: FromQuery[uuid.UUID | None] = None,
        tender: FromQuery[uuid.UUID | None] = None,
        level: FromQuery[Literal["yellow", "red"] | None] = None,
    ) -> Response[str]:
        """Open warnings per agency and per tender."""
        counts = reading.warning_counts(platform)
        if agency is not None:
            counts = [row for row in counts if row["agency_id"] == str(agency)]
        warnings = reading.warnings(
            platform, agency_id=agency, tender_id=tender, level=level, limit=PAGE_LIMIT
        )
        names = identity_names(
            platform, [uuid.UUID(row["agency_id"]) for row in counts] + [w.agency_id for w in warnings]
        )
        return render(
            request,
            platform,
            "supervision.html",
            counts=[
                {**row, "name": names.get(uuid.UUID(row["agency_id"]), row["agency_id"])} for row in counts
            ],
            tenders=per_tender(warnings),
            names=names,
            agency=agency,
            tender=tender,
            level=level,
            truncated=len(warnings) >= PAGE_LIMIT,
        )
