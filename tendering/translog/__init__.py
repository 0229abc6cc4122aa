"""The transparency log service: an append-only RFC 9162 log of every state change.

Domain code uses :class:`TransparencyLog` (``platform.translog``): ``submit(session, LogEvent(...))``
inside its transaction. See ``docs/transparency-log-service.md``.
"""

from __future__ import annotations

from tendering.translog import tasks as _tasks  # noqa: F401 - registers the "translog.sequence" task
from tendering.translog.entries import LogActor, LogEvent
from tendering.translog.service import (
    ConsistencyProof,
    InclusionProof,
    StoredEntry,
    Submitted,
    TransparencyLog,
)
from tendering.translog.store import Head

__all__ = [
    "ConsistencyProof",
    "Head",
    "InclusionProof",
    "LogActor",
    "LogEvent",
    "StoredEntry",
    "Submitted",
    "TransparencyLog",
]
