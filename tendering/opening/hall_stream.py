"""The opening hall's live event stream, driven by the database (works with any number of servers).

The stream polls the hall state (:func:`tendering.opening.hall.hall_state`) every ``interval`` seconds
in a worker thread and sends a ``progress`` event whenever anything shown changed, with the whole state
as JSON (so a client that missed events is never out of step) and the state's digest as the event id.
When the record is published it sends a ``record`` event and ends; when the opening failed it sends
``failed`` and ends. Between changes it sends a comment now and then, so dead connections are noticed.
A stream ends after ``lifetime`` seconds and the browser reconnects by itself (``retry``).
Polling the database (not an in-process notification) is what makes every server process agree on
SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import anyio
import anyio.to_thread
from litestar.response import ServerSentEventMessage

from tendering.opening.hall import HallViewer, hall_state, state_digest
from tendering.opening.models import OpeningState

if TYPE_CHECKING:
    from tendering.platform import Platform

#: The browser's reconnection delay (milliseconds) after a stream ends.
RETRY_MS: Final = 3000


@dataclass(frozen=True)
class StreamTiming:
    """How often the stream looks at the database, pings, and how long one stream lives."""

    interval: float = 1.0
    ping_every: float = 15.0
    lifetime: float = 600.0


def _message(event: str, state: dict[str, Any], digest: str) -> ServerSentEventMessage:
    return ServerSentEventMessage(
        data=json.dumps(state, ensure_ascii=False, separators=(",", ":")),
        event=event,
        id=digest,
        retry=RETRY_MS,
    )


async def hall_events(
    platform: Platform,
    tender_id: uuid.UUID,
    viewer: HallViewer,
    *,
    last_event_id: str | None = None,
    timing: StreamTiming | None = None,
    monotonic: Callable[[], float] = anyio.current_time,
) -> AsyncIterator[ServerSentEventMessage]:
    """The hall's events for ``viewer`` until the record is published, the opening failed, or the
    stream's lifetime ends. A reconnecting client passes its ``Last-Event-ID`` and gets only news."""
    timing = timing or StreamTiming()

    def read() -> dict[str, Any]:
        with platform.session_factory() as session:
            return hall_state(session, tender_id, viewer)

    started = last_ping = monotonic()
    sent = last_event_id
    while True:
        state = await anyio.to_thread.run_sync(read)
        digest = state_digest(state)
        if digest != sent:
            sent = digest
            last_ping = monotonic()
            yield _message("progress", state, digest)
        if state["record"] is not None:
            yield _message("record", state, digest)
            return
        if state["state"] == OpeningState.FAILED:
            yield _message("failed", state, digest)
            return
        now = monotonic()
        if now - started >= timing.lifetime:
            return
        if now - last_ping >= timing.ping_every:
            last_ping = now
            yield ServerSentEventMessage(data=None, comment="waiting")
        await anyio.sleep(timing.interval)
