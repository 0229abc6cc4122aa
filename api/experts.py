"""Expert pool, extraction requests, the public draw record and the supervisor's status view.

- ``/experts/pool`` (admin; authority may read): the pool with names (pool administrators only), CSV
  import (row-level error report) and export, status changes. Every change is audited and logged.
- ``/agency/tenders/{id}/expert-draws`` (the tender's agency): request the draw (time, place, counts
  per specialty, reserves, avoidance options; no route accepts an expert for a committee) and read the
  counts. No names, no expert ids.
- ``/authority/expert-draws/...`` (authority): the status view, the session start (avoidance rechecked
  against the tender's bidders, then the sealed list released to the session) and the manual reveal.
- ``/public/expert-draws/{id}``: the public draw record that ``sealbid experts verify-draw`` checks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler
from sqlalchemy import func, select

from api.auth import PRINCIPAL_DEPENDENCY, PUBLIC, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from experts import draw_public, pool, pool_csv, release
from experts.extraction import DrawRequest, LineRequest, request_draw
from experts.pool_models import Expert, ExtractionRequest
from tendering.errors import Forbidden, InvalidInput, NotFound
from tendering.i18n import match_locale
from tendering.identity.audit import Actor
from tendering.identity.models import Role
from tendering.tenders.models import Tender

CSV_LIMIT = 64 * 1024 * 1024


def _actor(principal: Any, role: Role, request: Request[Any, Any, Any]) -> Actor:
    actor: Actor = principal.actor(role, client_address(request))
    return actor


def _locale(request: Request[Any, Any, Any]) -> str | None:
    return match_locale(request.headers.get("accept-language"))


@dataclass
class StatusBody:
    """``POST /experts/pool/{id}/status``."""

    status: str


class PoolController(Controller):
    """The expert pool for its administrators (names and phones are visible here, and only here)."""

    path = "/experts/pool"
    tags = ["experts (pool)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.ADMIN, Role.AUTHORITY)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    def _role(self, principal: Any) -> Role:
        return Role.ADMIN if Role.ADMIN.value in principal.roles else Role.AUTHORITY

    @get("/", sync_to_thread=True, summary="Experts of the pool")
    def list_experts(
        self,
        *,
        platform: PlatformDep,
        status: Annotated[str | None, QueryParameter()] = None,
        specialty: Annotated[str | None, QueryParameter()] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
        offset: Annotated[int, QueryParameter(ge=0)] = 0,
    ) -> dict[str, Any]:
        """A page of experts by number, optionally by status and specialty (a parent code matches)."""
        with platform.session_factory() as session:
            query = select(Expert).order_by(Expert.number)
            if status:
                query = query.where(Expert.status == status)
            if not specialty:  # page in the database
                total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
                rows = list(session.scalars(query.offset(offset).limit(limit)))
                return {"total": total, "experts": [pool.expert_document(e) for e in rows]}
            code = specialty.strip().upper()
            matching = [e for e in session.scalars(query) if any(h.startswith(code) for h in e.specialties)]
            page = matching[offset : offset + limit]
            return {"total": len(matching), "experts": [pool.expert_document(e) for e in page]}

    @post("/", sync_to_thread=True, summary="Create or update an expert (by number)")
    def put_expert(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        data: JSONBody[dict[str, Any]],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Validate and save one expert; the errors name the fields."""
        parsed = pool.parse_fields(data)
        if isinstance(parsed, list):
            raise InvalidInput(
                "the expert is invalid",
                code="expert-invalid",
                errors=[{"column": e.column, "reason": e.reason} for e in parsed],
            )
        with platform.transaction() as session:
            expert, changed, created = pool.upsert(
                session, platform, parsed, actor=_actor(principal, Role.ADMIN, request)
            )
            return {"expert": pool.expert_document(expert), "changed": changed, "created": created}

    @post("/{expert_id:uuid}/status", sync_to_thread=True, summary="Suspend, retire or reactivate an expert")
    def set_status(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        expert_id: FromPath[uuid.UUID],
        data: JSONBody[StatusBody],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Change an expert's status (audited)."""
        with platform.transaction() as session:
            expert = pool.set_status(
                session,
                platform,
                expert_id,
                data.status,
                actor=_actor(principal, self._role(principal), request),
            )
            return pool.expert_document(expert)

    @get(
        "/{expert_id:uuid}/participations",
        sync_to_thread=True,
        summary="An expert's participations in tenders that have their result",
    )
    def participations(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        expert_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Outcome (confirmed / declined / no answer), evaluation date and tenderee of each draw the
        expert was called for, once that tender is awarded, cancelled or failed (newest first)."""
        actor = _actor(principal, self._role(principal), request)
        with platform.session_factory() as session:
            history = pool.participation_history(session, expert_id, actor=actor)
        return {"expert": str(expert_id), "participations": history}

    @post("/import", summary="Import a pool CSV (row-level error report)")
    async def import_csv(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        request: Request[Any, Any, Any],
        skip_invalid: Annotated[bool, QueryParameter()] = False,
    ) -> dict[str, Any]:
        """Import the CSV body; with bad rows nothing is imported unless ``skip_invalid=true``."""
        data = await request.body()
        if len(data) > CSV_LIMIT:
            raise InvalidInput("the CSV is larger than 64 MiB; split it", code="expert-csv-too-large")
        actor = _actor(principal, self._role(principal), request)
        report = await anyio.to_thread.run_sync(
            lambda: pool_csv.import_csv(platform, data, actor=actor, skip_invalid=skip_invalid)
        )
        if not report.imported:
            raise InvalidInput(
                f"{len(report.errors)} error(s); nothing imported (fix them or import with skip_invalid)",
                code="expert-csv-invalid",
                report=report.document(),
            )
        return report.document()

    @get("/export", sync_to_thread=True, summary="The pool as CSV (UTF-8 with BOM)")
    def export_csv(
        self, *, platform: PlatformDep, principal: PrincipalDep, request: Request[Any, Any, Any]
    ) -> Response[bytes]:
        """Every expert in the import format."""
        with platform.session_factory() as session:
            body = pool_csv.export_csv(session, actor=_actor(principal, self._role(principal), request))
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": 'attachment; filename="experts.csv"',
                "Cache-Control": "no-store",
            },
        )


@dataclass
class LineBody:
    """A specialty line: how many members and reserves."""

    specialty: str
    count: int
    reserves: int | None = None


@dataclass
class AvoidBody:
    """An expert to avoid, by pool number, and why."""

    number: str
    reason: str


@dataclass
class DrawBody:
    """``POST /agency/tenders/{id}/expert-draws``: what to draw (never whom)."""

    evaluation_time: datetime
    evaluation_place: str
    lines: list[LineBody]
    exclude_same_region: bool = False
    avoid: list[AvoidBody] = field(default_factory=list)
    locale: str | None = None


def _own_tender(platform: Any, tender_id: uuid.UUID, actor: Actor) -> None:
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        if tender is None or tender.agency_id != actor.identity_id:
            raise NotFound(f"no tender {tender_id} of yours")


class AgencyDrawController(Controller):
    """The agency asks for a tender's draw and follows the counts (never names)."""

    path = "/agency/tenders/{tender_id:uuid}/expert-draws"
    tags = ["experts (agency)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.AGENCY)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @post("/", sync_to_thread=True, summary="Request the verifiable draw of the committee")
    def request_draw(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[DrawBody],
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        """Commit the secret and eligible set, draw after the next checkpoint; returns the public record."""
        actor = _actor(principal, Role.AGENCY, request)
        _own_tender(platform, tender_id, actor)
        manual: dict[uuid.UUID, str] = {}
        with platform.session_factory() as session:
            for item in data.avoid:
                expert_id = session.scalar(select(Expert.id).where(Expert.number == item.number.strip()))
                if expert_id is None:
                    raise InvalidInput(f"no expert numbered {item.number!r}", code="expert-unknown")
                manual[expert_id] = item.reason
        ask = DrawRequest(
            tender_id=tender_id,
            evaluation_time=data.evaluation_time,
            evaluation_place=data.evaluation_place,
            lines=[LineRequest(line.specialty, line.count, line.reserves) for line in data.lines],
            exclude_same_region=data.exclude_same_region,
            manual_avoid=manual,
            locale=data.locale,
        )
        request_id = request_draw(platform, ask, actor=actor)
        with platform.session_factory() as session:
            return Response(draw_public.public_record(session, request_id), status_code=201)

    @get("/", sync_to_thread=True, summary="The tender's draws: counts only")
    def list_draws(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> list[dict[str, Any]]:
        """Status counts and alerts of each draw of the tender (no names, no expert ids)."""
        _own_tender(platform, tender_id, _actor(principal, Role.AGENCY, request))
        with platform.session_factory() as session:
            return [
                draw_public.status_view(session, rid, _locale(request))
                for rid in draw_public.requests_of_tender(session, tender_id)
            ]


class AuthorityDrawController(Controller):
    """The supervisor's view of draws, and the reveal."""

    path = "/authority/expert-draws"
    tags = ["experts (authority)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.AUTHORITY)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/", sync_to_thread=True, summary="Status of every draw (newest first)")
    def list_draws(
        self,
        *,
        platform: PlatformDep,
        request: Request[Any, Any, Any],
        limit: Annotated[int, QueryParameter(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        """Counts per request; ``short`` and open ``pool_short`` alerts show the draws needing action."""
        with platform.session_factory() as session:
            total = session.scalar(select(func.count()).select_from(ExtractionRequest)) or 0
            ids = session.scalars(
                select(ExtractionRequest.id).order_by(ExtractionRequest.created_at.desc()).limit(limit)
            )
            return {
                "total": total,
                "draws": [draw_public.status_view(session, rid, _locale(request)) for rid in list(ids)],
            }

    @get("/{request_id:uuid}", sync_to_thread=True, summary="Status of one draw")
    def status(
        self, *, platform: PlatformDep, request_id: FromPath[uuid.UUID], request: Request[Any, Any, Any]
    ) -> dict[str, Any]:
        """Confirmed / pending / declined / no answer / avoided / short counts per specialty, alerts."""
        with platform.session_factory() as session:
            return draw_public.status_view(session, request_id, _locale(request))

    @post(
        "/{request_id:uuid}/session-start",
        sync_to_thread=True,
        status_code=200,
        summary="Start the evaluation session: recheck avoidance against the bidders, release the list",
    )
    def session_start(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        request_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """At the evaluation time: the bidders' employees avoided and replaced, then the confirmed
        members' names for the session (each card read logged). Refused before the evaluation time."""
        actor = _actor(principal, Role.AUTHORITY, request)
        with platform.transaction() as session:
            started = release.start_session(session, platform, request_id, actor=actor)
        return {
            "request": str(request_id),
            "bidders": started.bidders,
            "avoided": len(started.recheck.avoided),
            "replacements": [str(r) if r else None for r in started.recheck.replacements],
            "members": [
                {"assignment": str(m.assignment_id), "specialty": m.specialty, "name": m.name}
                for m in started.members
            ],
        }

    @post("/{request_id:uuid}/reveal", sync_to_thread=True, summary="Reveal the draw secret in the log")
    def reveal(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        request_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Refused until the tender is awarded, cancelled or failed; idempotent afterwards (the
        maintenance sweep reveals such draws by itself: this is the manual trigger)."""
        actor = _actor(principal, Role.AUTHORITY, request)
        if Role.AUTHORITY.value not in principal.roles:
            raise Forbidden("this needs the role authority")
        with platform.transaction() as session:
            secret = draw_public.reveal_secret(session, platform, request_id, actor=actor)
        return {"request": str(request_id), "secret": secret}


@get(
    "/public/expert-draws/{request_id:uuid}",
    sync_to_thread=True,
    opt=PUBLIC,
    summary="The public record of a draw",
    tags=["experts (public)"],
)
def public_draw(platform: PlatformDep, request_id: FromPath[uuid.UUID]) -> dict[str, Any]:
    """Commitments, checkpoint, hashes; after the reveal the secret, eligible ids and assignments."""
    with platform.session_factory() as session:
        record = draw_public.public_record(session, request_id)
    log_at = record["log"]
    missing = record["state"] in ("drawn", "revealed") and None in (log_at["committed"], log_at["drawn"])
    if missing or (record["secret"] is not None and log_at["revealed"] is None):
        # an entry the record names is still pending: integrate it so the record can give its index
        platform.translog.sequence()
        with platform.session_factory() as session:
            record = draw_public.public_record(session, request_id)
    return record


def expert_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return [PoolController, AgencyDrawController, AuthorityDrawController, public_draw]
