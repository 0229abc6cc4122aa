"""Tender documents: versioned uploads into the blob store, and recorded downloads.

The agency uploads while drafting (the versions are released when the tender is published) or after
publication (the versions stay staged until a notice releases them). Every download by a tenderer is
recorded with its organisation, certificate fingerprint, network address and time. Who obtained the
documents is confidential (Law Art. 22): the record is shown only to that organisation and to
monitors (each inspection logged), and the public log holds only a salted commitment to it, without
even the tender's id.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from tendering.errors import Conflict, InvalidInput, TooLate
from tendering.identity.audit import Actor
from tendering.identity.models import Organisation
from tendering.tenders.events import log_event, new_salt, record_commitment
from tendering.tenders.notice_models import DocumentDownload, TenderDocument
from tendering.tenders.queries import documents_of
from tendering.tenders.spec import utc_text
from tendering.tenders.store import load, tender_not_found, unit
from tendering.tenders.views import DocumentView
from tendering.tenders.workflow import State

if TYPE_CHECKING:
    from tendering.platform import Platform

_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
_MEDIA_TYPE = re.compile(r"^[a-zA-Z0-9][\w!#$&^.+-]{0,62}/[a-zA-Z0-9][\w!#$&^.+-]{0,62}$")


def _check_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > 255 or _BAD_NAME.search(name) or name in (".", ".."):
        raise InvalidInput(
            "a document name is 1-255 characters without slashes or control characters",
            code="document-name-invalid",
        )
    return name


def _view(row: TenderDocument, current: bool = True) -> DocumentView:
    return DocumentView(
        row.id,
        row.name,
        row.version,
        row.sha256,
        row.size,
        row.media_type,
        row.uploaded_at,
        row.released_at,
        row.notice_id,
        current,
    )


def upload_document(
    platform: Platform,
    tender_id: uuid.UUID,
    name: str,
    source: BinaryIO,
    *,
    actor: Actor,
    media_type: str = "application/octet-stream",
) -> DocumentView:
    """Store a new version of the document ``name`` (a draft's, or a staged one after publication)."""
    name = _check_name(name)
    media_type = media_type.split(";", maxsplit=1)[0].strip() or "application/octet-stream"
    if not _MEDIA_TYPE.match(media_type):
        raise InvalidInput(f"{media_type!r} is not a media type", code="media-type-invalid")
    with platform.session_factory() as session:  # refuse early, before storing any bytes
        _uploadable(load(session, tender_id), actor, platform)
    blob = platform.blobs.put(source)
    now = platform.clock.now()
    with unit(platform) as session:
        tender = load(session, tender_id, lock=True)
        _uploadable(tender, actor, platform)
        version = (
            session.scalar(
                select(func.max(TenderDocument.version)).where(
                    TenderDocument.tender_id == tender.id, TenderDocument.name == name
                )
            )
            or 0
        ) + 1
        row = TenderDocument(
            id=uuid.uuid4(),
            tender_id=tender.id,
            name=name,
            version=version,
            sha256=blob.sha256,
            size=blob.size,
            media_type=media_type,
            uploaded_at=now,
            uploaded_by=actor.identity_id,
        )
        session.add(row)
        session.flush()
        log_event(
            platform,
            session,
            "tender.document_uploaded",
            actor,
            tender.id,
            document=str(row.id),
            version=version,
            sha256=blob.sha256,
            size=blob.size,
            staged=tender.state == State.PUBLISHED,
        )
        return _view(row)


def _uploadable(tender: Any, actor: Actor, platform: Platform) -> None:
    if tender.agency_id != actor.identity_id:
        raise tender_not_found()
    if tender.state == State.PUBLISHED:
        if platform.clock.now() >= tender.bid_deadline:
            raise TooLate(
                "the bid deadline has passed; the documents can no longer change", code="tender-closed"
            )
    elif tender.state != State.DRAFT:
        raise Conflict(
            f"documents of a tender that is {tender.state} cannot change; uploads are for drafts, "
            "or after publication with a notice",
            code="documents-locked",
            state=tender.state,
        )


def agency_documents(session: Session, tender_id: uuid.UUID, agency_id: uuid.UUID) -> list[DocumentView]:
    """Every version (released or staged) of the agency's tender's documents."""
    if load(session, tender_id).agency_id != agency_id:
        raise tender_not_found()
    return documents_of(session, tender_id, released_only=False)


@dataclass(frozen=True)
class Download:
    """A granted download: what to send (the caller opens the blob by ``document.sha256``)."""

    document: DocumentView
    record_id: uuid.UUID


def _has_obtained(session: Session, tender_id: uuid.UUID, organisation_id: uuid.UUID) -> bool:
    return bool(
        session.scalar(
            select(
                exists().where(
                    DocumentDownload.tender_id == tender_id,
                    DocumentDownload.organisation_id == organisation_id,
                )
            )
        )
    )


def download_document(
    platform: Platform,
    tender_id: uuid.UUID,
    document_id: uuid.UUID,
    *,
    actor: Actor,
    fingerprint: str,
) -> Download:
    """Record that the acting tenderer obtains a released document, and grant it.

    New obtainers are admitted during the document period; organisations that already obtained the
    documents may fetch released versions until the bid deadline.
    """
    now = platform.clock.now()
    with unit(platform) as session:
        tender = load(session, tender_id)
        document = session.get(TenderDocument, document_id)
        if (
            tender.published_at is None
            or document is None
            or document.tender_id != tender.id
            or document.released_at is None
            or actor.identity_id is None
        ):
            raise tender_not_found()
        if tender.state != State.PUBLISHED or now >= tender.bid_deadline:
            raise TooLate("the documents of this tender can no longer be obtained", code="documents-closed")
        if not _has_obtained(session, tender.id, actor.identity_id):
            start = tender.document_period_start or tender.published_at
            if now < start:
                raise TooLate(
                    f"the document period starts at {utc_text(start)}", code="document-period-not-started"
                )
            if now > tender.document_period_end:
                raise TooLate(
                    f"the document period ended at {utc_text(tender.document_period_end)}",
                    code="document-period-closed",
                )
        salt = new_salt()
        record = DocumentDownload(
            id=uuid.uuid4(),
            document_id=document.id,
            tender_id=tender.id,
            organisation_id=actor.identity_id,
            certificate_fingerprint=fingerprint,
            address=actor.address,
            downloaded_at=now,
            salt=salt,
        )
        session.add(record)
        opening = _record(record, document.sha256)
        log_event(
            platform, session, "document.downloaded", actor, None, record=record_commitment(salt, opening)
        )
        return Download(_view(document), record.id)


def _record(row: DocumentDownload, sha256: str) -> dict[str, Any]:
    return {
        "kind": "download",
        "record": str(row.id),
        "tender": str(row.tender_id),
        "document": str(row.document_id),
        "sha256": sha256,
        "organisation": str(row.organisation_id),
        "certificate": row.certificate_fingerprint,
        "address": row.address,
        "time": utc_text(row.downloaded_at),
    }


def _download_rows(session: Session, **where: Any) -> list[dict[str, Any]]:
    statement = (
        select(DocumentDownload, TenderDocument, Organisation)
        .join(TenderDocument, TenderDocument.id == DocumentDownload.document_id)
        .join(Organisation, Organisation.identity_id == DocumentDownload.organisation_id)
    )
    for column, value in where.items():
        statement = statement.where(getattr(DocumentDownload, column) == value)
    rows = session.execute(statement.order_by(DocumentDownload.downloaded_at, DocumentDownload.id)).all()
    return [
        {
            "id": str(d.id),
            "tender_id": str(d.tender_id),
            "organisation": {"id": str(o.identity_id), "uscc": o.uscc, "name": o.name},
            "document": {"id": str(doc.id), "name": doc.name, "version": doc.version, "sha256": doc.sha256},
            "certificate_fingerprint": d.certificate_fingerprint,
            "address": d.address,
            "downloaded_at": utc_text(d.downloaded_at),
            "commitment": record_commitment(d.salt, _record(d, doc.sha256)),
            "salt": d.salt.hex(),
        }
        for d, doc, o in rows
    ]


def my_downloads(
    session: Session, organisation_id: uuid.UUID, tender_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """The calling organisation's own download records (with what opens their log commitments)."""
    where: dict[str, Any] = {"organisation_id": organisation_id}
    if tender_id is not None:
        where["tender_id"] = tender_id
    return _download_rows(session, **where)


def inspect_downloads(platform: Platform, tender_id: uuid.UUID, *, actor: Actor) -> list[dict[str, Any]]:
    """Every download record of a tender, for a monitor; the inspection itself is logged."""
    with unit(platform) as session:
        load(session, tender_id)
        rows = _download_rows(session, tender_id=tender_id)
        digest = hashlib.sha256("\n".join(r["commitment"] for r in rows).encode()).hexdigest()
        log_event(platform, session, "tender.downloads_inspected", actor, tender_id, records_sha256=digest)
        return rows
