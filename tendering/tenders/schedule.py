"""Scheduled work of the tender domain, idempotent.

``tenders.publish`` (enqueued through the outbox when the authority approves) publishes one tender if
its publication time has come. :func:`tick` publishes every approved tender that is due and raises the
due supervision warnings; it is a job of :meth:`tendering.platform.Platform.maintenance`, so it runs
every ``maintenance_interval_seconds`` in ``sealbid worker`` and, on the embedded default, in the app's
maintenance thread (tests call it after moving the manual clock). Running it twice changes nothing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tendering.tasks import tasks
from tendering.tenders.service import PUBLISH_TASK, publish, publish_due
from tendering.tenders.supervision import check_time_limits

if TYPE_CHECKING:
    from tendering.platform import Platform


@dataclass(frozen=True)
class TickResult:
    """What one tick did."""

    published: tuple[uuid.UUID, ...]
    yellow: int
    red: int


def tick(platform: Platform) -> TickResult:
    """Publish what is due, then raise due supervision warnings (idempotent)."""
    published = publish_due(platform)
    sweep = check_time_limits(platform)
    return TickResult(tuple(published), sweep.yellow, sweep.red)


@tasks.task(PUBLISH_TASK, max_retries=10)
def publish_task(context: Any, tender_id: str) -> None:
    """Publish the tender if it is approved and due (a no-op otherwise)."""
    publish(context, uuid.UUID(tender_id))
