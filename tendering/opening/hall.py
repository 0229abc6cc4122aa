"""The online opening hall: who may enter, the opening's progress, and objections with answers.

Only the tender's bidders (an envelope of theirs stood at the deadline) and its agency (or tenderee)
enter the hall: who bid stays confidential until the record is published (Bidding Law Art. 22), and
then the record itself is public. Everything shown comes from the database, so every server process
shows the same hall.

Objections (Regs Art. 44): a bidder may raise one from the closing until the record is published; the
agency answers on the spot. Both are stored, logged (hash of the text, never the text) and included in
the record; the record waits for the last answer, and answering it publishes the record when the
opening is finished.
"""

from __future__ import annotations

import hashlib
import logging
import unicodedata
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal

import rfc8785
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound, SealbidError, TooLate
from tendering.identity.audit import Actor
from tendering.opening.models import Decryption, OpeningOutcome, OpeningSession, OpeningState
from tendering.opening.record import open_objections, publish_opening_record, published_record
from tendering.opening.record_document import objection_entry, outcomes_of, released_custodians
from tendering.opening.record_models import OpeningObjection
from tendering.tenders.events import log_actor
from tendering.tenders.models import Tender
from tendering.tenders.spec import utc_text
from tendering.translog import LogEvent

if TYPE_CHECKING:
    from tendering.platform import Platform

log = logging.getLogger(__name__)

MAX_OBJECTION_CHARS: Final = 2000
#: Objections one bidder may have waiting for an answer at a time (a hall is not a chat room).
MAX_OPEN_OBJECTIONS_PER_BIDDER: Final = 3
OBJECTION_RAISED_EVENT: Final = "opening.objection.raised"
OBJECTION_ANSWERED_EVENT: Final = "opening.objection.answered"

Standing = Literal["agency", "bidder"]


@dataclass(frozen=True)
class HallViewer:
    """Who is in the hall: an agency of the tender or one of its bidders."""

    identity_id: uuid.UUID
    standing: Standing


def _opening(session: Session, tender_id: uuid.UUID) -> tuple[Tender, OpeningSession]:
    tender = session.get(Tender, tender_id)
    opening = session.get(OpeningSession, tender_id)
    if tender is None or opening is None:
        raise NotFound("the opening of this tender has not begun", code="opening-not-found")
    return tender, opening


def _is_bidder(session: Session, tender_id: uuid.UUID, identity_id: uuid.UUID) -> bool:
    found = session.scalar(
        select(func.count())
        .select_from(OpeningOutcome)
        .where(OpeningOutcome.tender_id == tender_id, OpeningOutcome.bidder_id == identity_id)
    )
    return bool(found)


def hall_viewer(
    session: Session, tender_id: uuid.UUID, identity_id: uuid.UUID, roles: tuple[str, ...]
) -> HallViewer:
    """The caller's standing in the hall, or Forbidden (``opening-hall-forbidden``) for anyone else."""
    tender, _ = _opening(session, tender_id)
    if "agency" in roles and identity_id in (tender.agency_id, tender.tenderee_id):
        return HallViewer(identity_id, "agency")
    if "tenderer" in roles and _is_bidder(session, tender_id, identity_id):
        return HallViewer(identity_id, "bidder")
    raise Forbidden(
        "only the tender's bidders and its agency may enter the opening hall; the record is public once "
        "it is published",
        code="opening-hall-forbidden",
    )


def _envelopes(outcomes: list[OpeningOutcome], total: int) -> dict[str, int]:
    counts = {"total": total, "decided": 0, "opened": 0, "revoked": 0, "withdrawn": 0}
    for outcome in outcomes:
        if outcome.outcome is not None:
            counts["decided"] += 1
            counts[outcome.outcome] = counts.get(outcome.outcome, 0) + 1
    return counts


def _decryption(tender: Tender, opening: OpeningSession, outcomes: list[OpeningOutcome]) -> dict[str, Any]:
    states = [outcome.decryption for outcome in outcomes]
    return {
        "required": tender.bidder_decryption,
        "deadline": utc_text(opening.decryption_deadline) if opening.decryption_deadline else None,
        "decrypted": states.count(Decryption.DECRYPTED),
        "failed": states.count(Decryption.BIDDER_FAILED) + states.count(Decryption.OTHER_FAILED),
        "waiting": sum(1 for outcome in outcomes if outcome.decryption == Decryption.PENDING),
    }


def hall_state(session: Session, tender_id: uuid.UUID, viewer: HallViewer) -> dict[str, Any]:
    """What the hall shows ``viewer`` now: state, custodians i of k, envelopes n of m, decryption,
    objections, the viewer's own envelopes (bidders) and the record once published."""
    tender, opening = _opening(session, tender_id)
    outcomes = list(outcomes_of(session, tender_id))
    record = published_record(session, tender_id)
    state: dict[str, Any] = {
        "tender": str(tender_id),
        "title": tender.title,
        "standing": viewer.standing,
        "state": opening.state,
        "closed_at": utc_text(opening.closed_at),
        "bid_deadline": utc_text(tender.bid_deadline),
        "custodians": {
            "threshold": tender.opening_threshold,
            "appointed": len(tender.custodians),
            "released": len(released_custodians(session, tender_id)),
        },
        "envelopes": _envelopes(outcomes, opening.envelope_count),
        "decryption": _decryption(tender, opening, outcomes),
        "objections": [
            objection_entry(o)
            for o in session.scalars(
                select(OpeningObjection)
                .where(OpeningObjection.tender_id == tender_id)
                .order_by(OpeningObjection.raised_at, OpeningObjection.id)
            )
        ],
        "objections_open": record is None and opening.state != OpeningState.FAILED,
        "record": None,
    }
    if viewer.standing == "bidder":
        state["own"] = [
            {"bid": str(o.bid_id), "decryption": o.decryption, "outcome": o.outcome, "reason": o.reason}
            for o in outcomes
            if o.bidder_id == viewer.identity_id
        ]
    if record is not None:
        state["record"] = {
            "published_at": utc_text(record.published_at),
            "sha256": record.sha256,
            "json": f"/public/tenders/{tender_id}/opening-record",
            "signature": f"/public/tenders/{tender_id}/opening-record.p7s",
        }
    return state


