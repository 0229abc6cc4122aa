"""Closing a tender at its bid deadline: freeze the bids, list the envelopes, disclose the commitments.

From the deadline instant (server clock) the submission service refuses every change. The closing,
run by the maintenance tick (and by a custodian's share release after the deadline), takes the
tender row's lock and, in one transaction:

* reads every bid of the tender (rows locked): the version standing at the deadline of each active
  bid is an envelope to open; a bid withdrawn before the deadline gets the outcome *withdrawn*;
* creates the :class:`~tendering.opening.models.OpeningSession` (``closed``) and one
  :class:`~tendering.opening.models.OpeningOutcome` per bid;
* logs ``tender.closed`` (public) with the number of envelopes and ``envelope_list_sha256``: SHA-256
  of the RFC 8785 canonical JSON array of the standing envelopes' SHA-256 hex strings, sorted;
* logs one ``opening.bid_disclosed`` per bid: the bid id, its salt, its bidder commitment and every
  version (number, kind, lots, envelope SHA-256) — the opening of the blinded ``bid.version`` entries
  logged at submission, so a monitor links them to this tender and checks the set.

With fewer standing envelopes than the procedure's ``min_bids`` the tender fails instead (public
reason, Regs Art. 44): nothing is disclosed and the envelopes stay sealed. Idempotent: a closed
tender is not closed again.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Final

import rfc8785
from sqlalchemy import select
from sqlalchemy.orm import Session

from tendering.bids.models import Bid, BidState, BidVersion, VersionKind
from tendering.i18n import DEFAULT_LOCALE, Catalog
from tendering.identity.audit import Actor
from tendering.identity.models import Organisation
from tendering.opening.models import Decryption, OpeningOutcome, OpeningSession, OpeningState, Outcome
from tendering.opening.outcomes import WITHDRAWN_BEFORE_DEADLINE, reason_text
from tendering.tenders import supervision
from tendering.tenders.events import log_event, text_sha256
from tendering.tenders.models import Tender
from tendering.tenders.service import rules_for
from tendering.tenders.workflow import State, allow_from, register, transition

if TYPE_CHECKING:
    from tendering.platform import Platform

CLOSED: Final = "closed"
OPENED: Final = "opened"
DISCLOSED_EVENT: Final = "opening.bid_disclosed"
TOO_FEW_BIDS: Final = "too-few-bids"

register("close", (State.PUBLISHED,), CLOSED, ("system",), event="tender.closed", public=True)
register("open", (CLOSED,), OPENED, ("system",), event="tender.opened", public=True)
allow_from("fail", CLOSED)


def envelope_list_sha256(envelopes: list[str]) -> str:
    """SHA-256 (hex) of the canonical JSON array of envelope SHA-256 hex strings, sorted."""
    return hashlib.sha256(bytes(rfc8785.dumps(sorted(envelopes)))).hexdigest()


@dataclass(frozen=True)
class ClosingResult:
    """What the closing of one tender did (or found done)."""

    tender_id: uuid.UUID
    state: str
    envelope_count: int
    envelope_list_sha256: str
    closed_now: bool


def _result(row: OpeningSession, *, closed_now: bool) -> ClosingResult:
    return ClosingResult(row.tender_id, row.state, row.envelope_count, row.envelope_list_sha256, closed_now)


def _last_envelope(versions: list[BidVersion]) -> BidVersion | None:
    with_envelope = [v for v in versions if v.envelope_sha256 is not None]
    return with_envelope[-1] if with_envelope else None


def _disclosure(bid: Bid, versions: list[BidVersion]) -> dict[str, Any]:
    return {
        "bid": str(bid.id),
        "salt": bid.salt.hex(),
        "bidder_commitment": versions[-1].bidder_commitment if versions else "",
        "versions": [
            {
                "version": v.version,
                "kind": v.kind,
                "lots": list(v.lots),
                "envelope_sha256": v.envelope_sha256,
                "commitment": v.commitment,
            }
            for v in versions
        ],
        "standing": bid.state == BidState.ACTIVE,
    }


def _outcome_row(session: Session, tender: Tender, bid: Bid, versions: list[BidVersion]) -> OpeningOutcome:
    envelope = _last_envelope(versions)
    assert envelope is not None and envelope.envelope_sha256 is not None  # every bid began with one
    name = session.scalar(select(Organisation.name).where(Organisation.identity_id == bid.bidder_id))
    row = OpeningOutcome(
        tender_id=tender.id,
        bid_id=bid.id,
        version=envelope.version,
        envelope_sha256=envelope.envelope_sha256,
        bidder_id=bid.bidder_id,
        bidder_uscc=bid.bidder_uscc,
        bidder_name=name or bid.bidder_uscc,
        outcome=None,
        decryption=Decryption.PENDING if tender.bidder_decryption else Decryption.NOT_REQUIRED,
        price_form={},
        signature={},
    )
    if bid.state != BidState.ACTIVE or versions[-1].kind == VersionKind.WITHDRAWN:
        row.version = versions[-1].version
        row.outcome = Outcome.WITHDRAWN
        row.reason_code = WITHDRAWN_BEFORE_DEADLINE
        row.reason = reason_text(WITHDRAWN_BEFORE_DEADLINE)
        row.decryption = Decryption.NOT_REQUIRED
    return row


def _fail(
    platform: Platform, *, session: Session, tender: Tender, count: int, minimum: int, now: datetime
) -> None:
    reason = Catalog(DEFAULT_LOCALE).gettext("opening.too_few_bids", count=count, minimum=minimum)
    transition(
        platform,
        session,
        tender,
        "fail",
        Actor.system(),
        reasons=[reason],
        details={"code": TOO_FEW_BIDS, "envelopes": count, "min_bids": minimum},
        log_data={"code": TOO_FEW_BIDS, "reason_sha256": text_sha256(reason), "min_bids": minimum},
    )
    tender.end_code, tender.end_reason = TOO_FEW_BIDS, reason
    supervision.cancel_steps(session, tender.id, now)


def close_tender(platform: Platform, tender_id: uuid.UUID) -> ClosingResult | None:
    """Close ``tender_id`` if its deadline (plus the grace margin) has passed; ``None`` if not due.

    Returns the existing result when the tender was already closed (idempotent).
    """
    grace = timedelta(seconds=platform.settings.opening.closing_grace_seconds)
    with platform.transaction() as session:
        existing = session.get(OpeningSession, tender_id)
        if existing is not None:
            return _result(existing, closed_now=False)
        tender = session.scalars(select(Tender).where(Tender.id == tender_id).with_for_update()).first()
        now = platform.clock.now()
        if tender is None or tender.state != State.PUBLISHED or now < tender.bid_deadline + grace:
            return None
        if session.get(OpeningSession, tender_id, populate_existing=True) is not None:
            return None  # another closer won the lock first; its result stands
        bids = list(
            session.scalars(select(Bid).where(Bid.tender_id == tender_id).order_by(Bid.id).with_for_update())
        )
        versions = {
            bid.id: list(
                session.scalars(
                    select(BidVersion)
                    .where(BidVersion.bid_id == bid.id, BidVersion.received_at < tender.bid_deadline)
                    .order_by(BidVersion.version)
                )
            )
            for bid in bids
        }
        bids = [bid for bid in bids if versions[bid.id]]
        rows = [_outcome_row(session, tender, bid, versions[bid.id]) for bid in bids]
        standing = sorted(row.envelope_sha256 for row in rows if row.outcome is None)
        minimum = rules_for(tender, platform.procedures).min_bids
        opening = OpeningSession(
            tender_id=tender_id,
            state=OpeningState.CLOSED,
            closed_at=now,
            envelope_count=len(standing),
            envelope_list_sha256=envelope_list_sha256(standing),
        )
        session.add(opening)
        tender.closed_at = now
        transition(
            platform,
            session,
            tender,
            "close",
            Actor.system(),
            details={"envelopes": len(standing), "bids": len(bids)},
            log_data={
                "envelopes": len(standing),
                "envelope_list_sha256": opening.envelope_list_sha256,
                "deadline": tender.bid_deadline.strftime("%Y-%m-%dT%H:%M:%SZ"),
            },
        )
        if len(standing) < minimum:
            opening.state = OpeningState.FAILED
            opening.finished_at = now
            _fail(platform, session=session, tender=tender, count=len(standing), minimum=minimum, now=now)
            return _result(opening, closed_now=True)
        session.flush()
        for bid, row in zip(bids, rows, strict=True):
            row.decided_at = now if row.outcome is not None else None
            session.add(row)
            log_event(
                platform,
                session,
                DISCLOSED_EVENT,
                Actor.system(),
                tender_id,
                **_disclosure(bid, versions[bid.id]),
            )
        return _result(opening, closed_now=True)


def due_tenders(platform: Platform) -> list[uuid.UUID]:
    """Published tenders whose deadline (plus the grace margin) has passed and are not closed yet."""
    grace = timedelta(seconds=platform.settings.opening.closing_grace_seconds)
    with platform.session_factory() as session:
        return list(
            session.scalars(
                select(Tender.id)
                .where(Tender.state == State.PUBLISHED, Tender.bid_deadline <= platform.clock.now() - grace)
                .order_by(Tender.bid_deadline)
            )
        )


def close_due(platform: Platform) -> list[ClosingResult]:
    """Close every due tender (the maintenance tick); tenders closed by someone else are skipped."""
    results = []
    for tender_id in due_tenders(platform):
        result = close_tender(platform, tender_id)
        if result is not None and result.closed_now:
            results.append(result)
    return results
