"""The signed opening record: built when every envelope has its outcome, published to all at once.

:func:`publish_opening_record` is what the opening calls when its session is finished. In one
transaction it builds the record (:mod:`tendering.opening.record_document`), signs its RFC 8785
canonical bytes with the platform's signing certificate (a detached CMS SignedData with an RFC 3161
signature time-stamp when a time-stamping authority is configured), stores the record with its OCDS
release, and logs its SHA-256. The row is the publication: before the transaction commits nothing of
the record exists for anyone, after it every bidder (and the public) sees the same bytes.

Objections raised in the hall must be answered first (Regs Art. 44: answered on the spot): while one is
open, publication waits and returns ``None``, and answering the last one publishes.

Signing and time-stamping are those of bid receipts (:mod:`tendering.bids.receipts`): the platform
certificate of ``settings.bids.receipt_signer_p12`` (outside production, the development PKI's
``platform-signing`` certificate) and the TSA of ``settings.bids.tsa_url`` (or the development TSA).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from typing import TYPE_CHECKING

import rfc8785
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from crypto.cms import Signer, TimeStamper, sign_detached
from crypto.cms.errors import CmsError
from tendering.bids.receipts import receipt_signer, receipt_timestamper
from tendering.errors import Unavailable
from tendering.ocds.opening import opening_release
from tendering.opening.models import OpeningSession
from tendering.opening.record_document import record_document
from tendering.opening.record_models import OpeningObjection, OpeningRecord
from tendering.tenders.store import public_change
from tendering.translog import LogActor, LogEvent

if TYPE_CHECKING:
    from tendering.platform import Platform

log = logging.getLogger(__name__)

#: The log event of a publication; its data carries the record's SHA-256 and the signature's.
RECORD_PUBLISHED_EVENT = "opening.record.published"


def record_signer(platform: Platform) -> Signer:
    """The platform's signing certificate and key, the one that signs bid receipts (Unavailable if none)."""
    try:
        return receipt_signer(platform)
    except Unavailable as exc:
        raise Unavailable(
            f"the opening record cannot be signed: {exc.detail}", code="record-signer-missing"
        ) from exc


def record_timestamper(platform: Platform) -> TimeStamper | None:
    """The platform's time-stamping authority (as for receipts), or None where none is configured."""
    try:
        return receipt_timestamper(platform)
    except Unavailable:
        return None


def sign_record(platform: Platform, document: bytes) -> tuple[bytes, bool]:
    """A detached CMS signature over ``document`` and whether it carries a signature time-stamp."""
    signer = record_signer(platform)
    timestamper = record_timestamper(platform)
    try:
        return sign_detached(document, signer, timestamper=timestamper), timestamper is not None
    except CmsError as exc:
        raise Unavailable(
            f"the opening record could not be signed or time-stamped now ({exc}); publish again later",
            code="record-signing-failed",
        ) from exc


def open_objections(session: Session, tender_id: uuid.UUID) -> int:
    """How many objections of the opening still wait for the agency's answer."""
    count = session.scalar(
        select(func.count())
        .select_from(OpeningObjection)
        .where(OpeningObjection.tender_id == tender_id, OpeningObjection.answered_at.is_(None))
    )
    return int(count or 0)


def published_record(session: Session, tender_id: uuid.UUID) -> OpeningRecord | None:
    """The published opening record of a tender, or None before publication."""
    return session.get(OpeningRecord, tender_id)


def publish_opening_record(
    session: Session, platform: Platform, tender_id: uuid.UUID
) -> OpeningRecord | None:
    """Build, sign, store, log and so publish the opening record of a finished opening (idempotent).

    Runs in ``session``'s transaction (the caller commits). Returns the record, the same one on every
    later call; ``None`` while objections wait for an answer (answering the last one publishes).
    Conflict ``opening-not-finished`` while an envelope is undecided; Unavailable if no signing
    certificate is configured or signing fails (nothing is stored then).
    """
    opening = session.get(OpeningSession, tender_id, with_for_update=True)
    existing = published_record(session, tender_id)
    if existing is not None:
        return existing
    if opening is not None and open_objections(session, tender_id):
        log.info("opening record of %s waits for answers to objections", tender_id)
        return None
    now = platform.clock.now()
    fields = record_document(session, tender_id, now)
    document = bytes(rfc8785.dumps(fields))
    signature, timestamped = sign_record(platform, document)
    digest = hashlib.sha256(document).hexdigest()
    record = OpeningRecord(
        tender_id=tender_id,
        document=document,
        sha256=digest,
        signature=signature,
        timestamped=timestamped,
        published_at=now,
        ocds_release=opening_release(fields),
    )
    session.add(record)
    public_change(session, tender_id, now)  # the record changes the tender's public view (OCDS order)
    platform.translog.submit(
        session,
        LogEvent(
            RECORD_PUBLISHED_EVENT,
            LogActor.system(),
            tender_id,
            {
                "record_sha256": digest,
                "signature_sha256": hashlib.sha256(signature).hexdigest(),
                "envelopes": len(fields["bids"]),
                "objections": len(fields["objections"]),
            },
        ),
    )
    session.flush()
    return record
