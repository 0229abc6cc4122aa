"""Dramatiq tasks of the expert confirmation (voice call, SMS), registered on import.

- ``experts.confirm(assignment_id)``: the draw enqueues it (after commit) for every pending member and
  every replacement; it opens the confirmation and places the first call (a repeat does nothing).
- ``experts.contact(assignment_id, step)``: the next call or the SMS (an older ``step`` does nothing).
- ``experts.events(events)``: apply the polled events of one call or message, in order.
- ``experts.sweep()``: hand polled provider events to ``experts.events`` and fire due timers (retry
  spacing, SMS reply timeout, calls without a final status). The maintenance loop sends it every round.
- ``experts.reveal_due()``: reveal the draw secret of every drawn request whose tender has its result or
  ended (:func:`experts.draw_public.reveal_due`). Also sent every maintenance round.
"""

from __future__ import annotations

import uuid
from typing import Any

from experts.confirmation import CONTACT_TASK, contact, start
from experts.draw_public import reveal_due
from experts.notify_committee import CONFIRM_TASK
from experts.notify_events import EVENTS_TASK, apply_events, sweep
from tendering.tasks import tasks

SWEEP_TASK = "experts.sweep"
REVEAL_TASK = "experts.reveal_due"


@tasks.task(CONFIRM_TASK, max_retries=10)
def confirm_task(context: Any, assignment_id: str) -> None:
    """Start the confirmation of a drawn expert (idempotent)."""
    start(context, uuid.UUID(assignment_id))


@tasks.task(CONTACT_TASK, max_retries=10)
def contact_task(context: Any, assignment_id: str, step: int) -> None:
    """Make the confirmation's next contact if it still waits for ``step`` (idempotent)."""
    contact(context, uuid.UUID(assignment_id), int(step))


@tasks.task(EVENTS_TASK, max_retries=10)
def events_task(context: Any, events: list[dict[str, Any]]) -> None:
    """Apply one call's or message's polled provider events in order (repeats change nothing)."""
    apply_events(context, events)


@tasks.task(SWEEP_TASK, max_retries=0, periodic=True)
def sweep_task(context: Any) -> None:
    """Apply polled provider events and due timers (idempotent; the next round repeats it)."""
    sweep(context)


@tasks.task(REVEAL_TASK, max_retries=0, periodic=True)
def reveal_task(context: Any) -> None:
    """Reveal the secrets of draws whose tender has its result or ended (idempotent, cheap when none)."""
    reveal_due(context)
