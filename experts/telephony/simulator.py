"""The demo's telephony provider: simulated experts answer with set probabilities and delays.

Each call is answered after a random delay with 1 (confirm) or 2 (decline) with the configured
probabilities, otherwise it rings out (``no-answer``, sometimes ``busy``) after the ring timeout. Each SMS is
delivered; with ``simulator_sms_reply_probability`` the expert replies ``<code> 1`` or ``<code> 2`` after a
delay. Outcomes become due on the platform clock (never by sleeping) and are collected by
:meth:`SimulatorProvider.poll`, which the confirmation sweep calls. The simulator accepts no webhooks.
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from experts.telephony.protocol import ProviderEvent, VoicePrompt

if TYPE_CHECKING:
    from tendering.clock import Clock
    from tendering.telephony_settings import TelephonySettings


class SimulatorProvider:
    """Simulated experts on the platform clock."""

    name = "simulator"

    def __init__(
        self,
        clock: Clock,
        *,
        confirm_probability: float,
        decline_probability: float,
        sms_reply_probability: float,
        min_delay_seconds: int,
        max_delay_seconds: int,
        code_length: int,
        seed: int | None = None,
    ) -> None:
        self.clock = clock
        self.confirm_probability = confirm_probability
        self.decline_probability = decline_probability
        self.sms_reply_probability = sms_reply_probability
        self.min_delay = min_delay_seconds
        self.max_delay = max_delay_seconds
        self._code = re.compile(rf"(?<!\d)(\d{{{code_length}}}) 1(?!\d)")
        self._random = random.Random(seed)  # noqa: S311 - a simulation, not a secret
        self._due: list[tuple[datetime, int, ProviderEvent]] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: TelephonySettings, clock: Clock) -> SimulatorProvider:
        """A simulator configured by ``[telephony] simulator_*``."""
        return cls(
            clock,
            confirm_probability=settings.simulator_confirm_probability,
            decline_probability=settings.simulator_decline_probability,
            sms_reply_probability=settings.simulator_sms_reply_probability,
            min_delay_seconds=settings.simulator_min_delay_seconds,
            max_delay_seconds=settings.simulator_max_delay_seconds,
            code_length=settings.code_length,
            seed=settings.simulator_seed,
        )

    def _delay(self) -> timedelta:
        return timedelta(seconds=self._random.uniform(self.min_delay, self.max_delay))

    def _at(self, when: datetime, event: ProviderEvent) -> None:
        heapq.heappush(self._due, (when, next(self._ids), event))

    def place_call(self, to: str, prompt: VoicePrompt, *, ring_timeout_seconds: int) -> str:
        """Simulate the expert's answer to a call."""
        with self._lock:
            call_id = f"SC{next(self._ids):08d}"
            now = self.clock.now()
            draw = self._random.random()
            if draw < self.confirm_probability + self.decline_probability:
                digits = "1" if draw < self.confirm_probability else "2"
                pressed = now + self._delay()
                self._at(
                    pressed, ProviderEvent("keypress", self.name, call_id, f"{call_id}:gather", digits=digits)
                )
                completed = ProviderEvent(
                    "call_status", self.name, call_id, f"{call_id}:completed", status="completed"
                )
                self._at(pressed + timedelta(seconds=5), completed)
            else:
                status = "busy" if self._random.random() < 0.2 else "no-answer"
                ended = ProviderEvent("call_status", self.name, call_id, f"{call_id}:{status}", status=status)
                self._at(now + timedelta(seconds=ring_timeout_seconds), ended)
            return call_id

    def send_sms(self, to: str, body: str) -> str:
        """Simulate delivery and, maybe, the expert's reply (the code is read from the text)."""
        with self._lock:
            message_id = f"SM{next(self._ids):08d}"
            now = self.clock.now()
            delivered = ProviderEvent(
                "sms_status", self.name, message_id, f"{message_id}:delivered", status="delivered"
            )
            self._at(now + timedelta(seconds=2), delivered)
            found = self._code.search(body)
            if found and self._random.random() < self.sms_reply_probability:
                accept = self.confirm_probability + self.decline_probability
                share = self.confirm_probability / accept if accept else 1.0
                choice = "1" if self._random.random() < share else "2"
                inbound_id = f"SI{next(self._ids):08d}"
                reply = ProviderEvent(
                    "sms_inbound",
                    self.name,
                    inbound_id,
                    f"{inbound_id}:inbound",
                    from_number=to,
                    body=f"{found.group(1)} {choice}",
                )
                self._at(now + self._delay(), reply)
            return message_id

    def poll(self, now: datetime) -> list[ProviderEvent]:
        """The simulated events due by ``now``, in time order."""
        with self._lock:
            due: list[ProviderEvent] = []
            while self._due and self._due[0][0] <= now:
                due.append(heapq.heappop(self._due)[2])
            return due

    def pending(self) -> int:
        """Simulated events not yet due."""
        with self._lock:
            return len(self._due)

    def verify_webhook(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """The simulator sends no webhooks: every webhook claiming to be from it is refused."""
        return False
