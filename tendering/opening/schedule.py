"""Scheduled work of the opening, idempotent: close due tenders, end bidders' decryption windows.

:func:`tick` is a job of :meth:`tendering.platform.Platform.maintenance` (every maintenance round in
``sealbid worker`` and the embedded app, ``maintenance_interval_seconds``, 5 s by default). No task is
queued for a tender's deadline: the round suffices (``docs/opening.md`` section 1). The bids freeze at
the deadline instant by the submission service's own clock check, not by the closing; the closing only
records the frozen set, and a custodian's release after the deadline closes the tender first itself.
So the round's delay (at most one interval after ``deadline + closing_grace_seconds``) only delays
when ``tender.closed`` appears, never what it counts; and a message delayed by the broker would run
by the wall clock, not the platform's (accelerated in the sandbox, manual in tests), and would have
to be re-queued whenever an amendment moves the deadline.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tendering.opening.closing import close_due
from tendering.opening.decryption import expire_windows
from tendering.opening.opener import clear_stale_scratch
from tendering.opening.publication import publish_pending_records

if TYPE_CHECKING:
    from tendering.platform import Platform


@dataclass(frozen=True)
class OpeningTick:
    """What one tick did."""

    closed: tuple[uuid.UUID, ...]
    windows_ended: tuple[uuid.UUID, ...]
    records_published: tuple[uuid.UUID, ...] = ()


def tick(platform: Platform) -> OpeningTick:
    """Close every tender whose deadline passed; decide envelopes whose bidders' window ended;
    publish the records of finished openings still unpublished; remove the scratch files (decrypted
    packages) of opening runs whose process was killed."""
    clear_stale_scratch(platform)
    closed = tuple(result.tender_id for result in close_due(platform))
    ended = tuple(expire_windows(platform))
    return OpeningTick(closed, ended, tuple(publish_pending_records(platform)))
