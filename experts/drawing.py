"""The draw step of an extraction request: the seed checkpoint, the order, the committee.

See :mod:`experts.extraction` for the whole flow; this module is steps 3-4 (it needs the request and
its eligible sets committed first).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts import draw_math, draw_records
from experts.committee import CONFIRM_TASK
from experts.draw_math import DrawShort, Line
from experts.pool_models import Expert, ExpertAssignment, ExtractionRequest
from experts.sealed_list import log_actor, seal_card
from tendering.errors import Conflict, NotFound
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tasks import enqueue
from tendering.translog.entries import LogEvent
from tendering.translog.models import LogCheckpoint

DRAWN_EVENT: Final = "experts.drawn"


def seed_checkpoint(platform: Platform, pending_id: int) -> tuple[int, LogCheckpoint]:
    """The commitment's log index and the first checkpoint after it (sequencing if needed)."""
    index = platform.translog.wait_integrated(pending_id)
    with platform.session_factory() as session:
        checkpoint = session.scalars(
            select(LogCheckpoint).where(LogCheckpoint.size > index).order_by(LogCheckpoint.size).limit(1)
        ).first()
        if checkpoint is None:  # integrated by a batch whose checkpoint is not yet visible: sequence again
            platform.translog.sequence()
            checkpoint = session.scalars(
                select(LogCheckpoint).where(LogCheckpoint.size > index).order_by(LogCheckpoint.size).limit(1)
            ).first()
        if checkpoint is None:
            raise Conflict(
                "the log has no checkpoint after the draw commitment yet", code="expert-draw-pending"
            )
        session.expunge(checkpoint)
    return index, checkpoint


def draw(platform: Platform, request_id: uuid.UUID, *, actor: Actor) -> DrawShort | None:
    """Steps 3-4: wait for the seed checkpoint, compute the order, create the committee (idempotent).

    Returns the shortage when the order leaves a line without enough members (possible only when
    lines overlap: the request is then ``short`` and logged as such), else None.
    """
    with platform.session_factory() as session:
        request = session.get(ExtractionRequest, request_id)
        if request is None:
            raise NotFound(f"no extraction request {request_id}", code="expert-request-unknown")
        if request.state != "committed":
            return None
        pending_id = request.commitment_pending_id
    assert pending_id is not None
    index, checkpoint = seed_checkpoint(platform, pending_id)
    with platform.transaction() as session:
        request = session.scalars(
            select(ExtractionRequest).where(ExtractionRequest.id == request_id).with_for_update()
        ).one()
        if request.state != "committed":
            return None
        request.commitment_index = index
        request.checkpoint_size = checkpoint.size
        request.checkpoint_root = bytes(checkpoint.root)
        lines = draw_records.lines_of(request)
        seed = draw_records.draw_seed(platform.settings, request)
        try:
            picks, _ = draw_math.select(seed, lines, draw_records.eligible_sets(session, request))
        except DrawShort as short:
            request.state = "short"
            platform.translog.submit(
                session,
                LogEvent(
                    "experts.draw_short",
                    log_actor(actor),
                    request.tender_id,
                    {
                        "request": str(request.id),
                        "specialty": short.specialty,
                        "needed": short.needed,
                        "eligible": short.available,
                    },
                ),
            )
            return short
        _create_committee(session, platform, request, picks, lines)
        request.drawn_hash = draw_math.drawn_hash(picks)
        request.state = "drawn"
        request.drawn_at = platform.clock.now()
        drawn = platform.translog.submit(
            session,
            LogEvent(
                DRAWN_EVENT,
                log_actor(actor),
                request.tender_id,
                {
                    "request": str(request.id),
                    "commitment_index": index,
                    "checkpoint_size": checkpoint.size,
                    "checkpoint_root": bytes(checkpoint.root).hex(),
                    "drawn_sha256": request.drawn_hash,
                    "members": sum(1 for p in picks if p.role == "member"),
                    "reserves": sum(1 for p in picks if p.role == "reserve"),
                },
            ),
        )
        request.drawn_pending_id = drawn.pending_id
    return None


def _create_committee(
    session: Session,
    platform: Platform,
    request: ExtractionRequest,
    picks: Sequence[draw_math.Pick],
    lines: Sequence[Line],
) -> None:
    now = platform.clock.now()
    experts = {
        e.id: e for e in session.scalars(select(Expert).where(Expert.id.in_([p.expert_id for p in picks])))
    }
    members: list[ExpertAssignment] = []
    for pick in picks:
        assignment = ExpertAssignment(
            id=uuid.uuid4(),
            request_id=request.id,
            expert_id=pick.expert_id,
            specialty=lines[pick.line_index].specialty,
            rank=pick.rank,
            role=pick.role,
            status="pending",
            created_at=now,
        )
        session.add(assignment)
        if pick.role == "member":
            members.append(assignment)
    session.flush()
    for assignment in session.scalars(
        select(ExpertAssignment).where(ExpertAssignment.request_id == request.id)
    ):
        seal_card(session, platform, assignment, experts[assignment.expert_id])
    for assignment in members:
        enqueue(session, CONFIRM_TASK, platform.clock, assignment_id=str(assignment.id))
