"""One conformance suite for every telephony provider: in-memory, simulator, Twilio (against the fake).

Each provider must place calls and send SMS with distinct ids, refuse forged webhooks, and carry a
confirmation to the right outcome for each way an expert can behave: confirm by key, decline by key,
ignore every call but confirm by SMS, or never answer at all.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal, Protocol

import pytest

from experts.notify_committee import CONFIRM_TASK, InMemoryCommittee
from experts.notify_events import sweep
from experts.telephony import TelephonyProvider, provider_for
from experts.telephony.memory import InMemoryProvider
from experts.telephony.protocol import VoicePrompt
from experts.telephony.simulator import SimulatorProvider
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.settings import Settings
from tendering.tasks import enqueue
from tests.experts.fake_twilio import FakeTwilio
from tests.experts.telephony.conftest import serve_with_fake_twilio
from tests.experts.telephony.helpers import (
    attempts,
    committee_of,
    confirmation,
    confirmation_platform,
    telephony_settings,
)

Behaviour = Literal["confirm", "decline", "sms-confirm", "silent"]
EXPECTED = {"confirm": "confirmed", "decline": "declined", "sms-confirm": "confirmed", "silent": "no_answer"}
PROVIDERS = ["memory", "simulator", "twilio"]
PROMPT = VoicePrompt("评标时间：1月12日 09:30", "zh-CN", "按键无效", "再见")


class Expert(Protocol):
    """Plays the expert on one provider."""

    def respond(self) -> None:
        """React to every call and SMS not yet answered."""


@dataclass
class MemoryExpert:
    provider: InMemoryProvider
    behaviour: Behaviour
    seen: set[str] = field(default_factory=set)

    def respond(self) -> None:
        for call in self.provider.calls:
            if call.call_id in self.seen:
                continue
            self.seen.add(call.call_id)
            if self.behaviour in ("confirm", "decline"):
                self.provider.press(call.call_id, "1" if self.behaviour == "confirm" else "2")
            else:
                self.provider.end_call(call.call_id, "no-answer")
        for sms in self.provider.sms:
            if sms.message_id in self.seen:
                continue
            self.seen.add(sms.message_id)
            self.provider.sms_status(sms.message_id, "delivered")
            if self.behaviour == "sms-confirm":
                self.provider.reply(sms.to, f"{_code(sms.body)} 1")


@dataclass
class TwilioExpert:
    fake: FakeTwilio
    behaviour: Behaviour
    seen: set[str] = field(default_factory=set)

    def respond(self) -> None:
        for sid in list(self.fake.calls):
            if sid in self.seen:
                continue
            self.seen.add(sid)
            if self.behaviour in ("confirm", "decline"):
                self.fake.answer(sid, "1" if self.behaviour == "confirm" else "2")
                self.fake.complete(sid)
            else:
                self.fake.complete(sid, "no-answer")
        for sid, message in list(self.fake.messages.items()):
            if sid in self.seen:
                continue
            self.seen.add(sid)
            self.fake.sms_status(sid, "delivered")
            if self.behaviour == "sms-confirm":
                self.fake.inbound_sms(message.to, f"{_code(message.body)} 1")


class SimulatedExpert:
    def respond(self) -> None:
        """The simulator answers by itself on the platform clock."""


def _code(body: str) -> str:
    found = re.search(r"(\d{6}) 1", body)
    assert found, body
    return found.group(1)


@dataclass
class World:
    platform: Platform
    committee: InMemoryCommittee
    expert: Expert
    valid_signature: tuple[str, dict[str, str], str] | None  # a webhook the provider must accept


def _simulator(clock: ManualClock, behaviour: Behaviour) -> SimulatorProvider:
    confirm = {"confirm": 1.0, "decline": 0.0, "sms-confirm": 0.0, "silent": 0.0}[behaviour]
    decline = 1.0 if behaviour == "decline" else 0.0
    return SimulatorProvider(
        clock,
        confirm_probability=confirm,
        decline_probability=decline,
        sms_reply_probability=1.0 if behaviour == "sms-confirm" else 0.0,
        min_delay_seconds=5,
        max_delay_seconds=50,
        code_length=6,
        seed=7,
    )


@contextmanager
def world_for(
    name: str, behaviour: Behaviour, settings: Settings, clock: ManualClock, tmp_path: Path
) -> Iterator[World]:
    committee = committee_of(members=1, reserves=0)
    if name == "twilio":
        with serve_with_fake_twilio(settings, clock, tmp_path, committee) as twilio:
            url = twilio.base_url + "/telephony/twilio/call-status"
            signed = (url, {"CallSid": "CA1", "CallStatus": "busy"})
            valid = (*signed, twilio.fake.sign(*signed))
            yield World(twilio.platform, committee, TwilioExpert(twilio.fake, behaviour), valid)
        return
    if name == "memory":
        memory = InMemoryProvider()
        with confirmation_platform(telephony_settings(settings), clock, memory, committee) as platform:
            params = {"CallSid": "MC1"}
            yield World(
                platform,
                committee,
                MemoryExpert(memory, behaviour),
                ("http://x/h", params, memory.sign("http://x/h", params)),
            )
        return
    simulator = _simulator(clock, behaviour)
    with confirmation_platform(telephony_settings(settings), clock, simulator, committee) as platform:
        yield World(platform, committee, SimulatedExpert(), None)


def _run(world: World, clock: ManualClock) -> uuid.UUID:
    member = world.committee.members()[0]
    with world.platform.transaction() as session:
        enqueue(session, CONFIRM_TASK, world.platform.clock, assignment_id=str(member))
    world.platform.tasks.join()
    for _ in range(200):
        world.expert.respond()
        world.platform.tasks.join()
        sweep(world.platform)
        world.platform.tasks.join()
        if confirmation(world.platform, member).state == "settled":
            break
        clock.advance(timedelta(seconds=60))
    return member


@pytest.mark.parametrize("name", PROVIDERS)
@pytest.mark.parametrize("behaviour", ["confirm", "decline", "sms-confirm", "silent"])
def test_every_provider_carries_a_confirmation_to_its_outcome(
    name: str, behaviour: Behaviour, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    with world_for(name, behaviour, settings, clock, tmp_path) as world:
        member = _run(world, clock)
        row = confirmation(world.platform, member)
        assert (row.state, row.outcome) == ("settled", EXPECTED[behaviour])
        assert world.committee.statuses[member] == EXPECTED[behaviour]
        if behaviour == "silent":  # both numbers were called twice before the SMS
            channels = [a.channel for a in attempts(world.platform, member)]
            assert channels == ["voice"] * 4 + ["sms"]


@pytest.mark.parametrize("name", PROVIDERS)
def test_every_provider_gives_distinct_ids_and_refuses_forged_webhooks(
    name: str, settings: Settings, clock: ManualClock, tmp_path: Path
) -> None:
    with world_for(name, "silent", settings, clock, tmp_path) as world:
        provider: TelephonyProvider = provider_for(world.platform)
        calls = {provider.place_call("+8613800000001", PROMPT, ring_timeout_seconds=30) for _ in range(3)}
        messages = {provider.send_sms("+8613800000001", "短信 123456 1") for _ in range(3)}
        assert len(calls | messages) == 6 and all(calls | messages)
        assert not provider.verify_webhook(
            "https://sealbid.example/telephony/twilio/voice", {"CallSid": "CA1"}, "Zm9yZ2Vk"
        )
        assert not provider.verify_webhook(
            "https://sealbid.example/telephony/twilio/voice", {"CallSid": "CA1"}, ""
        )
        if world.valid_signature is not None:
            url, params, signature = world.valid_signature
            assert provider.verify_webhook(url, params, signature)
            assert not provider.verify_webhook(url, {**params, "extra": "1"}, signature)
