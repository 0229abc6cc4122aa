"""What the public and the supervisor see of a draw: the record, the reveal and the status view.

Public at once (``public_record``): the request's lines and eligible counts, the commitment
SHA-256(secret), the log indices of the commitment and the draw, the seed checkpoint (size, root and
signed note), the eligible-set and selection hashes. Public after the reveal: the secret, every line's
eligible expert ids (opaque pool ids, never names) and every assignment (specialty, rank, role, status,
expert id). Anyone can then recompute the draw (``sealbid experts verify-draw``).

The reveal (:func:`reveal_secret`) is refused while bids may still be sealed: before the bid deadline
(the opening) and before the evaluation session has started; a cancelled or failed tender reveals any
time. The award flow calls it; until that exists the authority does, through the API.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts import draw_records
from experts.pool_models import ExpertAlert, ExpertAssignment, ExtractionRequest
from experts.sealed_list import log_actor
from experts.specialties import specialties
from tendering.errors import Conflict, Forbidden, NotFound, TooLate
from tendering.i18n import Catalog
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tenders.models import Tender
from tendering.translog.entries import LogEvent
from tendering.translog.models import LogAudit, LogCheckpoint

REVEALED_EVENT: Final = "experts.secret_revealed"
REVEAL_ROLES: Final = frozenset({"authority", "system"})
ENDED_STATES: Final = frozenset({"cancelled", "failed"})
NOT_OPENED_STATES: Final = frozenset({"draft", "pending_review", "approved"})


def get_request(session: Session, request_id: uuid.UUID) -> ExtractionRequest:
    """The request, or NotFound."""
    request = session.get(ExtractionRequest, request_id)
    if request is None:
        raise NotFound(f"no extraction request {request_id}", code="expert-request-unknown")
    return request


def reveal_secret(session: Session, platform: Platform, request_id: uuid.UUID, *, actor: Actor) -> str:
    """Publish the draw secret in the log (idempotent) and return it as hex."""
    if actor.role not in REVEAL_ROLES:
        raise Forbidden(
            "only the authority or the award reveals a draw secret", code="expert-reveal-forbidden"
        )
    request = session.scalars(
        select(ExtractionRequest).where(ExtractionRequest.id == request_id).with_for_update()
    ).first()
    if request is None:
        raise NotFound(f"no extraction request {request_id}", code="expert-request-unknown")
    if request.revealed_secret is not None:
        return request.revealed_secret
    if request.state not in ("drawn", "short"):
        raise Conflict(f"request {request_id} has not been drawn", code="expert-draw-pending")
    tender = session.get(Tender, request.tender_id)
    assert tender is not None
    now = platform.clock.now()
    if tender.state not in ENDED_STATES and (
        tender.state in NOT_OPENED_STATES or now < tender.bid_deadline or now < request.evaluation_time
    ):
        raise TooLate(
            "the draw secret is revealed after the bids are opened and the evaluation has started",
            code="expert-reveal-too-early",
        )
    secret = draw_records.open_secret(platform.settings, request).hex()
    request.revealed_secret = secret
    request.revealed_at = now
    request.state = "revealed"
    submitted = platform.translog.submit(
        session,
        LogEvent(
            REVEALED_EVENT,
            log_actor(actor),
            request.tender_id,
            {"request": str(request.id), "secret": secret, "secret_sha256": request.secret_commitment},
        ),
    )
    request.reveal_pending_id = submitted.pending_id
    return secret


def _index_of(session: Session, pending_id: int | None) -> int | None:
    if pending_id is None:
        return None
    index: int | None = session.scalar(select(LogAudit.leaf_index).where(LogAudit.pending_id == pending_id))
    return index


def public_record(session: Session, request_id: uuid.UUID) -> dict[str, Any]:
    """The public draw record (see the module docstring for what is public when)."""
    request = get_request(session, request_id)
    note = None
    if request.checkpoint_size is not None:
        note = session.scalar(select(LogCheckpoint.note).where(LogCheckpoint.size == request.checkpoint_size))
    eligible = draw_records.eligible_sets(session, request)
    record: dict[str, Any] = {
        "request": str(request.id),
        "tender": str(request.tender_id),
        "state": request.state,
        "lines": [{**line, "eligible": len(ids)} for line, ids in zip(request.lines, eligible, strict=True)],
        "secret_sha256": request.secret_commitment,
        "eligible_sha256": request.eligible_hash,
        "drawn_sha256": request.drawn_hash,
        "log": {
            "committed": request.commitment_index
            if request.commitment_index is not None
            else _index_of(session, request.commitment_pending_id),
            "drawn": _index_of(session, request.drawn_pending_id),
            "revealed": _index_of(session, request.reveal_pending_id),
        },
        "checkpoint": None
        if request.checkpoint_size is None or request.checkpoint_root is None
        else {"size": request.checkpoint_size, "root": bytes(request.checkpoint_root).hex(), "note": note},
        "secret": request.revealed_secret,
    }
    if request.revealed_secret is not None:
        record["eligible"] = [[str(e) for e in ids] for ids in eligible]
        rows = session.scalars(
            select(ExpertAssignment)
            .where(ExpertAssignment.request_id == request.id)
            .order_by(ExpertAssignment.specialty, ExpertAssignment.rank)
        )
        record["assignments"] = [
            {
                "specialty": a.specialty,
                "rank": a.rank,
                "role": a.role,
                "status": a.status,
                "expert": str(a.expert_id),
            }
            for a in rows
        ]
    return record


def status_view(session: Session, request_id: uuid.UUID, locale: str | None = None) -> dict[str, Any]:
    """Counts per line for the supervisor: confirmed, pending, declined, no answer, avoided, short.

    ``short`` is how many members a line still lacks (neither confirmed nor pending); open
    ``pool_short`` alerts are listed. No names, no expert ids.
    """
    request = get_request(session, request_id)
    texts = Catalog(locale or request.locale)
    known = specialties()
    assignments = list(
        session.scalars(select(ExpertAssignment).where(ExpertAssignment.request_id == request.id))
    )
    alerts = list(
        session.scalars(
            select(ExpertAlert).where(ExpertAlert.request_id == request.id).order_by(ExpertAlert.raised_at)
        )
    )
    lines: list[dict[str, Any]] = []
    for line in request.lines:
        code = str(line["specialty"])
        members = Counter(a.status for a in assignments if a.specialty == code and a.role == "member")
        reserves = sum(
            1 for a in assignments if a.specialty == code and a.role == "reserve" and a.status == "pending"
        )
        in_play = members["confirmed"] + members["pending"]
        lines.append(
            {
                "specialty": code,
                "needed": int(line["count"]),
                "confirmed": members["confirmed"],
                "pending": members["pending"],
                "declined": members["declined"],
                "no_answer": members["no_answer"],
                "avoided": sum(1 for a in assignments if a.specialty == code and a.status == "avoided"),
                "reserves_waiting": reserves,
                "short": max(0, int(line["count"]) - in_play),
            }
        )
    totals = {
        key: sum(int(item[key]) for item in lines)
        for key in ("needed", "confirmed", "pending", "declined", "short")
    }
    return {
        "request": str(request.id),
        "tender": str(request.tender_id),
        "state": request.state,
        "state_label": texts.gettext(f"experts.draw_state_{request.state}"),
        "evaluation_time": request.evaluation_time.isoformat(),
        "lines": lines,
        "totals": totals,
        "alerts": [
            {
                "kind": a.kind,
                "specialty": a.specialty,
                "message": texts.gettext(
                    f"experts.alert_{a.kind}",
                    specialty=a.specialty,
                    name=known[a.specialty].name(texts.locale) if a.specialty in known else a.specialty,
                ),
                "raised_at": a.raised_at.isoformat(),
                "resolved": a.resolved_at is not None,
            }
            for a in alerts
        ],
        "names_released": request.released_at is not None,
    }


def requests_of_tender(session: Session, tender_id: uuid.UUID) -> list[uuid.UUID]:
    """The tender's extraction requests, oldest first."""
    return list(
        session.scalars(
            select(ExtractionRequest.id)
            .where(ExtractionRequest.tender_id == tender_id)
            .order_by(ExtractionRequest.created_at)
        )
    )
