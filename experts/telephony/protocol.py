"""The telephony provider Protocol: voice calls with a keypad gather, SMS, and their events.

A provider places calls and sends SMS; what happens afterwards (a keypress, a call that was not
answered, an SMS delivered, an expert's reply) comes back as :class:`ProviderEvent` values, either
through signed webhooks (Twilio) or by :meth:`TelephonyProvider.poll` (the simulator, the in-memory
provider). The confirmation state machine (:mod:`experts.confirmation`) consumes events without
knowing which provider produced them. Every event has an ``event_key`` unique per provider, so a
repeated delivery is recognised and changes nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol, runtime_checkable

EventKind = Literal["call_status", "keypress", "sms_status", "sms_inbound"]

#: Final call statuses (Twilio's names, which the other providers use too).
CALL_FAILED_STATUSES = frozenset({"no-answer", "busy", "failed", "canceled"})
CALL_FINAL_STATUSES = CALL_FAILED_STATUSES | {"completed"}


@dataclass(frozen=True)
class VoicePrompt:
    """What a call says: the spoken text, its language, and the keypad choices it offers."""

    text: str
    language: str  # BCP 47 for the speech engine: "zh-CN" or "en-US"
    retry_text: str  # said when the key pressed was neither 1 nor 2
    goodbye_text: str  # said when no key was pressed


@dataclass(frozen=True)
class ProviderEvent:
    """Something the provider reports about a call or an SMS."""

    kind: EventKind
    provider: str
    provider_id: str  # the call or message id the event is about (inbound: the inbound message id)
    event_key: str  # unique per provider: a repeated event has the same key
    status: str = ""  # call or message status, lower case
    digits: str = ""  # keypress
    from_number: str = ""  # inbound SMS sender (E.164)
    body: str = ""  # inbound SMS text


@runtime_checkable
class TelephonyProvider(Protocol):
    """A voice and SMS provider (Twilio, the demo simulator, the in-memory test provider)."""

    name: str

    def place_call(self, to: str, prompt: VoicePrompt, *, ring_timeout_seconds: int) -> str:
        """Start a call to ``to`` (E.164) that speaks ``prompt`` and gathers one key; return its id."""
        ...

    def send_sms(self, to: str, body: str) -> str:
        """Send ``body`` to ``to`` (E.164); return the message id."""
        ...

    def poll(self, now: datetime) -> list[ProviderEvent]:
        """Events due by ``now`` that do not come through webhooks (empty for webhook providers)."""
        ...

    def verify_webhook(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """Whether a webhook posted to the full public ``url`` with ``params`` carries a valid signature."""
        ...


class ProviderError(Exception):
    """The provider refused or could not be reached (the attempt counts as failed)."""
