"""The ``translog.sequence`` task: run the sequencer after a transaction that submitted entries."""

from __future__ import annotations

from typing import Any

from tendering.tasks import tasks
from tendering.translog.service import SEQUENCE_TASK


@tasks.task(SEQUENCE_TASK, max_retries=20)
def sequence_task(context: Any) -> None:
    """Integrate whatever is pending (idempotent: with nothing pending it does nothing)."""
    context.translog.sequence()
