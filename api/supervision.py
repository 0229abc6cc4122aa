"""Electronic supervision endpoints: the authority's view of time-limit warnings, and an agency's own."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, get
from litestar.params import FromQuery, QueryParameter

from api.auth import PRINCIPAL_DEPENDENCY, PrincipalDep, requires
from api.deps import PlatformDep
from tendering.errors import Forbidden
from tendering.identity.models import Role
from tendering.tenders import reading

Level = Literal["yellow", "red"]


class SupervisionController(Controller):
    """Warnings raised when procedural steps near or pass their time limits."""

    path = "/authority/warnings"
    tags = ["supervision"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.AUTHORITY)]  # noqa: RUF012

    @get("/", sync_to_thread=True, summary="Supervision warnings")
    def warnings(
        self,
        *,
        platform: PlatformDep,
        agency: Annotated[uuid.UUID | None, QueryParameter(description="Only this agency's tenders")] = None,
        tender: Annotated[uuid.UUID | None, QueryParameter(description="Only this tender")] = None,
        level: FromQuery[Level | None] = None,
        include_resolved: FromQuery[bool] = False,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> list[dict[str, Any]]:
        """Open warnings (red first), per agency or per tender; ``include_resolved`` adds the history."""
        rows = reading.warnings(
            platform,
            agency_id=agency,
            tender_id=tender,
            level=level,
            include_resolved=include_resolved,
            limit=limit,
            offset=offset,
        )
        return [row.document() for row in rows]

    @get("/agencies", sync_to_thread=True, summary="Open warnings per agency")
    def per_agency(self, *, platform: PlatformDep) -> list[dict[str, Any]]:
        """``[{"agency_id", "yellow", "red"}]``, most red first."""
        return reading.warning_counts(platform)


class AgencyWarningsController(Controller):
    """An agency sees the open warnings about its own tenders."""

    path = "/agency/warnings"
    tags = ["supervision"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.AGENCY)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/", sync_to_thread=True, summary="Warnings about my tenders")
    def warnings(self, *, platform: PlatformDep, principal: PrincipalDep) -> list[dict[str, Any]]:
        """Open warnings on the calling agency's tenders."""
        if principal.kind != "enterprise":
            raise Forbidden("warnings are kept per agency organisation", code="agency-not-organisation")
        return [row.document() for row in reading.warnings(platform, agency_id=principal.identity_id)]
