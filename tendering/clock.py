"""Time for sealbid, behind a Protocol.

All domain code asks an injected :class:`Clock` for the time. Production uses :class:`SystemClock`;
sandbox demos use :class:`AcceleratedClock` so a 20-day tender runs in minutes; tests use
:class:`ManualClock` and never sleep. Every clock returns timezone-aware UTC datetimes.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """A source of the current time (aware, UTC)."""

    def now(self) -> datetime:
        """Return the current time as an aware UTC datetime."""
        ...


class SystemClock:
    """The machine's wall clock."""

    def now(self) -> datetime:
        """Return the system time in UTC."""
        return datetime.now(UTC)


class AcceleratedClock:
    """Sandbox time: starts at the real time (or ``start``) and runs ``speed`` times faster.

    Refused by production settings; see :class:`tendering.settings.Settings`.
    """

    def __init__(self, speed: float, start: datetime | None = None) -> None:
        if speed <= 0:
            msg = "clock speed must be positive"
            raise ValueError(msg)
        self.speed = speed
        self._origin = start.astimezone(UTC) if start else datetime.now(UTC)
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        """Return the accelerated time."""
        elapsed = time.monotonic() - self._mono0
        return self._origin + timedelta(seconds=elapsed * self.speed)


class SkippingClock:
    """Real-time sandbox time that can jump ahead: the demo lets a bid deadline pass without waiting days.

    It runs at the speed of the wall clock from ``start`` (default: now) and :meth:`skip` moves it forward;
    it never goes backwards. Like :class:`AcceleratedClock`, only for demos and sandboxes.
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._origin = start.astimezone(UTC) if start else datetime.now(UTC)
        self._mono0 = time.monotonic()
        self._offset = timedelta(0)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the sandbox time."""
        with self._lock:
            return self._origin + timedelta(seconds=time.monotonic() - self._mono0) + self._offset

    def skip(self, delta: timedelta) -> datetime:
        """Jump ``delta`` ahead (never backwards) and return the new time."""
        if delta < timedelta(0):
            msg = "a clock does not go backwards"
            raise ValueError(msg)
        with self._lock:
            self._offset += delta
        return self.now()


class ManualClock:
    """A clock that moves only when told to; for tests and scripted demos."""

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (start or datetime(2026, 1, 5, 1, 0, tzinfo=UTC)).astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """Return the current manual time."""
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> datetime:
        """Move time forward by ``delta`` (never backwards) and return the new time."""
        if delta < timedelta(0):
            msg = "a clock does not go backwards"
            raise ValueError(msg)
        with self._lock:
            self._now += delta
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (must not be earlier than now)."""
        when = when.astimezone(UTC)
        with self._lock:
            if when < self._now:
                msg = "a clock does not go backwards"
                raise ValueError(msg)
            self._now = when