def state_digest(state: dict[str, Any]) -> str:
    """A short digest of a hall state, the event id of the stream (changes whenever anything shown does)."""
    return hashlib.sha256(bytes(rfc8785.dumps(state))).hexdigest()[:16]


def _clean_text(text: object, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"the {what} must be a non-empty text", code="objection-invalid", field="text")
    text = text.strip()
    if len(text) > MAX_OBJECTION_CHARS:
        raise InvalidInput(
            f"the {what} is longer than {MAX_OBJECTION_CHARS} characters",
            code="objection-invalid",
            field="text",
        )
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") and c not in "\n\t" for c in text):
        raise InvalidInput(f"the {what} contains control characters", code="objection-invalid", field="text")
    return text


def _still_open(session: Session, tender_id: uuid.UUID, opening: OpeningSession) -> None:
    if published_record(session, tender_id) is not None:
        raise TooLate(
            "the opening record is published; later objections belong to the publicity period",
            code="opening-record-published",
        )
    if opening.state == OpeningState.FAILED:
        raise Conflict("this opening did not take place (too few bids)", code="opening-failed")


def raise_objection(platform: Platform, tender_id: uuid.UUID, text: str, *, actor: Actor) -> dict[str, Any]:
    """Record a bidder's objection (Regs Art. 44) and log its hash; returns it as the hall shows it."""
    body = _clean_text(text, "objection")
    assert actor.identity_id is not None
    with platform.transaction() as session:
        _, opening = _opening(session, tender_id)
        outcome = session.scalars(
            select(OpeningOutcome).where(
                OpeningOutcome.tender_id == tender_id, OpeningOutcome.bidder_id == actor.identity_id
            )
        ).first()
        if outcome is None:
            raise Forbidden("only a bidder of this tender may object at its opening", code="not-a-bidder")
        _still_open(session, tender_id, opening)
        waiting = session.scalar(
            select(func.count())
            .select_from(OpeningObjection)
            .where(
                OpeningObjection.tender_id == tender_id,
                OpeningObjection.bidder_id == actor.identity_id,
                OpeningObjection.answered_at.is_(None),
            )
        )
        if int(waiting or 0) >= MAX_OPEN_OBJECTIONS_PER_BIDDER:
            raise Conflict(
                f"you already have {MAX_OPEN_OBJECTIONS_PER_BIDDER} objections waiting for an answer",
                code="objections-waiting",
            )
        objection = OpeningObjection(
            tender_id=tender_id,
            bidder_id=actor.identity_id,
            bidder_name=outcome.bidder_name,
            bidder_uscc=outcome.bidder_uscc,
            text=body,
            raised_at=platform.clock.now(),
        )
        session.add(objection)
        session.flush()
        platform.translog.submit(
            session,
            LogEvent(
                OBJECTION_RAISED_EVENT,
                log_actor(actor),
                tender_id,
                {"objection": str(objection.id), "text_sha256": hashlib.sha256(body.encode()).hexdigest()},
            ),
        )
        return objection_entry(objection)


def answer_objection(
    platform: Platform, tender_id: uuid.UUID, objection_id: uuid.UUID, text: str, *, actor: Actor
) -> dict[str, Any]:
    """Record the agency's answer to an objection and log its hash; publishes the record if this was the
    last open objection of a finished opening. Returns the objection with its answer."""
    body = _clean_text(text, "answer")
    assert actor.identity_id is not None
    with platform.transaction() as session:
        tender, opening = _opening(session, tender_id)
        if actor.identity_id not in (tender.agency_id, tender.tenderee_id):
            raise Forbidden(
                "only the tender's agency answers objections at its opening", code="not-the-agency"
            )
        objection = session.get(OpeningObjection, objection_id, with_for_update=True)
        if objection is None or objection.tender_id != tender_id:
            raise NotFound("no such objection at this opening", code="objection-not-found")
        if objection.answered_at is not None:
            raise Conflict("this objection has already been answered", code="objection-answered")
        _still_open(session, tender_id, opening)
        objection.answer = body
        objection.answered_by = actor.identity_id
        objection.answered_at = platform.clock.now()
        platform.translog.submit(
            session,
            LogEvent(
                OBJECTION_ANSWERED_EVENT,
                log_actor(actor),
                tender_id,
                {"objection": str(objection.id), "answer_sha256": hashlib.sha256(body.encode()).hexdigest()},
            ),
        )
        answered = objection_entry(objection)
        last = open_objections(session, tender_id) == 0
        finished = opening.state == OpeningState.OPENED and opening.finished_at is not None
    if last and finished:
        try:
            with platform.transaction() as session:
                publish_opening_record(session, platform, tender_id)
        except IntegrityError:  # published at the same moment by the opening itself
            log.info("opening record of %s was published concurrently", tender_id)
        except SealbidError as exc:  # the answer stands; publishing again later is idempotent
            log.warning("opening record of %s not published after the last answer: %s", tender_id, exc)
    return answered
