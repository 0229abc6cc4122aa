"""Tender endpoints outside the workflow: public JSON reads of published tenders, the tenderer's
recorded document download, questions and notice inbox, organisation profiles, and the monitor's view
of download records.

Public reads never show who obtained documents or asked questions (Law Art. 22); a tenderer sees only
its own records; a monitor's inspection is itself logged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, BinaryIO
from urllib.parse import quote

from litestar import Controller, Request, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from litestar.response import Stream

from api.auth import PRINCIPAL_DEPENDENCY, PUBLIC, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from tendering.identity.models import Role
from tendering.tenders import reading
from tendering.tenders.documents import download_document, inspect_downloads
from tendering.tenders.notices import ask_question
from tendering.tenders.organisations import ProfileSpec, save_profile
from tendering.tenders.procedures import CATEGORIES
from tendering.tenders.queries import PublicFilter
from tendering.tenders.spec import utc_text

CHUNK = 1 << 20


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback and the RFC 6266/5987 UTF-8 file name."""
    fallback = "".join(c if c.isascii() and c.isprintable() and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def _day(value: date | None, *, end: bool = False) -> datetime | None:
    if value is None:
        return None
    moment = datetime.combine(value, time(0), tzinfo=UTC)
    return moment + timedelta(days=1) if end else moment


class PublicTenderController(Controller):
    """Published tenders as JSON, for anyone (the portal's pages and OCDS are in ``api.portal``)."""

    path = "/public"
    tags = ["tenders (public)"]  # noqa: RUF012 - Litestar layer attribute
    opt = PUBLIC

    @get("/tenders", sync_to_thread=True, summary="Published tenders")
    def list_tenders(
        self,
        *,
        platform: PlatformDep,
        category: Annotated[str | None, QueryParameter(enum=list(CATEGORIES))] = None,
        region: Annotated[str | None, QueryParameter(pattern=r"^[0-9]{2,6}$")] = None,
        tender_state: Annotated[str | None, QueryParameter(name="state")] = None,
        procedure: FromQuery[str | None] = None,
        q: Annotated[str | None, QueryParameter(max_length=100)] = None,
        published_from: Annotated[date | None, QueryParameter(name="from")] = None,
        published_to: Annotated[date | None, QueryParameter(name="to")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=100)] = 20,
        offset: Annotated[int, QueryParameter(ge=0, le=1_000_000)] = 0,
    ) -> dict[str, Any]:
        """Newest publication first; ``from``/``to`` are inclusive UTC days; ``region`` matches inside."""
        filters = PublicFilter(
            category=category,
            region=region.ljust(6, "0") if region else None,
            state=tender_state,
            procedure=procedure,
            published_from=_day(published_from),
            published_to=_day(published_to, end=True),
            text=q,
        )
        total, items = reading.public_list(platform, filters, limit=limit, offset=offset)
        return {"total": total, "limit": limit, "offset": offset, "items": [i.document() for i in items]}

    @get("/tenders/{tender_id:uuid}", sync_to_thread=True, summary="A published tender")
    def detail(self, *, platform: PlatformDep, tender_id: FromPath[uuid.UUID]) -> dict[str, Any]:
        """Content, released documents, notices and the public timeline."""
        return reading.public_detail(platform, tender_id).document()

    @get("/tenders/{tender_id:uuid}/notices", sync_to_thread=True, summary="A tender's notices")
    def notices(self, *, platform: PlatformDep, tender_id: FromPath[uuid.UUID]) -> list[dict[str, Any]]:
        """Clarifications, amendments and the cancellation, in order."""
        zone, rows = reading.public_notices(platform, tender_id)
        return [row.document(zone) for row in rows]

    @get("/procedures", sync_to_thread=True, summary="The procedure table")
    def procedures(
        self,
        *,
        platform: PlatformDep,
        region: Annotated[str | None, QueryParameter(pattern=r"^[1-8][0-9]{5}$")] = None,
    ) -> list[dict[str, Any]]:
        """Every procedure's parameters as they apply in ``region`` (national defaults without it)."""
        return reading.procedure_table(platform, region)


