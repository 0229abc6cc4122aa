"""Bid submission, withdrawal, the bidder's own bids and receipts (tenderer routes).

Resumable upload (header semantics after tus 1.0; see ``docs/submission.md``)::

    POST   /bids/uploads                 {"tender", "size", "sha256"} -> 201, Location, Upload-Offset: 0
    HEAD   /bids/uploads/{id}            -> Upload-Offset, Upload-Length (resume after a dropped connection)
    GET    /bids/uploads/{id}            -> the same as JSON
    PATCH  /bids/uploads/{id}            Upload-Offset: n, Content-Type: application/offset+octet-stream
                                         -> 204, Upload-Offset: n + received; 409 with the current offset
    DELETE /bids/uploads/{id}            -> 204 (give up)
    POST   /bids/uploads/{id}/finalise   {"statement", "signature"} (base64) -> 201 receipt bundle

    GET    /bids[?tender=]               my organisation's bids
    GET    /bids/{id}                    one of them with its versions
    GET    /bids/{id}/versions/{n}/receipt
    POST   /bids/{id}/withdraw           {"statement", "signature"} -> 201 receipt bundle

    GET    /monitor/tenders/{id}/submissions   (monitor) metadata and commitment openings, after the opening

Controllers only parse, authorise and shape; the rules live in ``tendering.bids``.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, head, patch, post
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.types import ControllerRouterHandler

from api.auth import PRINCIPAL_DEPENDENCY, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from tendering.bids import reading, uploads
from tendering.bids.submission import Client, finalise_upload, withdraw_bid
from tendering.errors import InvalidInput, SealbidError
from tendering.i18n import Catalog, negotiate_locale
from tendering.identity.models import Role
from tendering.platform import Platform
from tendering.translog import LogActor, LogEvent

TUS_VERSION: Final = "1.0.0"
OFFSET_MEDIA_TYPE: Final = "application/offset+octet-stream"
NO_STORE: Final = {"Cache-Control": "no-store"}


@dataclass
class UploadRequest:
    """``POST /bids/uploads``: what will be uploaded."""

    tender: uuid.UUID
    size: int
    sha256: str


@dataclass
class SignedStatement:
    """A canonical-JSON statement and its detached CMS signature, both base64."""

    statement: str
    signature: str

    def decoded(self) -> tuple[bytes, bytes]:
        """The raw bytes (InvalidInput for bad base64)."""
        try:
            return (
                base64.b64decode(self.statement, validate=True),
                base64.b64decode(self.signature, validate=True),
            )
        except (binascii.Error, ValueError):
            raise InvalidInput("statement and signature must be base64", code="statement-malformed") from None


@contextmanager
def _localised(request: Request[Any, Any, Any]) -> Iterator[None]:
    """Add the refusal in the bidder's language (``message``, from ``bids.refusal.<code>``)."""
    try:
        yield
    except SealbidError as exc:
        locale = negotiate_locale(
            query=None, cookie=None, accept_language=request.headers.get("accept-language")
        )
        catalog = Catalog(locale)
        if catalog.has(f"bids.refusal.{exc.code}"):
            exc.extra.setdefault("message", catalog.gettext(f"bids.refusal.{exc.code}"))
            exc.extra.setdefault("locale", locale)
        raise


def _client(request: Request[Any, Any, Any]) -> Client:
    return Client(client_address(request), request.headers.get("user-agent"))


def _offset_headers(status: uploads.UploadStatus) -> dict[str, str]:
    return {
        "Tus-Resumable": TUS_VERSION,
        "Upload-Offset": str(status.offset),
        "Upload-Length": str(status.size),
        "Upload-Expires": status.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT"),
        **NO_STORE,
    }


def _offset_header(request: Request[Any, Any, Any]) -> int:
    text = request.headers.get("upload-offset", "")
    if not text.isdigit() or len(text) > 19:
        raise InvalidInput(
            "the Upload-Offset header must be a non-negative integer", code="upload-offset-missing"
        )
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != OFFSET_MEDIA_TYPE:
        raise InvalidInput(f"a chunk must be sent as {OFFSET_MEDIA_TYPE}", code="upload-content-type")
    return int(text)


