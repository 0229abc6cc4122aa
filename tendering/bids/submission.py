"""Accepting a bid: finalising an upload with the signed statement, replacing, withdrawing.

Order of work for a submission (protocols.md, "Submission and receipt"):

1. every check that needs no writing: the tender is published and before its deadline by the server's
   clock, its opening key is registered, the organisation is eligible, the statement is well formed,
   matches the upload, is signed by a valid signing certificate of the logged-in organisation, names
   lots of this tender and a nonce never seen before; the upload parses as CMS AuthEnvelopedData
   addressed to this tender's opening certificate;
2. holding the upload (no chunk can arrive any more): its SHA-256, computed while the chunks arrived,
   must be the declared one (else nothing is kept), the file must parse as AuthEnvelopedData
   addressed to this tender's opening certificate, then the blob store adopts the partial file by
   rename (fsynced; no copy, no second hash);
3. one transaction: the bid and its new version, the monitor metadata and the blinded log entry;
4. the receipt is built (signed, time-stamped, with the inclusion proof) and returned.

A refusal at step 1 stores nothing. After the deadline nothing about a bid changes (TooLate).
"""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, BinaryIO

from cryptography import x509
from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto.cms import CmsError, peek_envelope
from crypto.receipt import (
    LOG_ENTRY_TYPE,
    SUBMISSION_TYPE,
    WITHDRAWAL_TYPE,
    bidder_commitment,
    version_commitment,
)
from tendering.bids import upload_state
from tendering.bids.acceptance import check_eligible, check_lots, open_tender, opening_certificate_of
from tendering.bids.models import (
    Bid,
    BidState,
    BidVersion,
    SubmissionMetadata,
    UploadSession,
    UploadState,
    VersionKind,
)
from tendering.bids.receipts import build_receipt
from tendering.bids.statements import Statement, verified_statement
from tendering.bids.uploads import check_not_expired, hold_owned, owned_open_row, partial_path
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound
from tendering.identity.models import Organisation
from tendering.translog import LogActor, LogEvent

if TYPE_CHECKING:
    from tendering.platform import Platform


@dataclass(frozen=True)
class Client:
    """Where a request came from (recorded for monitors, never shown before the opening)."""

    address: str | None = None
    user_agent: str | None = None


def _uscc_of(session: Session, bidder_id: uuid.UUID) -> str:
    uscc = session.scalar(select(Organisation.uscc).where(Organisation.identity_id == bidder_id))
    if uscc is None:
        raise Forbidden("only a registered enterprise may bid", code="bidder-not-enterprise")
    return uscc


def _check_fresh_nonce(session: Session, nonce: str) -> None:
    if session.scalar(select(exists().where(BidVersion.nonce == nonce))):
        raise Conflict(
            "this signed statement was already used (its nonce is spent); sign a new one",
            code="statement-replayed",
        )


def _check_matches(statement: Statement, *, tender_id: uuid.UUID, uscc: str, upload: UploadSession) -> None:
    fields = statement.fields
    mismatches = []
    if fields["tender"] != str(tender_id):
        mismatches.append("tender")
    if fields["bidder_uscc"] != uscc:
        mismatches.append("bidder_uscc")
    if fields.get("envelope_sha256") != upload.declared_sha256:
        mismatches.append("envelope_sha256")
    if fields.get("envelope_size") != upload.declared_size:
        mismatches.append("envelope_size")
    if mismatches:
        raise InvalidInput(
            f"the signed statement does not match this upload: {', '.join(mismatches)} differ",
            code="statement-mismatch",
            fields=mismatches,
        )


def _digest_mismatch() -> InvalidInput:
    return InvalidInput(
        "the uploaded bytes do not have the declared SHA-256; upload the file again",
        code="envelope-digest-mismatch",
    )


def _check_envelope(source: BinaryIO, opening: x509.Certificate) -> None:
    """``source`` is an AuthEnvelopedData addressed to ``opening`` (its structure only: the encrypted
    content is skipped, so this costs a few reads whatever the size)."""
    source.seek(0)
    try:
        info = peek_envelope(source)
    except CmsError as exc:
        raise InvalidInput(
            "the file is not a sealed bid (CMS AuthEnvelopedData); unencrypted bids are refused "
            f"(Electronic Bidding Measures Art. 26): {exc}",
            code="envelope-not-sealed",
        ) from None
    if not info.is_addressed_to(opening):
        raise InvalidInput(
            "the envelope is not sealed to this tender's opening certificate, so it could never be "
            "opened; seal it again with this tender's opening certificate",
            code="envelope-wrong-recipient",
        )


