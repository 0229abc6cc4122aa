"""Tender-document download from the portal for a signed-in tenderer.

The tender page posts a small form (with the session's anti-forgery token) here; the download is
granted and recorded by the tender domain exactly as an API download is (organisation, certificate,
address, time, and its commitment in the transparency log), then the bytes are streamed.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any, BinaryIO

from litestar import Controller, Request, post
from litestar.params import FromPath
from litestar.response import Stream

from api.auth import PRINCIPAL_DEPENDENCY, PrincipalDep, client_address, requires
from api.deps import PlatformDep
from api.portal.page_errors import PAGE_EXCEPTION_HANDLERS
from api.tender_access import CHUNK, content_disposition
from tendering.identity.models import Role
from tendering.platform import Platform
from tendering.tenders.documents import download_document
from tendering.tenders.views import DocumentView


def _chunks(handle: BinaryIO) -> Iterator[bytes]:
    with handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def document_response(platform: Platform, document: DocumentView) -> Stream:
    """The document's bytes as an attachment, with the same headers as the API download."""
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


class PortalDocumentDownloads(Controller):
    """Recorded document downloads for tenderers signed in to the portal."""

    path = "/announcements"
    include_in_schema = False
    guards = [requires(Role.TENDERER, browser=True)]  # noqa: RUF012 - Litestar layer attribute
    dependencies = PRINCIPAL_DEPENDENCY
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @post("/{tender_id:uuid}/documents/{document_id:uuid}/download", sync_to_thread=True, status_code=200)
    def download(
        self,
        *,
        platform: PlatformDep,
        principal: PrincipalDep,
        tender_id: FromPath[uuid.UUID],
        document_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
    ) -> Stream:
        """Record the download as the signed-in tenderer, then send the document."""
        actor = principal.actor(Role.TENDERER, client_address(request))
        grant = download_document(
            platform, tender_id, document_id, actor=actor, fingerprint=principal.fingerprint
        )
        return document_response(platform, grant.document)
