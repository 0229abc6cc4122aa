"""When the evaluation session starts: avoidance against the bidders, then the list is released.

Bidders are known only after the deadline, so :func:`recheck_avoidance` runs when the session starts
(the caller passes the bidders' USCCs, read from the bids). Every assignment still in play (pending or
confirmed) whose expert is now avoided becomes ``avoided``; a member is replaced by the next expert of
the verifiable order (:func:`experts.committee.take_next`). Then :func:`release_to_session` hands the
confirmed members' names to the evaluation session, logging every card it opens; it refuses until the
recheck has run after the bid deadline (when every bidder is known). :func:`start_session` does both at
the evaluation time with the bidders read from the tender's bids (the authority's route
``POST /authority/expert-draws/{id}/session-start``).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from crypto.uscc import InvalidUscc, parse_uscc
from experts.committee import take_next
from experts.eligibility import avoidance_of, load_rules
from experts.pool_models import ExpertAssignment, ExtractionRequest
from experts.sealed_list import log_actor, open_card
from tendering.bids.models import Bid
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLate
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tenders.models import Tender
from tendering.translog.entries import LogEvent

SESSION_ROLES: Final = frozenset({"system", "authority"})
"""Who opens the list for the session: the evaluation session (the platform) or the supervisor."""
IN_PLAY: Final = ("pending", "confirmed")


@dataclass(frozen=True)
class Recheck:
    """Assignments the recheck avoided, and what replaced the avoided members (None: pool short)."""

    avoided: tuple[uuid.UUID, ...]
    replacements: tuple[uuid.UUID | None, ...]


@dataclass(frozen=True)
class SessionMember:
    """A confirmed member as the evaluation session sees it."""

    assignment_id: uuid.UUID
    expert_id: uuid.UUID
    specialty: str
    name: str
    phones: tuple[str, ...]


def _locked_request(session: Session, request_id: uuid.UUID) -> ExtractionRequest:
    request = session.scalars(
        select(ExtractionRequest).where(ExtractionRequest.id == request_id).with_for_update()
    ).first()
    if request is None:
        raise NotFound(f"no extraction request {request_id}", code="expert-request-unknown")
    if request.state not in ("drawn", "revealed"):
        raise Conflict(f"request {request_id} is {request.state}, not drawn", code="expert-draw-pending")
    return request


def recheck_avoidance(
    session: Session,
    platform: Platform,
    request_id: uuid.UUID,
    bidder_usccs: Iterable[str],
    *,
    actor: Actor,
) -> Recheck:
    """Avoid the experts employed by a bidder (and any other rule that now applies); replace members.

    Idempotent for the same bidders: experts already avoided stay so and nothing new happens.
    """
    usccs: set[str] = set()
    for code in bidder_usccs:
        try:
            usccs.add(str(parse_uscc(code.strip().upper())))
        except InvalidUscc as exc:
            raise InvalidInput(f"bidder USCC {code!r}: {exc}", code="expert-bidder-uscc") from None
    request = _locked_request(session, request_id)
    request.avoided_usccs = sorted(set(request.avoided_usccs) | usccs)
    request.rechecked_at = platform.clock.now()
    session.flush()
    rules = load_rules(
        session, request, platform.settings.experts.recent_participation_days, request.tenderee_uscc
    )
    rows = session.scalars(
        select(ExpertAssignment)
        .where(ExpertAssignment.request_id == request.id, ExpertAssignment.status.in_(IN_PLAY))
        .order_by(ExpertAssignment.specialty, ExpertAssignment.rank)
    )
    avoided: list[uuid.UUID] = []
    replacements: list[uuid.UUID | None] = []
    now = platform.clock.now()
    for assignment in list(rows):
        reason = avoidance_of(session, rules, assignment.expert_id)
        if reason is None:
            continue
        assignment.status = "avoided"
        assignment.settled_at = now
        avoided.append(assignment.id)
        platform.translog.submit(
            session,
            LogEvent(
                "experts.assignment_avoided",
                log_actor(actor),
                request.tender_id,
                {
                    "request": str(request.id),
                    "assignment": str(assignment.id),
                    "specialty": assignment.specialty,
                    "rank": assignment.rank,
                    "rule": reason,
                },
            ),
        )
        if assignment.role == "member":
            session.flush()
            taken = take_next(session, platform, request, assignment.specialty, actor=actor)
            assignment.replacement_id = taken.id if taken else None
            assignment.pool_short = taken is None
            replacements.append(taken.id if taken else None)
    digest = hashlib.sha256("\n".join(sorted(usccs)).encode("ascii")).hexdigest()
    platform.translog.submit(
        session,
        LogEvent(
            "experts.avoidance_rechecked",
            log_actor(actor),
            request.tender_id,
            {
                "request": str(request.id),
                "bidders": len(usccs),
                "bidders_sha256": digest,
                "avoided": len(avoided),
            },
        ),
    )
    session.flush()
    return Recheck(tuple(avoided), tuple(replacements))


def _check_started(platform: Platform, request: ExtractionRequest) -> None:
    if platform.clock.now() < request.evaluation_time:
        raise TooLate(
            "the expert list stays sealed until the evaluation session starts (Law Art. 37)",
            code="expert-session-not-started",
        )


def bidder_usccs(session: Session, tender_id: uuid.UUID) -> list[str]:
    """The USCCs of every organisation that bid on the tender (withdrawn bids too: avoid cautiously)."""
    return sorted(set(session.scalars(select(Bid.bidder_uscc).where(Bid.tender_id == tender_id))))


@dataclass(frozen=True)
class SessionStart:
    """What the session start did: the bidders checked, the recheck, and the members released."""

    bidders: int
    recheck: Recheck
    members: tuple[SessionMember, ...]


def start_session(
    session: Session, platform: Platform, request_id: uuid.UUID, *, actor: Actor
) -> SessionStart:
    """At the evaluation time: recheck avoidance against the tender's bidders, then release the list.

    Refused before the evaluation time (TooLate ``expert-session-not-started``; nothing changes) and
    to anyone but the session roles. Repeating it rechecks again (idempotent for the same bidders).
    """
    if actor.role not in SESSION_ROLES:
        raise Forbidden("only the evaluation session opens the expert list", code="expert-list-forbidden")
    request = _locked_request(session, request_id)
    _check_started(platform, request)
    bidders = bidder_usccs(session, request.tender_id)
    recheck = recheck_avoidance(session, platform, request_id, bidders, actor=actor)
    members = release_to_session(session, platform, request_id, reader=actor)
    return SessionStart(len(bidders), recheck, tuple(members))


def release_to_session(
    session: Session, platform: Platform, request_id: uuid.UUID, *, reader: Actor
) -> list[SessionMember]:
    """The confirmed members with their names, for the evaluation session once it has started.

    Refused (TooLate, ``expert-session-not-started``) before the evaluation time, and (Conflict,
    ``expert-recheck-pending``) until :func:`recheck_avoidance` has run after the bid deadline; every
    card opened is logged with the purpose ``session``.
    """
    if reader.role not in SESSION_ROLES:
        raise Forbidden("only the evaluation session opens the expert list", code="expert-list-forbidden")
    request = _locked_request(session, request_id)
    _check_started(platform, request)
    tender = session.get(Tender, request.tender_id)
    assert tender is not None
    if request.rechecked_at is None or request.rechecked_at < tender.bid_deadline:
        raise Conflict(
            "the avoidance rules have not been checked against the bidders yet; run the session-start "
            "recheck first",
            code="expert-recheck-pending",
        )
    rows = session.scalars(
        select(ExpertAssignment)
        .where(
            ExpertAssignment.request_id == request.id,
            ExpertAssignment.status == "confirmed",
            ExpertAssignment.role == "member",
        )
        .order_by(ExpertAssignment.specialty, ExpertAssignment.rank)
    )
    members = []
    for assignment in list(rows):
        card = open_card(session, platform, assignment, reader=reader, purpose="session")
        members.append(
            SessionMember(assignment.id, assignment.expert_id, assignment.specialty, card.name, card.phones)
        )
    if request.released_at is None:
        request.released_at = platform.clock.now()
    return members
