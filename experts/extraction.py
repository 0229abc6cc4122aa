"""Extraction requests and the verifiable draw (protocols.md "Expert draw").

Who asks: the agency that runs the tender (Regs Art. 46 lets the tenderee or its agency organise the
committee; on this platform the agency acts). The authority watches through the status view.

Flow (:func:`request_draw`):

1. check the request (lines, committee size rules, time and place), screen the pool with the avoidance
   rules, refuse a short pool naming the specialty and the numbers;
2. one transaction: a random 32-byte secret (sealed with the list key), the request, the eligible sets,
   and the log entry ``experts.draw_committed`` holding SHA-256(secret) and the eligible-set hash;
3. the sequencer integrates that entry; the first checkpoint whose size exceeds the entry's index is
   the seed checkpoint (the embedded default and the API run the sequencer in the same flow);
4. one transaction (:func:`draw`): seed = HMAC(secret, root || request id), the order, the members
   and reserves, each with a sealed contact card, the log entry ``experts.drawn`` (the checkpoint, the
   hash of the selection), and ``experts.confirm`` for every member after commit.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts import draw_math, draw_records
from experts.draw_math import Line
from experts.drawing import DRAWN_EVENT, draw, seed_checkpoint
from experts.eligibility import Rules, load_rules, screen
from experts.pool_models import Expert, ExtractionEligibleSet, ExtractionRequest
from experts.sealed_list import log_actor
from experts.sealing import load_list_key
from experts.specialties import check_code
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound
from tendering.identity.audit import Actor
from tendering.identity.models import Organisation
from tendering.platform import Platform
from tendering.tenders.models import Tender
from tendering.translog.entries import LogEvent

COMMITTED_EVENT: Final = "experts.draw_committed"
#: Tender states in which no committee can be drawn (not yet published, or ended).
NOT_DRAWABLE: Final = frozenset({"draft", "pending_review", "approved", "cancelled", "failed"})


class PoolShort(Conflict):
    """Too few eligible experts for a specialty."""

    default_code = "expert-pool-short"
    title = "Expert pool too small"


@dataclass(frozen=True)
class LineRequest:
    """One line of a request as the caller gives it."""

    specialty: str
    count: int
    reserves: int | None = None


@dataclass(frozen=True)
class DrawRequest:
    """What the agency asks for (no expert is ever named, except to avoid one)."""

    tender_id: uuid.UUID
    evaluation_time: datetime
    evaluation_place: str
    lines: Sequence[LineRequest]
    exclude_same_region: bool = False
    manual_avoid: Mapping[uuid.UUID, str] | None = None
    locale: str | None = None


def _uscc_of(session: Session, identity_id: uuid.UUID) -> str:
    uscc = session.scalar(select(Organisation.uscc).where(Organisation.identity_id == identity_id))
    if uscc is None:
        raise Conflict(f"organisation {identity_id} has no USCC on record", code="expert-party-unknown")
    return uscc


def _check_lines(platform: Platform, tender: Tender, lines: Sequence[LineRequest]) -> list[Line]:
    if not lines:
        raise InvalidInput("a request needs at least one specialty line", code="expert-lines-empty")
    checked: list[Line] = []
    for item in lines:
        code = check_code(item.specialty)
        reserves = platform.settings.experts.default_reserves if item.reserves is None else item.reserves
        if not 1 <= item.count <= 50 or not 0 <= reserves <= 50:
            raise InvalidInput(
                f"line {code}: count must be 1..50 and reserves 0..50", code="expert-line-invalid"
            )
        if any(line.specialty == code for line in checked):
            raise InvalidInput(f"specialty {code} appears twice", code="expert-line-duplicate")
        checked.append(Line(code, item.count, reserves))
    experts = tender.committee_size - tender.tenderee_representatives
    total = sum(line.count for line in checked)
    if total != experts:
        raise InvalidInput(
            f"the lines ask for {total} experts; the committee of {tender.committee_size} with "
            f"{tender.tenderee_representatives} tenderee representative(s) needs exactly {experts} "
            "drawn experts (Law Art. 37: at least 5, odd, experts at least 2/3)",
            code="expert-committee-size",
            needed=experts,
            requested=total,
        )
    return checked


def _check_manual(session: Session, platform: Platform, manual: Mapping[uuid.UUID, str]) -> dict[str, str]:
    limit = platform.settings.experts.max_manual_avoid
    if len(manual) > limit:
        raise InvalidInput(f"at most {limit} experts may be avoided by hand", code="expert-avoid-too-many")
    checked: dict[str, str] = {}
    for expert_id, reason in manual.items():
        if not reason.strip() or len(reason) > 200:
            raise InvalidInput(
                "every manual avoidance needs a reason (1..200 characters)", code="expert-avoid-reason"
            )
        if session.get(Expert, expert_id) is None:
            raise InvalidInput(f"no expert {expert_id} in the pool", code="expert-unknown")
        checked[str(expert_id)] = reason.strip()
    return checked


def _tender_for(session: Session, tender_id: uuid.UUID, actor: Actor) -> Tender:
    tender = session.get(Tender, tender_id)
    if tender is None:
        raise NotFound(f"no tender {tender_id}")
    if actor.role != "agency" or actor.identity_id != tender.agency_id:
        raise Forbidden("only the tender's agency requests its expert draw", code="expert-request-forbidden")
    if tender.state in NOT_DRAWABLE:
        raise Conflict(
            f"no committee can be drawn for a tender that is {tender.state}", code="expert-tender-state"
        )
    return tender


def check_short(lines: Sequence[Line], eligible: Sequence[Sequence[uuid.UUID]]) -> None:
    """Refuse a request whose pool is too small, naming the specialty and the numbers."""
    for line, ids in zip(lines, eligible, strict=True):
        if len(ids) < line.count:
            raise PoolShort(
                f"specialty {line.specialty}: {line.count} experts needed, only {len(ids)} eligible",
                specialty=line.specialty,
                needed=line.count,
                eligible=len(ids),
            )
    union: set[uuid.UUID] = set()
    for ids in eligible:
        union.update(ids)
    needed = sum(line.count for line in lines)
    if len(union) < needed:
        codes = ", ".join(line.specialty for line in lines)
        raise PoolShort(
            f"specialties {codes} together: {needed} experts needed, only {len(union)} eligible",
            specialty=codes,
            needed=needed,
            eligible=len(union),
        )


def commit_request(platform: Platform, ask: DrawRequest, *, actor: Actor) -> tuple[uuid.UUID, int]:
    """Steps 1-2: check, screen, and commit the secret and eligible sets; returns (request id, pending id)."""
    now = platform.clock.now()
    if ask.evaluation_time.tzinfo is None or ask.evaluation_time <= now:
        raise InvalidInput(
            "the evaluation time must be a future, timezone-aware time", code="expert-time-invalid"
        )
    place = ask.evaluation_place.strip()
    if not place or len(place) > 300:
        raise InvalidInput("the evaluation place must be 1..300 characters", code="expert-place-invalid")
    with platform.transaction() as session:
        tender = _tender_for(session, ask.tender_id, actor)
        active = session.scalar(
            select(ExtractionRequest.id).where(
                ExtractionRequest.tender_id == tender.id, ExtractionRequest.state != "short"
            )
        )
        if active is not None:
            raise Conflict(
                f"tender {tender.id} already has the expert draw {active}", code="expert-request-exists"
            )
        lines = _check_lines(platform, tender, ask.lines)
        tenderee, agency = _uscc_of(session, tender.tenderee_id), _uscc_of(session, tender.agency_id)
        request = ExtractionRequest(
            id=uuid.uuid4(),
            tender_id=tender.id,
            requested_by=actor.identity_id,
            requested_role=actor.role,
            evaluation_time=ask.evaluation_time,
            evaluation_place=place,
            time_zone=tender.time_zone,
            locale=ask.locale or platform.settings.default_locale,
            lines=[{"specialty": x.specialty, "count": x.count, "reserves": x.reserves} for x in lines],
            exclude_same_region=ask.exclude_same_region,
            region=tender.region,
            tenderee_uscc=tenderee,
            avoided_usccs=sorted({tenderee, agency}),
            manual_avoid=_check_manual(session, platform, ask.manual_avoid or {}),
            state="committed",
            secret_commitment="",
            sealed_secret=b"",
            eligible_hash="",
            created_at=now,
        )
        rules = load_rules(session, request, platform.settings.experts.recent_participation_days, tenderee)
        screening = screen(session, rules, lines)
        check_short(lines, screening.eligible)
        secret = secrets.token_bytes(draw_math.SECRET_BYTES)
        sealed = load_list_key(platform.settings).seal(secret, draw_records.secret_aad(request.id))
        request.secret_commitment = draw_math.commitment(secret)
        request.sealed_secret = sealed.to_bytes()
        request.eligible_hash = draw_math.eligible_hash(lines, screening.eligible)
        session.add(request)
        session.flush()
        for index, ids in enumerate(screening.eligible):
            session.add(
                ExtractionEligibleSet(
                    request_id=request.id, line_index=index, expert_ids=draw_math.pack_ids(ids)
                )
            )
        submitted = platform.translog.submit(session, _committed_event(request, lines, screening, actor))
        request.commitment_pending_id = submitted.pending_id
        return request.id, submitted.pending_id


def _committed_event(
    request: ExtractionRequest, lines: Sequence[Line], screening: Any, actor: Actor
) -> LogEvent:
    return LogEvent(
        COMMITTED_EVENT,
        log_actor(actor),
        request.tender_id,
        {
            "request": str(request.id),
            "secret_sha256": request.secret_commitment,
            "eligible_sha256": request.eligible_hash,
            "lines": [
                {
                    "specialty": line.specialty,
                    "count": line.count,
                    "reserves": line.reserves,
                    "eligible": len(ids),
                }
                for line, ids in zip(lines, screening.eligible, strict=True)
            ],
            "avoided": dict(sorted(screening.avoided.items())),
            "manual_avoided": len(request.manual_avoid),
            "same_region_excluded": request.exclude_same_region,
        },
    )


def interrupted_request(platform: Platform, tender_id: uuid.UUID, *, actor: Actor) -> uuid.UUID | None:
    """The tender's request whose secret is committed but whose draw never ran (a crash in between)."""
    with platform.session_factory() as session:
        _tender_for(session, tender_id, actor)
        found: uuid.UUID | None = session.scalar(
            select(ExtractionRequest.id).where(
                ExtractionRequest.tender_id == tender_id, ExtractionRequest.state == "committed"
            )
        )
        return found


def request_draw(platform: Platform, ask: DrawRequest, *, actor: Actor) -> uuid.UUID:
    """Commit and draw in one flow (the API and the demo); returns the request id.

    If the tender already has a committed request whose draw was interrupted, that draw is completed
    (with its committed lines and eligible set: the commitment cannot change) and its id returned.
    """
    pending = interrupted_request(platform, ask.tender_id, actor=actor)
    request_id = pending or commit_request(platform, ask, actor=actor)[0]
    short = draw(platform, request_id, actor=actor)
    if short is not None:
        raise PoolShort(
            f"specialty {short.specialty}: {short.needed} experts needed, only {short.available} left "
            "after the earlier lines took theirs (the draw is recorded as short; ask again with other lines)",
            specialty=short.specialty,
            needed=short.needed,
            eligible=short.available,
            request=str(request_id),
        )
    return request_id


__all__ = [
    "DRAWN_EVENT",
    "DrawRequest",
    "LineRequest",
    "PoolShort",
    "Rules",
    "commit_request",
    "draw",
    "request_draw",
    "seed_checkpoint",
]
