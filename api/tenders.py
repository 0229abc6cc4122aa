"""Tender workflow endpoints for agencies (draft, edit, submit, notices, documents, cancel) and the
supervising authority (review queue, approve, reject). Controllers only parse, call one service function
and shape the answer; every rule lives in ``tendering.tenders``.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, field
from typing import Annotated, Any, BinaryIO, cast

import anyio.to_thread
from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from api.auth import PRINCIPAL_DEPENDENCY, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from tendering.identity.audit import Actor
from tendering.identity.models import Role
from tendering.identity.sessions import Principal
from tendering.tenders import reading, service
from tendering.tenders.documents import upload_document
from tendering.tenders.notices import AmendmentSpec, amend
from tendering.tenders.spec import TenderSpec
from tendering.tenders.views import NoticeView, TenderSummary

#: Largest tender document upload (drawings of hundreds of MB are normal).
MAX_DOCUMENT_BYTES = 2 * 1024**3
SPOOL_BYTES = 8 * 1024**2


def agency_actor(principal: Principal, request: Request[Any, Any, Any]) -> Actor:
    """The caller acting as an agency, from its network address."""
    return principal.actor(Role.AGENCY, client_address(request))


def summaries_document(items: list[TenderSummary]) -> list[dict[str, Any]]:
    """A list of tender summaries as JSON."""
    return [item.document() for item in items]


def notice_document(notice: NoticeView, zone: str) -> dict[str, Any]:
    """A notice as JSON."""
    return notice.document(zone)


@dataclass
class ReasonBody:
    """``POST .../cancel``: why (and optionally the cancellation notice's title)."""

    reason: str
    title: str | None = None


@dataclass
class RejectBody:
    """``POST .../reject``: the reasons, one per item."""

    reasons: list[str] = field(default_factory=list)


class AgencyTenderController(Controller):
    """An agency's own tenders."""

    path = "/agency/tenders"
    tags = ["tenders (agency)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.AGENCY)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @post("/", sync_to_thread=True, summary="Create a draft tender")
    def create(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        data: JSONBody[TenderSpec],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """A new draft; the table's rules are checked when it is submitted."""
        return service.create_draft(platform, data, actor=agency_actor(principal, request)).document()

    @get("/", sync_to_thread=True, summary="The agency's tenders")
    def list_tenders(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        request: Request[Any, Any, Any],
        tender_state: Annotated[str | None, QueryParameter(name="state")] = None,
    ) -> list[dict[str, Any]]:
        """Every tender of the calling agency, most recently changed first (``?state=`` filters)."""
        return summaries_document(
            reading.agency_list(platform, agency_actor(principal, request), tender_state)
        )

    @get("/{tender_id:uuid}", sync_to_thread=True, summary="One of the agency's tenders")
    def detail(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """The tender with its timeline (including rejections and their reasons)."""
        return reading.agency_detail(platform, tender_id, agency_actor(principal, request)).document()

    @put("/{tender_id:uuid}", sync_to_thread=True, summary="Replace a draft's content")
    def update(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[TenderSpec],
        request: Request[Any, Any, Any],
        version: Annotated[
            int | None, QueryParameter(ge=1, description="Refuse if the tender has moved on")
        ] = None,
    ) -> dict[str, Any]:
        """Edit a draft (``?version=`` makes the edit conditional on the version you read)."""
        actor = agency_actor(principal, request)
        return service.update_draft(
            platform, tender_id, data, actor=actor, expected_version=version
        ).document()

    @get("/{tender_id:uuid}/check", sync_to_thread=True, summary="Rule violations a submission would meet")
    def check(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """A dry run of the submission's rule checks."""
        violations = reading.agency_check(platform, tender_id, agency_actor(principal, request))
        return {"ok": not violations, "violations": [v.document() for v in violations]}

    @post("/{tender_id:uuid}/submit", sync_to_thread=True, status_code=200, summary="Submit for review")
    def submit(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Send the draft to the authority; refused with the violated rules if any."""
        return service.submit(platform, tender_id, actor=agency_actor(principal, request)).document()

    @post("/{tender_id:uuid}/withdraw", sync_to_thread=True, status_code=200, summary="Withdraw a submission")
    def withdraw(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Take a pending submission back to draft."""
        return service.withdraw(platform, tender_id, actor=agency_actor(principal, request)).document()

    @post("/{tender_id:uuid}/cancel", sync_to_thread=True, status_code=200, summary="Cancel with a reason")
    def cancel(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[ReasonBody],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Cancel the tender; a published one gets a public cancellation notice."""
        actor = agency_actor(principal, request)
        return service.cancel(platform, tender_id, data.reason, actor=actor, title=data.title).document()

    @post("/{tender_id:uuid}/notices", sync_to_thread=True, summary="Publish a clarification or amendment")
    def notice(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[AmendmentSpec],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Publish a notice now; a late one must move the bid deadline (Law Art. 23)."""
        actor = agency_actor(principal, request)
        published = amend(platform, tender_id, data, actor=actor)
        detail = reading.agency_detail(platform, tender_id, actor)
        (notice,) = (n for n in detail.notices if n.id == published.id)
        return notice_document(notice, detail.summary.time_zone)

    @get("/{tender_id:uuid}/questions", sync_to_thread=True, summary="Questions from tenderers")
    def questions(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> list[dict[str, Any]]:
        """The questions asked (never who asked); answer them with a clarification notice."""
        return reading.agency_questions(platform, tender_id, agency_actor(principal, request))

    @get("/{tender_id:uuid}/documents", sync_to_thread=True, summary="Every document version")
    def documents(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> list[dict[str, Any]]:
        """Released and staged document versions."""
        zone, rows = reading.agency_documents(platform, tender_id, agency_actor(principal, request))
        return [row.document(zone) for row in rows]

    @post(
        "/{tender_id:uuid}/documents",
        summary="Upload a document version (raw body; ?name=)",
        request_max_body_size=MAX_DOCUMENT_BYTES,
    )
    async def upload(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        name: Annotated[
            str, QueryParameter(min_length=1, max_length=255, description="The document's file name")
        ],
    ) -> dict[str, Any]:
        """Stream the body into the blob store as the next version of ``name`` (the media type is the
        request's Content-Type). In a draft it is released at publication; after publication it stays
        staged until a notice releases it."""
        actor = agency_actor(principal, request)
        media_type = request.headers.get("content-type", "application/octet-stream")
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
            async for chunk in request.stream():
                spool.write(chunk)
            spool.seek(0)
            view = await anyio.to_thread.run_sync(
                lambda: upload_document(
                    platform, tender_id, name, cast(BinaryIO, spool), actor=actor, media_type=media_type
                )
            )
        detail = await anyio.to_thread.run_sync(lambda: reading.agency_detail(platform, tender_id, actor))
        return view.document(detail.summary.time_zone)


class ReviewController(Controller):
    """The supervising authority reviews announcements before publication."""

    path = "/authority"
    tags = ["tenders (authority)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.AUTHORITY)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/reviews", sync_to_thread=True, summary="Announcements waiting for review")
    def queue(self, *, platform: PlatformDep) -> list[dict[str, Any]]:
        """Pending submissions, the longest waiting first."""
        return summaries_document(reading.review_queue(platform))

    @get("/tenders/{tender_id:uuid}", sync_to_thread=True, summary="A submitted tender")
    def detail(self, *, platform: PlatformDep, tender_id: FromPath[uuid.UUID]) -> dict[str, Any]:
        """Everything about a submitted tender."""
        return reading.authority_detail(platform, tender_id).document()

    @post("/tenders/{tender_id:uuid}/approve", sync_to_thread=True, status_code=200, summary="Approve")
    def approve(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Approve; the tender is published at its publication time (now, if that has passed)."""
        actor = principal.actor(Role.AUTHORITY, client_address(request))
        return service.approve(platform, tender_id, actor=actor).document()

    @post(
        "/tenders/{tender_id:uuid}/reject",
        sync_to_thread=True,
        status_code=200,
        summary="Reject with reasons",
    )
    def reject(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[RejectBody],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Send the submission back to the agency's draft with the reasons."""
        actor = principal.actor(Role.AUTHORITY, client_address(request))
        return service.reject(platform, tender_id, data.reasons, actor=actor).document()
