"""Scheduled work of the opening, idempotent: close due tenders, end bidders' decryption windows.

:func:`tick` is a job of :meth:`tendering.platform.Platform.maintenance` (every maintenance round in
``sealbid worker`` and the embedded app). The ``opening.close`` task closes one tender when it is due
and does nothing otherwise, so it can be sent at any time (retries are harmless).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from tendering.opening.closing import close_due, close_tender
from tendering.opening.decryption import expire_windows
from tendering.opening.publication import publish_pending_records
from tendering.tasks import tasks

if TYPE_CHECKING:
    from tendering.platform import Platform

CLOSE_TASK: Final = "opening.close"


@dataclass(frozen=True)
class OpeningTick:
    """What one tick did."""

    closed: tuple[uuid.UUID, ...]
    windows_ended: tuple[uuid.UUID, ...]
    records_published: tuple[uuid.UUID, ...] = ()


def tick(platform: Platform) -> OpeningTick:
    """Close every tender whose deadline passed; decide envelopes whose bidders' window ended;
    publish the records of finished openings still unpublished."""
    closed = tuple(result.tender_id for result in close_due(platform))
    ended = tuple(expire_windows(platform))
    return OpeningTick(closed, ended, tuple(publish_pending_records(platform)))


@tasks.task(CLOSE_TASK, max_retries=10)
def close_task(context: Any, tender_id: str) -> None:
    """Close the tender if its deadline has passed (a no-op otherwise, or when already closed)."""
    close_tender(context, uuid.UUID(tender_id))
