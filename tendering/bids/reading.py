"""What a bidder may read about its own bids, and what monitors may read after the opening.

A bidder sees only its organisation's bids (another organisation's bid id is simply not found).
Monitors see the submission metadata of a tender's bids only once its bid deadline (the opening time,
Law Art. 34) has passed; before that the answer is the same refusal whether or not anyone has bid.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from tendering.bids.models import Bid, BidVersion, SubmissionMetadata
from tendering.bids.receipts import ensure_receipt
from tendering.errors import Conflict, NotFound
from tendering.tenders.models import Tender
from tendering.tenders.spec import utc_text

if TYPE_CHECKING:
    from tendering.platform import Platform


def _version_document(version: BidVersion) -> dict[str, Any]:
    return {
        "version": version.version,
        "kind": version.kind,
        "lots": list(version.lots),
        "envelope_sha256": version.envelope_sha256,
        "envelope_size": version.envelope_size,
        "received_at": utc_text(version.received_at),
        "log_index": version.log_index,
        "receipt_ready": version.receipt is not None,
    }


def _bid_document(bid: Bid, versions: list[BidVersion]) -> dict[str, Any]:
    return {
        "id": str(bid.id),
        "tender": str(bid.tender_id),
        "lots": list(bid.lots),
        "state": bid.state,
        "current_version": bid.current_version,
        "created_at": utc_text(bid.created_at),
        "updated_at": utc_text(bid.updated_at),
        "versions": [_version_document(v) for v in versions],
    }


def my_bids(
    platform: Platform, bidder_id: uuid.UUID, tender_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """The organisation's bids (optionally on one tender), newest first, with their versions."""
    with platform.session_factory() as session:
        query = select(Bid).where(Bid.bidder_id == bidder_id)
        if tender_id is not None:
            query = query.where(Bid.tender_id == tender_id)
        bids = list(session.scalars(query.order_by(Bid.created_at.desc(), Bid.id)))
        versions = _versions(session, [b.id for b in bids])
        return [_bid_document(b, versions.get(b.id, [])) for b in bids]


def _versions(session: Any, bid_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[BidVersion]]:
    out: dict[uuid.UUID, list[BidVersion]] = {}
    if not bid_ids:
        return out
    rows = session.scalars(
        select(BidVersion).where(BidVersion.bid_id.in_(bid_ids)).order_by(BidVersion.version)
    )
    for row in rows:
        out.setdefault(row.bid_id, []).append(row)
    return out


def _own_bid(session: Any, bid_id: uuid.UUID, bidder_id: uuid.UUID) -> Bid:
    bid: Bid | None = session.get(Bid, bid_id)
    if bid is None or bid.bidder_id != bidder_id:
        raise NotFound("you have no bid with this id", code="bid-not-found")
    return bid


def my_bid(platform: Platform, bid_id: uuid.UUID, bidder_id: uuid.UUID) -> dict[str, Any]:
    """One of the organisation's bids with its versions."""
    with platform.session_factory() as session:
        bid = _own_bid(session, bid_id, bidder_id)
        return _bid_document(bid, _versions(session, [bid.id]).get(bid.id, []))


def my_receipt(platform: Platform, bid_id: uuid.UUID, version: int, bidder_id: uuid.UUID) -> dict[str, Any]:
    """The receipt bundle of one version of the organisation's bid (built now if still missing)."""
    with platform.session_factory() as session:
        _own_bid(session, bid_id, bidder_id)
        version_id = session.scalar(
            select(BidVersion.id).where(BidVersion.bid_id == bid_id, BidVersion.version == version)
        )
    if version_id is None:
        raise NotFound("this bid has no such version", code="bid-version-not-found")
    return ensure_receipt(platform, version_id)


def submission_records(platform: Platform, tender_id: uuid.UUID) -> list[dict[str, Any]]:
    """After the bid deadline: every version of every bid of the tender with its submission metadata
    and the salt that opens its log commitments (for monitors' collusion checks)."""
    now = platform.clock.now()
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        if tender is None:
            raise NotFound("no tender has this id", code="tender-not-found")
        if now < tender.bid_deadline:
            raise Conflict(
                "submission records stay sealed until the opening (the bid deadline)",
                code="bids-sealed-until-opening",
            )
        rows = session.execute(
            select(Bid, BidVersion, SubmissionMetadata)
            .join(BidVersion, BidVersion.bid_id == Bid.id)
            .join(SubmissionMetadata, SubmissionMetadata.version_id == BidVersion.id, isouter=True)
            .where(Bid.tender_id == tender_id)
            .order_by(BidVersion.received_at, BidVersion.version)
        ).all()
    out = []
    for bid, version, meta in rows:
        record: dict[str, Any] = {"bid": str(bid.id), "bidder_uscc": bid.bidder_uscc, "salt": bid.salt.hex()}
        record |= _version_document(version)
        record["commitment"] = version.commitment
        if meta is not None:
            record["submission"] = {
                "address": meta.address,
                "user_agent": meta.user_agent,
                "client_name": meta.client_name,
                "client_version": meta.client_version,
                "machine_code": meta.machine_code,
                "client_time": meta.client_time,
                "upload_started_at": utc_text(meta.upload_started_at) if meta.upload_started_at else None,
                "upload_finished_at": utc_text(meta.upload_finished_at) if meta.upload_finished_at else None,
                "chunks": meta.chunks,
            }
        out.append(record)
    return out
