"""What the public and the supervisor see of a draw: the record, the reveal and the status view.

Public at once (``public_record``): the request's lines and eligible counts, the commitment
SHA-256(secret), the log indices of the commitment and the draw, the seed checkpoint (size, root and
signed note), the eligible-set and selection hashes. Public after the reveal: the secret, every line's
eligible expert ids (opaque pool ids, never names), every assignment (specialty, rank, role, status,
expert id) and every rank a replacement passed over (``skips``: specialty, rank, rule, log index).
Anyone can then recompute the draw (``sealbid experts verify-draw``).

The reveal (:func:`reveal_secret`) waits for the tender's result (Law Art. 37: the experts' names stay
confidential until the winning result is determined; after the reveal the record lists the members'
pool ids, which pool administrators could map to names): it is allowed only once the tender is
``awarded`` (:data:`AWARDED_STATE`, reached by the award) or ended (``cancelled``, ``failed``), and
refused before with TooLate ``expert-reveal-before-result``. The maintenance loop reveals every such
draw by itself (:func:`reveal_due`, the periodic task ``experts.reveal_due``); the authority's route is a
manual trigger under the same rule.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections import Counter
from typing import Any, Final

from sqlalchemy import Boolean, ColumnElement, func, select
from sqlalchemy.orm import Session

from experts import draw_records
from experts.committee import SKIPPED_EVENT
from experts.pool_models import ExpertAlert, ExpertAssignment, ExtractionRequest
from experts.sealed_list import log_actor
from experts.specialties import specialties
from tendering.errors import Conflict, Forbidden, NotFound, SealbidError, TooLate
from tendering.i18n import Catalog
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tenders.models import Tender
from tendering.translog.entries import LogEvent
from tendering.translog.models import LogAudit, LogCheckpoint, LogEntry

_log = logging.getLogger(__name__)

REVEALED_EVENT: Final = "experts.secret_revealed"
REVEAL_ROLES: Final = frozenset({"authority", "system"})
AWARDED_STATE: Final = "awarded"
"""The tender state the award reaches (the award capability sets it; nothing else here depends on it)."""
RESULT_STATES: Final = frozenset({AWARDED_STATE, "cancelled", "failed"})
"""Tender states in which the result is determined or the tender ended: the draw secret may be revealed."""
REVEALABLE_REQUESTS: Final = ("drawn", "short")


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
    if request.state not in REVEALABLE_REQUESTS:
        raise Conflict(f"request {request_id} has not been drawn", code="expert-draw-pending")
    tender = session.get(Tender, request.tender_id)
    assert tender is not None
    if tender.state not in RESULT_STATES:
        raise TooLate(
            f"the draw secret is revealed once the tender's result is determined or the tender ended "
            f"(it is {tender.state}); the experts' names stay confidential until then (Law Art. 37)",
            code="expert-reveal-before-result",
            tender_state=tender.state,
        )
    now = platform.clock.now()
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


def due_reveals(session: Session) -> list[uuid.UUID]:
    """Drawn requests not yet revealed whose tender has its result or has ended (oldest first)."""
    return list(
        session.scalars(
            select(ExtractionRequest.id)
            .join(Tender, Tender.id == ExtractionRequest.tender_id)
            .where(
                ExtractionRequest.state.in_(REVEALABLE_REQUESTS),
                ExtractionRequest.revealed_secret.is_(None),
                Tender.state.in_(RESULT_STATES),
            )
            .order_by(ExtractionRequest.created_at)
        )
    )


def reveal_due(platform: Platform) -> list[uuid.UUID]:
    """Reveal the secret of every due draw (:func:`due_reveals`), each in its own transaction.

    The maintenance loop runs it every round (task ``experts.reveal_due``); cheap when nothing is due
    (one indexed query), idempotent, and a failure of one request does not stop the others (it is
    retried next round). Returns the requests revealed now.
    """
    with platform.session_factory() as session:
        due = due_reveals(session)
    revealed: list[uuid.UUID] = []
    for request_id in due:
        try:
            with platform.transaction() as session:
                reveal_secret(session, platform, request_id, actor=Actor.system())
        except SealbidError:
            _log.exception("revealing the secret of draw %s failed; the next round retries", request_id)
            continue
        revealed.append(request_id)
    return revealed


def _index_of(session: Session, pending_id: int | None) -> int | None:
    if pending_id is None:
        return None
    index: int | None = session.scalar(select(LogAudit.leaf_index).where(LogAudit.pending_id == pending_id))
    return index


def _holds(session: Session, needle: bytes) -> ColumnElement[bool]:
    """``LogEntry.entry`` contains ``needle`` (bytea LIKE on PostgreSQL, instr on SQLite's blobs)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.instr(LogEntry.entry, needle) > 0
    return LogEntry.entry.op("LIKE", return_type=Boolean)(b"%" + needle + b"%")


def skip_entries(session: Session, request: ExtractionRequest) -> list[dict[str, Any]]:
    """The integrated ``experts.candidate_skipped`` entries of ``request``: specialty, rank, rule, index.

    Found in the log itself (after the commitment), so the record can only name entries that are
    there; verify-draw checks each one's inclusion.
    """
    start = request.commitment_index if request.commitment_index is not None else 0
    rows = session.execute(
        select(LogEntry.leaf_index, LogEntry.entry)
        .where(
            LogEntry.leaf_index > start,
            _holds(session, b'"type":"' + SKIPPED_EVENT.encode() + b'"'),
            _holds(session, b'"request":"' + str(request.id).encode() + b'"'),
        )
        .order_by(LogEntry.leaf_index)
    ).all()
    skips: list[dict[str, Any]] = []
    for index, raw in rows:
        content = json.loads(bytes(raw))
        data = content.get("data", {})
        if content.get("type") != SKIPPED_EVENT or data.get("request") != str(request.id):
            continue
        skips.append(
            {"specialty": data["specialty"], "rank": data["rank"], "rule": data["rule"], "log": index}
        )
    return skips


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
        record["skips"] = skip_entries(session, request)
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
