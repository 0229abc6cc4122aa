"""What every step of ``sealbid demo`` shares: the served app, the PKI, the sandbox clock, the tenders.

The demo runs on a :class:`~tendering.clock.SkippingClock`: real time, except when a step lets days pass
(the bid deadline, the evaluation date) with :meth:`DemoContext.skip`. Tokens issued before a skip expire
like they would; steps log in again after one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tendering.clock import SkippingClock
from tendering.identity.devpki import DEMO_PASSWORD, DevPkiReport, ParticipantFile
from tendering.platform import Platform

Echo = Callable[[str], None]


class DemoFailed(RuntimeError):
    """A demo step did not do what it should: the demo exits non-zero."""


@dataclass
class DemoResult:
    """What the demo did, for tests and the closing summary."""

    base_url: str = ""
    logins: dict[str, tuple[str, ...]] = field(default_factory=dict)
    refusals: dict[str, str] = field(default_factory=dict)
    log_sizes: list[int] = field(default_factory=list)
    tamper_detected: str = ""
    tenders: list[str] = field(default_factory=list)
    #: Filled by the sealed-bid and opening steps (api/demo_bids.py).
    bids: dict[str, Any] = field(default_factory=dict)
    #: Filled by the expert steps (api/demo_experts.py).
    experts: dict[str, Any] = field(default_factory=dict)


@dataclass
class DemoContext:
    """The running demo: use ``client`` (the served app over HTTP) as the participants would."""

    directory: Path
    platform: Platform
    clock: SkippingClock
    client: httpx.Client
    base_url: str
    #: The audience the server expects in login challenges (its public URL).
    audience: str
    report: DevPkiReport
    result: DemoResult
    echo: Echo

    @property
    def password(self) -> str:
        """The throwaway password of every demo PKCS#12 file (made at run time)."""
        return DEMO_PASSWORD

    def participant(self, name: str, usage: str = "signing") -> ParticipantFile:
        """The PKCS#12 file of participant ``name`` (``tenderer-1``, ``custodian-2``...) for ``usage``.

        ``usage`` is ``signing`` or ``encryption``; a single-certificate participant answers for both.
        """
        for candidate in self.report.participants:
            if candidate.participant == name and candidate.usage in (usage, "both"):
                return candidate
        msg = f"the demo PKI has no {usage} certificate for {name}"
        raise DemoFailed(msg)

    def now(self) -> datetime:
        """The platform's (sandbox) time."""
        return self.clock.now()

    def skip(self, delta: timedelta, why: str) -> datetime:
        """Let ``delta`` pass on the platform clock, run the scheduled work, and say so."""
        moment = self.clock.skip(delta)
        self.echo(f"    ... {why}: the sandbox clock jumps {delta} ahead to {moment:%Y-%m-%d %H:%M} UTC")
        self.settle()
        return moment

    def settle(self) -> None:
        """Run what is due: the maintenance sweep (schedules, log sequencing) and every queued task."""
        self.platform.maintenance()
        self.platform.tasks.join()
        self.platform.maintenance()
        self.platform.tasks.join()