class BidUploadController(Controller):
    """Resumable, chunked upload of a sealed envelope and its finalisation with the signed statement."""

    path = "/bids/uploads"
    tags = ["bids (tenderer)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.TENDERER)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @post("/", sync_to_thread=True, summary="Start an upload")
    def create(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        data: JSONBody[UploadRequest],
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        """Check the tender takes bids from this organisation, then open an upload session."""
        client = _client(request)
        with _localised(request):
            status = uploads.create_upload(
                platform,
                bidder_id=principal.identity_id,
                tender_id=data.tender,
                size=data.size,
                sha256=data.sha256,
                address=client.address,
                user_agent=client.user_agent,
            )
        headers = {**_offset_headers(status), "Location": f"/bids/uploads/{status.id}"}
        return Response(status.document(), status_code=201, headers=headers)

    @head("/{upload_id:uuid}", sync_to_thread=True, summary="Current offset (tus HEAD)")
    def offset(
        self, *, platform: PlatformDep, principal: PrincipalDep, upload_id: FromPath[uuid.UUID]
    ) -> Response[None]:
        """``Upload-Offset`` and ``Upload-Length`` of the session."""
        status = uploads.upload_status(platform, upload_id, principal.identity_id)
        return Response(None, status_code=200, headers=_offset_headers(status))

    @get("/{upload_id:uuid}", sync_to_thread=True, summary="Upload status")
    def status(
        self, *, platform: PlatformDep, principal: PrincipalDep, upload_id: FromPath[uuid.UUID]
    ) -> Response[dict[str, Any]]:
        """The session's offset, size, digest and expiry."""
        status = uploads.upload_status(platform, upload_id, principal.identity_id)
        return Response(status.document(), headers=_offset_headers(status))

    @patch("/{upload_id:uuid}", status_code=204, request_max_body_size=None, summary="Upload a chunk")
    async def chunk(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        upload_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> Response[None]:
        """Write the body at ``Upload-Offset`` (streamed to disk and fsynced before it is acknowledged)."""
        with _localised(request):
            offset = _offset_header(request)
            status = await uploads.write_chunk(
                platform, upload_id, principal.identity_id, offset, request.stream()
            )
        return Response(None, status_code=204, headers=_offset_headers(status))

    @delete("/{upload_id:uuid}", sync_to_thread=True, status_code=204, summary="Abandon an upload")
    def abandon(
        self, *, platform: PlatformDep, principal: PrincipalDep, upload_id: FromPath[uuid.UUID]
    ) -> None:
        """Remove the session and what was uploaded."""
        uploads.abandon_upload(platform, upload_id, principal.identity_id)

    @post("/{upload_id:uuid}/finalise", sync_to_thread=True, summary="Submit the uploaded bid")
    def finalise(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        upload_id: FromPath[uuid.UUID],
        data: JSONBody[SignedStatement],
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        """Check everything, store the envelope, log the version, answer with the receipt bundle."""
        statement, signature = data.decoded()
        with _localised(request):
            receipt = finalise_upload(
                platform,
                upload_id,
                bidder_id=principal.identity_id,
                statement_raw=statement,
                signature=signature,
                client=_client(request),
            )
        return Response(receipt, status_code=201, headers=NO_STORE)


class BidController(Controller):
    """A tenderer's own bids, versions and receipts, and withdrawal."""

    path = "/bids"
    tags = ["bids (tenderer)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.TENDERER)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/", sync_to_thread=True, summary="My organisation's bids")
    def list_bids(
        self, *, platform: PlatformDep, principal: PrincipalDep, tender: FromQuery[uuid.UUID | None] = None
    ) -> Response[list[dict[str, Any]]]:
        """Every bid of the calling organisation (optionally on one tender), with versions."""
        return Response(reading.my_bids(platform, principal.identity_id, tender), headers=NO_STORE)

    @get("/{bid_id:uuid}", sync_to_thread=True, summary="One of my bids")
    def detail(
        self, *, platform: PlatformDep, principal: PrincipalDep, bid_id: FromPath[uuid.UUID]
    ) -> Response[dict[str, Any]]:
        """The bid and its versions."""
        return Response(reading.my_bid(platform, bid_id, principal.identity_id), headers=NO_STORE)

    @get("/{bid_id:uuid}/versions/{version:int}/receipt", sync_to_thread=True, summary="A receipt")
    def receipt(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        bid_id: FromPath[uuid.UUID],
        version: FromPath[int],
    ) -> Response[dict[str, Any]]:
        """The receipt bundle of one version (signed, time-stamped, with proof and checkpoint)."""
        return Response(
            reading.my_receipt(platform, bid_id, version, principal.identity_id), headers=NO_STORE
        )

    @post("/{bid_id:uuid}/withdraw", sync_to_thread=True, summary="Withdraw my bid")
    def withdraw(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        bid_id: FromPath[uuid.UUID],
        data: JSONBody[SignedStatement],
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        """Withdraw before the deadline with a signed ``sealbid.withdrawal.v1`` statement."""
        statement, signature = data.decoded()
        with _localised(request):
            receipt = withdraw_bid(
                platform,
                bid_id,
                bidder_id=principal.identity_id,
                statement_raw=statement,
                signature=signature,
                client=_client(request),
            )
        return Response(receipt, status_code=201, headers=NO_STORE)


def _log_inspection(platform: Platform, tender_id: uuid.UUID, actor: LogActor) -> None:
    with platform.transaction() as session:
        platform.translog.submit(session, LogEvent("bid.records.inspected", actor, tender=tender_id))


class MonitorSubmissionsController(Controller):
    """After the opening, monitors see how every bid version arrived (collusion checks); logged."""

    path = "/monitor/tenders"
    tags = ["monitoring"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.MONITOR)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/{tender_id:uuid}/submissions", summary="Submission records of a tender")
    async def submissions(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> list[dict[str, Any]]:
        """Every bid version with its metadata and commitment opening (409 before the bid deadline)."""
        records = await anyio.to_thread.run_sync(reading.submission_records, platform, tender_id)
        actor = LogActor("monitor", str(principal.identity_id), client_address(request))
        await anyio.to_thread.run_sync(_log_inspection, platform, tender_id, actor)
        return records


def bid_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return [BidUploadController, BidController, MonitorSubmissionsController]