def _store_envelope(
    platform: Platform, upload: UploadSession, handle: BinaryIO | None, opening: x509.Certificate
) -> None:
    """Check the held upload and move it into the blob store (durable before anything is logged).

    ``handle`` is the partial file, held by :func:`upload_state.hold`: its running digest must be the
    declared one (else nothing is kept), its structure is checked, then the blob store adopts the
    file by rename - no copy and no second hash. ``None`` means an earlier finalisation already moved
    it in and failed afterwards: the blob with the declared digest is checked again and used.
    """
    declared = upload.declared_sha256
    if handle is None:
        if not platform.blobs.exists(declared):
            raise Conflict(
                "the uploaded bytes of this session are gone; start a new upload", code="upload-missing"
            )
        with platform.blobs.open(declared) as stored:
            _check_envelope(stored, opening)
        return
    digest = upload_state.running_digest(handle, upload.id, upload.declared_size)
    if digest.hexdigest() != declared:
        raise _digest_mismatch()  # damaged in transit: the partial file stays, nothing is stored
    _check_envelope(handle, opening)
    platform.blobs.adopt(partial_path(platform, upload.id), sha256=declared)


def _log_version(
    platform: Platform,
    session: Session,
    bid: Bid,
    version: BidVersion,
    *,
    bidder_id: uuid.UUID,
    client: Client,
) -> None:
    version.bidder_commitment = bidder_commitment(str(bid.id), bid.bidder_uscc, bid.salt)
    version.commitment = version_commitment(
        tender=str(bid.tender_id),
        bid=str(bid.id),
        version=version.version,
        kind=version.kind,
        lots=version.lots,
        envelope_sha256=version.envelope_sha256,
        bidder=version.bidder_commitment,
        salt=bid.salt,
    )
    submitted = platform.translog.submit(
        session,
        LogEvent(
            LOG_ENTRY_TYPE,
            LogActor("tenderer", str(bidder_id), client.address),
            tender=None,  # promise 2: the public entry names no tender and no bidder
            data={"commitment": version.commitment},
        ),
        nudge=False,  # the receipt is built right after the commit: build_receipt sequences it
    )
    version.log_pending_id = submitted.pending_id


def _next_version(
    session: Session, bid: Bid, kind: VersionKind, statement: Statement, now: datetime, **envelope: Any
) -> BidVersion:
    version = BidVersion(
        id=uuid.uuid4(),
        bid_id=bid.id,
        version=bid.current_version + 1,
        kind=kind,
        lots=bid.lots,
        statement=statement.raw,
        statement_signature=statement.signature,
        nonce=statement.nonce,
        signer_fingerprint=statement.signer_fingerprint,
        received_at=now,
        **envelope,
    )
    bid.current_version = version.version
    bid.updated_at = now
    return version


def finalise_upload(
    platform: Platform,
    upload_id: uuid.UUID,
    *,
    bidder_id: uuid.UUID,
    statement_raw: bytes,
    signature: bytes,
    client: Client,
) -> dict[str, Any]:
    """Accept the finished upload as a new bid version; returns the receipt bundle (JSON data)."""
    with hold_owned(platform, upload_id, bidder_id) as handle:
        # held from the first read through adoption and recording: no chunk can arrive in between
        # (upload-busy), and once the session is finished none is accepted at all
        with platform.session_factory() as session:
            upload = owned_open_row(platform, session, upload_id, bidder_id, check_expiry=False)
            if upload.offset != upload.declared_size:
                raise Conflict(
                    f"the upload is incomplete: {upload.offset} of {upload.declared_size} bytes received",
                    code="upload-incomplete",
                    offset=upload.offset,
                )
            tender = open_tender(session, upload.tender_id, platform.clock.now())
            check_not_expired(platform, upload)
            opening = opening_certificate_of(session, tender)
            check_eligible(session, tender, bidder_id)
            statement = verified_statement(
                platform,
                session,
                statement_raw,
                signature,
                expected_type=SUBMISSION_TYPE,
                bidder_id=bidder_id,
            )
            uscc = _uscc_of(session, bidder_id)
            _check_matches(statement, tender_id=tender.id, uscc=uscc, upload=upload)
            lots = check_lots(tender, statement.lots)
            _check_fresh_nonce(session, statement.nonce)
        _store_envelope(platform, upload, handle, opening)
        try:
            version_id, pending_id = _record_submission(
                platform,
                upload,
                bidder_id=bidder_id,
                uscc=uscc,
                lots=lots,
                statement=statement,
                client=client,
            )
        except IntegrityError:
            raise Conflict(
                "this statement was already used, or your bid changed at the same moment; check your "
                "bids and sign a new statement",
                code="statement-replayed",
            ) from None
    upload_state.forget(upload.id)
    return build_receipt(platform, version_id, pending_id=pending_id).document()