@dataclass
class QuestionBody:
    """``POST /tenderer/tenders/{id}/questions``."""

    text: str


class DocumentDownloadController(Controller):
    """The recorded download of a tender document (the portal links here)."""

    path = "/tenders"
    tags = ["tenders (tenderer)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.TENDERER)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/{tender_id:uuid}/documents/{document_id:uuid}/download", sync_to_thread=True, summary="Download")
    def download(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> Stream:
        """Record the download (organisation, certificate, address, time), then send the bytes."""
        actor = principal.actor(Role.TENDERER, client_address(request))
        grant = download_document(
            platform, tender_id, document_id, actor=actor, fingerprint=principal.fingerprint
        )
        document = grant.document
        return Stream(
            _chunks(platform.blobs.open(document.sha256)),
            media_type=document.media_type,
            headers={
                "Content-Disposition": content_disposition(document.name),
                "Content-Length": str(document.size),
                "ETag": f'"{document.sha256}"',
                "X-Content-SHA256": document.sha256,
                "Cache-Control": "private, no-store",
            },
        )


class TendererController(Controller):
    """A tenderer's own records: downloads, questions, delivered notices."""

    path = "/tenderer"
    tags = ["tenders (tenderer)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.TENDERER)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/downloads", sync_to_thread=True, summary="My document downloads")
    def downloads(
        self, *, platform: PlatformDep, principal: PrincipalDep, tender: FromQuery[uuid.UUID | None] = None
    ) -> list[dict[str, Any]]:
        """The calling organisation's download records (with the salts opening their log commitments)."""
        return reading.my_downloads(platform, principal.actor(Role.TENDERER), tender)

    @get("/notices", sync_to_thread=True, summary="Notices delivered to me")
    def notices(self, *, platform: PlatformDep, principal: PrincipalDep) -> list[dict[str, Any]]:
        """Clarifications, amendments and cancellations of tenders whose documents I obtained."""
        return reading.my_notices(platform, principal.actor(Role.TENDERER))

    @post("/tenders/{tender_id:uuid}/questions", sync_to_thread=True, summary="Ask for a clarification")
    def ask(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[QuestionBody],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Ask a question (the agency sees the text, never who asked)."""
        actor = principal.actor(Role.TENDERER, client_address(request))
        question = ask_question(platform, tender_id, data.text, actor=actor)
        return {"id": str(question.id), "tender_id": str(tender_id), "asked_at": utc_text(question.asked_at)}


class OrganisationProfileController(Controller):
    """An organisation's own profile: legal representative and shareholders."""

    path = "/organisation/profile"
    tags = ["organisations"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.TENDERER, Role.AGENCY)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/", sync_to_thread=True, summary="My organisation's profile")
    def show(self, *, platform: PlatformDep, principal: PrincipalDep) -> dict[str, Any]:
        """The profile (personal id numbers appear only as HMACs)."""
        return reading.my_profile(platform, principal.actor())

    @put("/", sync_to_thread=True, summary="Declare my organisation's profile")
    def save(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        data: JSONBody[ProfileSpec],
        request: Request[Any, Any, Any],
    ) -> dict[str, Any]:
        """Create or replace the profile."""
        return save_profile(platform, data, actor=principal.actor(address=client_address(request)))


class MonitorDownloadsController(Controller):
    """Monitors (纪检监察) may inspect who obtained a tender's documents; every inspection is logged."""

    path = "/monitor"
    tags = ["monitoring"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.MONITOR)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/tenders/{tender_id:uuid}/downloads", sync_to_thread=True, summary="Download records of a tender")
    def downloads(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> list[dict[str, Any]]:
        """Every download record with what opens its log commitment."""
        actor = principal.actor(Role.MONITOR, client_address(request))
        return inspect_downloads(platform, tender_id, actor=actor)
