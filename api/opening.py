"""The opening: custodians release their shares, bidders decrypt their own layer, anyone sees progress.

* ``POST /custodian/tenders/{id}/opening/release`` (custodian): a signed share release
  (``docs/opening.md``); when k shares are held the opening starts in the background.
* ``GET /bids/tenders/{id}/opening/layer`` (tenderer): the caller's own middle-layer envelope, while the
  decryption window is open; ``POST .../layer-key``: the layer's content-encryption key, signed.
* ``GET /public/tenders/{id}/opening``: the opening's progress once the tender is closed (404 before).

Controllers only parse and shape; the rules live in :mod:`tendering.opening`.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import os
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from litestar import Controller, Request, Response, get, post
from litestar.background_tasks import BackgroundTask
from litestar.params import FromPath, JSONBody
from litestar.response import Stream
from litestar.types import ControllerRouterHandler

from api.auth import PRINCIPAL_DEPENDENCY, PUBLIC, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from tendering.errors import InvalidInput
from tendering.identity.models import Role
from tendering.opening import decryption, progress, releases
from tendering.opening.opener import open_in_background

NO_STORE = {"Cache-Control": "no-store"}
#: The layer download is sent in chunks of this size: never the whole layer in memory.
LAYER_CHUNK = 256 * 1024


def _unb64(value: str, what: str, limit: int) -> bytes:
    if len(value) > limit * 4 // 3 + 4:
        raise InvalidInput(f"{what} is too large", code="invalid-base64")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput(f"{what} is not valid base64", code="invalid-base64") from None


def _chunks(stack: contextlib.ExitStack, stream: BinaryIO) -> Iterator[bytes]:
    with stack:
        while chunk := stream.read(LAYER_CHUNK):
            yield chunk


@dataclass
class ShareReleaseBody:
    """The release statement, its detached CMS signature and the share document, each base64."""

    statement: str
    signature: str
    share: str


@dataclass
class LayerKeyBody:
    """The ``sealbid.bidder-decryption.v1`` statement, its signature and the layer's key, base64."""

    statement: str
    signature: str
    key: str


class CustodianReleaseController(Controller):
    """Share release by a tender's custodians."""

    path = "/custodian/tenders/{tender_id:uuid}/opening"
    tags = ["opening (custodian)"]  # noqa: RUF012 - Litestar layer attribute
    guards = [requires(Role.CUSTODIAN)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @post("/release", sync_to_thread=True, summary="Release my share (after the opening time)")
    def release(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[ShareReleaseBody],
        request: Request[Any, Any, Any],
    ) -> Response[dict[str, Any]]:
        """201 when recorded now, 200 for a repeated release; the opening starts with k shares."""
        result = releases.release_share(
            platform,
            tender_id,
            statement=_unb64(data.statement, "statement", releases.MAX_STATEMENT),
            signature=_unb64(data.signature, "signature", releases.MAX_SIGNATURE),
            share_document=_unb64(data.share, "share", 4096),
            actor=principal.actor(Role.CUSTODIAN, client_address(request)),
        )
        started = open_in_background(platform, tender_id) if result.ready else False
        document = {
            "tender": str(tender_id),
            "index": result.index,
            "created": result.created,
            "held": list(result.held),
            "threshold": result.threshold,
            "opening_started": started,
        }
        return Response(document, status_code=201 if result.created else 200, headers=NO_STORE)


class BidderLayerController(Controller):
    """A bidder decrypts its own layer during the opening (Measures Art. 30)."""

    path = "/bids/tenders/{tender_id:uuid}/opening"
    tags = ["opening (bidder)"]  # noqa: RUF012
    guards = [requires(Role.TENDERER)]  # noqa: RUF012
    dependencies = PRINCIPAL_DEPENDENCY

    @get("/layer", sync_to_thread=True, summary="My middle-layer envelope (during the decryption window)")
    def layer(
        self, *, platform: PlatformDep, principal: PrincipalDep, tender_id: FromPath[uuid.UUID]
    ) -> Stream:
        """The caller's own layer, still sealed to its encryption certificate (application/pkcs7-mime),
        streamed from the blob store in chunks."""
        stack = contextlib.ExitStack()
        stream = stack.enter_context(
            decryption.own_middle_layer(platform, tender_id, bidder_id=principal.identity_id)
        )
        try:
            size = stream.seek(0, os.SEEK_END)
            stream.seek(0)
        except BaseException:
            stack.close()
            raise
        return Stream(
            _chunks(stack, stream),
            media_type="application/pkcs7-mime",
            headers={**NO_STORE, "Content-Length": str(size)},
            background=BackgroundTask(stack.close),  # also when the client went away before the end
        )

    @post("/layer-key", sync_to_thread=True, summary="The key of my layer, signed")
    def layer_key(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        data: JSONBody[LayerKeyBody],
    ) -> Response[dict[str, Any]]:
        """Decrypt the caller's layer with the given key and record the outcome."""
        outcome = decryption.decrypt_layer(
            platform,
            tender_id,
            bidder_id=principal.identity_id,
            statement=_unb64(data.statement, "statement", 4096),
            signature=_unb64(data.signature, "signature", 64 * 1024),
            cek=_unb64(data.key, "key", 64),
        )
        return Response({"tender": str(tender_id), "outcome": outcome}, headers=NO_STORE)


class OpeningProgressController(Controller):
    """The opening's progress: public once the tender is closed."""

    path = "/public/tenders/{tender_id:uuid}/opening"
    tags = ["opening"]  # noqa: RUF012
    opt = PUBLIC

    @get("/", sync_to_thread=True, summary="Progress of the opening (after the closing)")
    def status(self, *, platform: PlatformDep, tender_id: FromPath[uuid.UUID]) -> dict[str, Any]:
        """State, envelope count and list hash, shares released, outcomes counted."""
        return progress.public_progress(platform, tender_id)


def opening_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return [CustodianReleaseController, BidderLayerController, OpeningProgressController]