def _record_submission(
    platform: Platform,
    upload: UploadSession,
    *,
    bidder_id: uuid.UUID,
    uscc: str,
    lots: list[int],
    statement: Statement,
    client: Client,
) -> tuple[uuid.UUID, int | None]:
    """Record the new version and its log entry; returns the version's id and pending log entry."""
    with platform.transaction() as session:
        now = platform.clock.now()
        open_tender(session, upload.tender_id, now)  # the deadline, once more, at the moment of recording
        fresh = session.get(UploadSession, upload.id, with_for_update=True)
        if fresh is None or fresh.state != UploadState.OPEN:
            raise Conflict("this upload was already finalised", code="upload-finished")
        fresh.state = UploadState.FINISHED
        fresh.updated_at = now
        bid = session.scalars(
            select(Bid).where(Bid.tender_id == upload.tender_id, Bid.bidder_id == bidder_id).with_for_update()
        ).first()
        kind = (
            VersionKind.REPLACED
            if bid is not None and bid.state == BidState.ACTIVE
            else VersionKind.SUBMITTED
        )
        if bid is None:
            bid = Bid(
                id=uuid.uuid4(),
                tender_id=upload.tender_id,
                bidder_id=bidder_id,
                bidder_uscc=uscc,
                lots=lots,
                state=BidState.ACTIVE,
                current_version=0,
                salt=secrets.token_bytes(32),
                created_at=now,
                updated_at=now,
            )
            session.add(bid)
        bid.lots = lots
        bid.state = BidState.ACTIVE
        version = _next_version(
            session,
            bid,
            kind,
            statement,
            now,
            envelope_sha256=upload.declared_sha256,
            envelope_size=upload.declared_size,
        )
        _log_version(platform, session, bid, version, bidder_id=bidder_id, client=client)
        session.add(version)
        session.flush()
        session.add(_metadata(version, upload, statement, client, now))
        return version.id, version.log_pending_id


def _metadata(
    version: BidVersion, upload: UploadSession | None, statement: Statement, client: Client, now: datetime
) -> SubmissionMetadata:
    fields = statement.fields
    client_info = fields.get("client") or {}
    return SubmissionMetadata(
        version_id=version.id,
        address=client.address,
        user_agent=(client.user_agent or "")[:300] or None,
        client_name=client_info.get("name"),
        client_version=client_info.get("version"),
        machine_code=fields.get("machine_code"),
        client_time=fields.get("client_time"),
        upload_started_at=upload.created_at if upload else None,
        upload_finished_at=now,
        chunks=list(upload.chunks) if upload else [],
    )


def withdraw_bid(
    platform: Platform,
    bid_id: uuid.UUID,
    *,
    bidder_id: uuid.UUID,
    statement_raw: bytes,
    signature: bytes,
    client: Client,
) -> dict[str, Any]:
    """Withdraw a standing bid before the deadline (a new, logged version); returns its receipt."""
    try:
        with platform.transaction() as session:
            bid = session.get(Bid, bid_id, with_for_update=True)
            if bid is None or bid.bidder_id != bidder_id:
                raise NotFound("you have no bid with this id", code="bid-not-found")
            now = platform.clock.now()
            open_tender(session, bid.tender_id, now)
            statement = verified_statement(
                platform,
                session,
                statement_raw,
                signature,
                expected_type=WITHDRAWAL_TYPE,
                bidder_id=bidder_id,
            )
            fields = statement.fields
            if fields["bid"] != str(bid.id) or fields["tender"] != str(bid.tender_id):
                raise InvalidInput(
                    "the signed withdrawal names another bid or tender", code="statement-mismatch"
                )
            if fields["bidder_uscc"] != bid.bidder_uscc:
                raise InvalidInput("the signed withdrawal names another bidder", code="statement-mismatch")
            if bid.state != BidState.ACTIVE:
                raise Conflict("this bid is already withdrawn", code="bid-withdrawn")
            _check_fresh_nonce(session, statement.nonce)
            bid.state = BidState.WITHDRAWN
            version = _next_version(session, bid, VersionKind.WITHDRAWN, statement, now)
            _log_version(platform, session, bid, version, bidder_id=bidder_id, client=client)
            session.add(version)
            session.flush()
            session.add(_metadata(version, None, statement, client, now))
            version_id = version.id
    except IntegrityError:
        raise Conflict(
            "this signed statement was already used; sign a new one", code="statement-replayed"
        ) from None
    return build_receipt(platform, version_id).document()
