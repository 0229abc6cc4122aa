"""The online opening hall: live progress, objections and answers, the signed opening record.

For the tender's bidders and its agency (from the closing at the deadline); the page, its event stream
and its objection posts also take the portal's browser session (posts then need the anti-forgery token
in ``X-CSRF-Token``), ``/state`` takes bearer tokens only::

    GET  /tenders/{id}/opening-hall                           the hall page (server-rendered)
    GET  /tenders/{id}/opening-hall/state                     the hall's state as JSON
    GET  /tenders/{id}/opening-hall/events                    server-sent events (progress, record, failed)
    POST /tenders/{id}/opening-hall/objections                {"text"} a bidder objects (Regs Art. 44)
    POST /tenders/{id}/opening-hall/objections/{oid}/answer   {"text"} the agency answers

Public once published (the same bytes for everyone)::

    GET  /public/tenders/{id}/opening-record       the record (canonical JSON, exactly as signed)
    GET  /public/tenders/{id}/opening-record.p7s   its detached CMS signature (DER)

Controllers only parse, authorise and shape; the rules live in ``tendering.opening.hall``.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo

import anyio.to_thread
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, JSONBody
from litestar.response import ServerSentEvent
from litestar.types import ControllerRouterHandler

from api.auth import PRINCIPAL_DEPENDENCY, PUBLIC, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from api.portal.rendering import render
from tendering.errors import NotFound
from tendering.identity.audit import Actor
from tendering.identity.models import Role
from tendering.identity.sessions import Principal
from tendering.opening.hall import HallViewer, answer_objection, hall_state, hall_viewer, raise_objection
from tendering.opening.hall_stream import StreamTiming, hall_events
from tendering.opening.record import published_record
from tendering.platform import Platform

NO_STORE: Final = {"Cache-Control": "no-store"}
#: Timing of the hall's event stream; tests and deployments behind short proxy timeouts may change it.
STREAM_TIMING_KEY: Final = "opening_hall_stream_timing"


@dataclass
class TextBody:
    """An objection or an answer."""

    text: str


def _viewer(platform: Platform, tender_id: uuid.UUID, principal: Principal) -> HallViewer:
    with platform.session_factory() as session:
        return hall_viewer(session, tender_id, principal.identity_id, principal.roles)


def _state(platform: Platform, tender_id: uuid.UUID, principal: Principal) -> dict[str, Any]:
    with platform.session_factory() as session:
        viewer = hall_viewer(session, tender_id, principal.identity_id, principal.roles)
        return hall_state(session, tender_id, viewer)


#: The page and what its script uses: a signed-in browser (with the anti-forgery token on posts) or a
#: bearer token.
PAGE_GUARD: Final = requires(Role.TENDERER, Role.AGENCY, browser=True)
#: JSON for tools: bearer tokens only.
API_GUARD: Final = requires(Role.TENDERER, Role.AGENCY)


class OpeningHallController(Controller):
    """The hall of one tender's opening, for its bidders and its agency."""

    path = "/tenders/{tender_id:uuid}/opening-hall"
    tags = ["opening hall"]  # noqa: RUF012 - Litestar layer attribute
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/", sync_to_thread=True, include_in_schema=False, guards=[PAGE_GUARD])
    def page(
        self,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
    ) -> Response[str]:
        """The hall page: progress, objections and the record, kept live by the event stream."""
        state = _state(platform, tender_id, principal)
        zone = ZoneInfo(platform.settings.default_time_zone)

        def utc_local(text: str | None) -> str:
            if not text:
                return "—"
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
            return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M")

        response = render(request, platform, "opening_hall.html", hall=state, utc_local=utc_local)
        response.headers.update(NO_STORE)
        return response

    @get("/state", sync_to_thread=True, summary="The hall's state now", guards=[API_GUARD])
    def state(
        self, platform: PlatformDep, principal: PrincipalDep, tender_id: FromPath[uuid.UUID]
    ) -> Response[dict[str, Any]]:
        """Closing, custodians released i of k, envelopes opened n of m, decryption, objections, record."""
        return Response(_state(platform, tender_id, principal), headers=NO_STORE)

    @get("/events", summary="Live progress (server-sent events)", guards=[PAGE_GUARD])
    async def events(
        self,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
    ) -> ServerSentEvent:
        """``progress`` events with the whole state whenever it changes; ``record`` (the published
        record) or ``failed`` ends the stream. Honours ``Last-Event-ID`` on reconnection."""
        viewer = await anyio.to_thread.run_sync(lambda: _viewer(platform, tender_id, principal))
        timing = request.app.state.get(STREAM_TIMING_KEY) or StreamTiming()
        stream = hall_events(
            platform, tender_id, viewer, last_event_id=request.headers.get("last-event-id"), timing=timing
        )
        return ServerSentEvent(stream, headers=NO_STORE)

    @post(
        "/objections",
        sync_to_thread=True,
        summary="Raise an objection (bidders, during the opening)",
        guards=[PAGE_GUARD],
    )
    def objection(
        self,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[TextBody],
    ) -> Response[dict[str, Any]]:
        """Record the objection; the agency answers on the spot; both go into the record."""
        actor = Actor(principal.identity_id, Role.TENDERER.value, client_address(request))
        return Response(raise_objection(platform, tender_id, data.text, actor=actor), status_code=201)

    @post(
        "/objections/{objection_id:uuid}/answer",
        sync_to_thread=True,
        status_code=200,
        summary="Answer an objection (the tender's agency)",
        guards=[PAGE_GUARD],
    )
    def answer(
        self,
        *,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        objection_id: FromPath[uuid.UUID],
        data: JSONBody[TextBody],
    ) -> dict[str, Any]:
        """Record the answer; the last answer of a finished opening publishes the record."""
        actor = Actor(principal.identity_id, Role.AGENCY.value, client_address(request))
        return answer_objection(platform, tender_id, objection_id, data.text, actor=actor)


def _record(platform: Platform, tender_id: uuid.UUID) -> tuple[bytes, bytes]:
    with platform.session_factory() as session:
        record = published_record(session, tender_id)
        if record is None:
            raise NotFound(
                "the opening record of this tender is not published", code="opening-record-not-found"
            )
        return record.document, record.signature


class PublicOpeningRecordController(Controller):
    """The published opening record and its signature, for anyone."""

    path = "/public/tenders/{tender_id:uuid}"
    opt = dict(PUBLIC)  # noqa: RUF012 - Litestar layer attribute
    tags = ["opening record"]  # noqa: RUF012 - Litestar layer attribute

    @get("/opening-record", sync_to_thread=True, summary="The signed opening record (JSON)")
    def record(self, platform: PlatformDep, tender_id: FromPath[uuid.UUID]) -> Response[bytes]:
        """The record's canonical JSON, byte for byte what the signature covers."""
        document, _ = _record(platform, tender_id)
        return Response(
            document,
            media_type="application/json",
            headers={"Content-Disposition": f'inline; filename="opening-record-{tender_id}.json"'},
        )

    @get("/opening-record.p7s", sync_to_thread=True, summary="The record's detached CMS signature")
    def signature(self, platform: PlatformDep, tender_id: FromPath[uuid.UUID]) -> Response[bytes]:
        """DER CMS SignedData; ``openssl cms -verify -binary -inform DER -content record.json``."""
        _, signature = _record(platform, tender_id)
        return Response(
            signature,
            media_type="application/pkcs7-signature",
            headers={"Content-Disposition": f'attachment; filename="opening-record-{tender_id}.p7s"'},
        )


def opening_hall_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return [OpeningHallController, PublicOpeningRecordController]
