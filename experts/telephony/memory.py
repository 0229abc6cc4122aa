"""The in-memory telephony provider for tests: calls and SMS are recorded, tests decide what happens.

A test plays the expert: :meth:`InMemoryProvider.press` a key on a call, :meth:`~InMemoryProvider.end_call`
with a status, :meth:`~InMemoryProvider.reply` to an SMS. The resulting events are returned by
:meth:`~InMemoryProvider.poll`, as the simulator's are. Webhook signatures are HMAC-SHA256 over the URL
and the sorted parameters with a per-instance key (so the conformance suite can forge one).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from experts.telephony.protocol import ProviderError, ProviderEvent, VoicePrompt


@dataclass(frozen=True)
class PlacedCall:
    """A call the provider was asked to place."""

    call_id: str
    to: str
    prompt: VoicePrompt
    ring_timeout_seconds: int


@dataclass(frozen=True)
class SentSms:
    """An SMS the provider was asked to send."""

    message_id: str
    to: str
    body: str


class InMemoryProvider:
    """Records calls and SMS; the test drives the outcomes."""

    name = "memory"

    def __init__(self, signing_key: bytes | None = None) -> None:
        self.signing_key = signing_key or secrets.token_bytes(32)
        self.calls: list[PlacedCall] = []
        self.sms: list[SentSms] = []
        self.unreachable: set[str] = set()  # numbers for which the provider refuses the request
        self._events: list[ProviderEvent] = []
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # The Protocol ---------------------------------------------------------------------------------

    def place_call(self, to: str, prompt: VoicePrompt, *, ring_timeout_seconds: int) -> str:
        """Record the call and return its id."""
        if to in self.unreachable:
            raise ProviderError(f"call refused by the provider (test: {to} unreachable)")
        with self._lock:
            call = PlacedCall(f"MC{next(self._ids):08d}", to, prompt, ring_timeout_seconds)
            self.calls.append(call)
            return call.call_id

    def send_sms(self, to: str, body: str) -> str:
        """Record the SMS and return its id."""
        if to in self.unreachable:
            raise ProviderError(f"SMS refused by the provider (test: {to} unreachable)")
        with self._lock:
            message = SentSms(f"MS{next(self._ids):08d}", to, body)
            self.sms.append(message)
            return message.message_id

    def poll(self, now: datetime) -> list[ProviderEvent]:
        """Every event the test has caused since the last poll."""
        with self._lock:
            events, self._events = self._events, []
            return events

    def verify_webhook(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """Check an HMAC-SHA256 signature made by :meth:`sign`."""
        return hmac.compare_digest(self.sign(url, params), signature)

    # The test plays the expert ----------------------------------------------------------------------

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        """The signature this provider puts on a webhook."""
        text = url + "".join(f"{key}{params[key]}" for key in sorted(params))
        digest = hmac.new(self.signing_key, text.encode(), hashlib.sha256).digest()
        return base64.b64encode(digest).decode()

    def press(self, call_id: str, digits: str) -> None:
        """The expert answers ``call_id`` and presses ``digits``; the call then completes."""
        self._emit(ProviderEvent("keypress", self.name, call_id, f"{call_id}:gather:{digits}", digits=digits))
        self.end_call(call_id, "completed")

    def end_call(self, call_id: str, status: str) -> None:
        """The call ends with ``status`` (completed, no-answer, busy, failed)."""
        self._emit(
            ProviderEvent("call_status", self.name, call_id, f"{call_id}:status:{status}", status=status)
        )

    def sms_status(self, message_id: str, status: str) -> None:
        """The network reports ``status`` (delivered, undelivered, failed) for an SMS."""
        self._emit(
            ProviderEvent("sms_status", self.name, message_id, f"{message_id}:status:{status}", status=status)
        )

    def reply(self, from_number: str, body: str) -> str:
        """The expert at ``from_number`` replies ``body``; return the inbound message id."""
        inbound_id = f"MI{next(self._ids):08d}"
        self._emit(
            ProviderEvent(
                "sms_inbound",
                self.name,
                inbound_id,
                f"{inbound_id}:inbound",
                from_number=from_number,
                body=body,
            )
        )
        return inbound_id

    def repeat(self, event: ProviderEvent) -> None:
        """Deliver ``event`` again (providers retry; a repeat must change nothing)."""
        self._emit(event)

    def _emit(self, event: ProviderEvent) -> None:
        with self._lock:
            self._events.append(event)
