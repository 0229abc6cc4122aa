"""The whole confirmation over real HTTP: sealbid <-> the fake Twilio server (REST API and webhooks)."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

from sqlalchemy import func, select

from experts.confirmation_models import TelephonyEvent
from experts.notify_committee import CONFIRM_TASK
from experts.notify_events import sweep
from experts.telephony.twilio import CALL_STATUS_PATH, GATHER_PATH
from tendering.clock import ManualClock
from tendering.tasks import enqueue
from tests.experts.fake_twilio import gather_action, spoken
from tests.experts.telephony.conftest import TwilioWorld
from tests.experts.telephony.helpers import PLACE, TENDER_TITLE, attempts, confirmation, events


def drawn(world: TwilioWorld) -> uuid.UUID:
    member = world.committee.members()[0]
    with world.platform.transaction() as session:
        enqueue(session, CONFIRM_TASK, world.platform.clock, assignment_id=str(member))
    world.platform.tasks.join()
    return member


def settle_down(world: TwilioWorld) -> None:
    sweep(world.platform)
    world.platform.tasks.join()


def only_call(world: TwilioWorld, index: int = -1) -> str:
    return list(world.fake.calls)[index]


def test_keypress_1_confirms_through_twilio(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    member = drawn(world)
    [call] = world.fake.calls.values()
    assert call.to == world.committee.cards[member].phones[0]
    assert call.from_ == world.fake.number and call.timeout == "30"
    assert call.url == world.base_url + "/telephony/twilio/voice"
    assert call.status_callback == world.base_url + CALL_STATUS_PATH

    voice, pressed = world.fake.answer(call.sid, "1")
    assert voice.status_code == 200 and gather_action(voice.text) == world.base_url + GATHER_PATH
    said = " ".join(spoken(voice.text))
    assert PLACE in said and "09:30" in said and TENDER_TITLE not in said
    assert pressed.status_code == 200 and "已确认" in " ".join(spoken(pressed.text))
    assert world.fake.complete(call.sid).status_code == 200
    world.platform.tasks.join()
    assert confirmation(world.platform, member).outcome == "confirmed"
    assert [a.status for a in attempts(world.platform, member)] == ["completed"]


def test_decline_then_the_replacement_is_called(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    member = drawn(world)
    hooks = world.fake.answer(only_call(world), "2")
    assert "不能参加" in " ".join(spoken(hooks[-1].text))
    world.fake.complete(only_call(world))
    world.platform.tasks.join()
    replacement = world.committee.results[member].replacement_id
    assert replacement is not None
    assert len(world.fake.calls) == 2
    assert world.fake.calls[only_call(world)].to == world.committee.cards[replacement].phones[0]


def test_wrong_key_prompts_again_then_a_valid_key_settles(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    member = drawn(world)
    _voice, wrong, again, right = world.fake.answer(only_call(world), "7", "1")
    assert "Redirect" in wrong.text
    assert spoken(again.text)[0].startswith("按键无效")
    assert "已确认" in " ".join(spoken(right.text))
    assert confirmation(world.platform, member).outcome == "confirmed"


def test_no_answer_on_number_1_calls_number_2(twilio_world: TwilioWorld, clock: ManualClock) -> None:
    world = twilio_world
    member = drawn(world)
    phones = world.committee.cards[member].phones
    world.fake.complete(only_call(world), "no-answer")
    clock.advance(timedelta(seconds=300))
    settle_down(world)
    world.fake.complete(only_call(world), "busy")
    world.platform.tasks.join()
    assert [call.to for call in world.fake.calls.values()] == [phones[0], phones[0], phones[1]]
    world.fake.answer(only_call(world), "1")
    assert confirmation(world.platform, member).outcome == "confirmed"


def _fail_all_calls(world: TwilioWorld, clock: ManualClock) -> None:
    for status in ("no-answer", "busy", "failed", "no-answer"):
        assert world.fake.complete(only_call(world), status).status_code == 200
        world.platform.tasks.join()
        clock.advance(timedelta(seconds=300))
        settle_down(world)


def _code(body: str) -> str:
    found = re.search(r"(\d{6}) 1", body)
    assert found
    return found.group(1)


def test_all_numbers_fail_then_the_sms_reply_confirms(twilio_world: TwilioWorld, clock: ManualClock) -> None:
    world = twilio_world
    member = drawn(world)
    _fail_all_calls(world, clock)
    [message] = world.fake.messages.values()
    assert message.to == world.committee.cards[member].phones[0]
    assert message.status_callback == world.base_url + "/telephony/twilio/sms-status"
    assert world.fake.sms_status(message.sid, "delivered").status_code == 200
    wrong = world.fake.inbound_sms(message.to, "000000 1" if _code(message.body) != "000000" else "111111 1")
    assert wrong.status_code == 200 and confirmation(world.platform, member).state == "sms_wait"
    reply = world.fake.inbound_sms(message.to, f"{_code(message.body)} 1")
    assert reply.status_code == 200
    assert confirmation(world.platform, member).outcome == "confirmed"
    sms = [a for a in attempts(world.platform, member) if a.channel == "sms"]
    assert [a.status for a in sms] == ["delivered"]


def test_sms_timeout_settles_no_answer_a_late_reply_changes_nothing(
    twilio_world: TwilioWorld, clock: ManualClock
) -> None:
    world = twilio_world
    member = drawn(world)
    _fail_all_calls(world, clock)
    [message] = world.fake.messages.values()
    clock.advance(timedelta(seconds=3600))
    settle_down(world)
    assert confirmation(world.platform, member).outcome == "no_answer"
    replacement = world.committee.results[member].replacement_id
    assert replacement is not None
    assert world.fake.calls[only_call(world)].to == world.committee.cards[replacement].phones[0]
    late = world.fake.inbound_sms(message.to, f"{_code(message.body)} 1")
    assert late.status_code == 200
    assert confirmation(world.platform, member).outcome == "no_answer"
    assert events(world.platform)[-1].result == "late"


def test_forged_signature_is_refused_and_changes_nothing(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    member = drawn(world)
    call = world.fake.calls[only_call(world)]
    params = {
        "CallSid": call.sid,
        "CallStatus": "in-progress",
        "Digits": "2",
        "AccountSid": world.fake.account_sid,
    }
    forged = world.fake.post(world.base_url + GATHER_PATH, params, signature="bm90IGEgc2lnbmF0dXJl")
    unsigned = world.fake.post(world.base_url + GATHER_PATH, params, signature="")
    # a valid signature for other parameters does not carry over
    other = world.fake.sign(world.base_url + GATHER_PATH, {**params, "Digits": "1"})
    tampered = world.fake.post(world.base_url + GATHER_PATH, params, signature=other)
    # signed for another URL
    elsewhere = world.fake.sign(world.base_url + CALL_STATUS_PATH, params)
    moved = world.fake.post(world.base_url + GATHER_PATH, params, signature=elsewhere)
    assert [h.status_code for h in (forged, unsigned, tampered, moved)] == [403, 403, 403, 403]
    assert forged.text and "telephony-signature" in forged.text
    assert confirmation(world.platform, member).state == "calling"
    assert events(world.platform) == []


def test_unknown_call_id_is_refused(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    drawn(world)
    params = {"CallSid": "CA" + "0" * 32, "CallStatus": "no-answer", "AccountSid": world.fake.account_sid}
    for path in (CALL_STATUS_PATH, GATHER_PATH, "/telephony/twilio/voice"):
        hook = world.fake.post(world.base_url + path, params)
        assert hook.status_code == 403, path
    sms = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered", "AccountSid": world.fake.account_sid}
    assert world.fake.post(world.base_url + "/telephony/twilio/sms-status", sms).status_code == 403
    assert events(world.platform) == []


def test_replayed_webhooks_are_refused_and_change_nothing(
    twilio_world: TwilioWorld, clock: ManualClock
) -> None:
    world = twilio_world
    member = drawn(world)
    status = world.fake.complete(only_call(world), "no-answer")
    again = world.fake.replay(status)
    assert (status.status_code, again.status_code) == (200, 403)
    assert "telephony-replayed" in again.text
    world.platform.tasks.join()
    assert confirmation(world.platform, member).calls_on_number == 1
    clock.advance(timedelta(seconds=300))
    settle_down(world)

    voice, pressed = world.fake.answer(only_call(world), "2")
    prompts = attempts(world.platform, member)[-1].prompts
    assert world.fake.replay(voice).status_code == 403  # a replayed prompt request uses up no prompt
    assert attempts(world.platform, member)[-1].prompts == prompts
    replayed = world.fake.replay(pressed)
    assert replayed.status_code == 403
    world.platform.tasks.join()
    assert confirmation(world.platform, member).outcome == "declined"
    assert len(world.fake.calls) == 3  # the two calls to the member and one to the replacement
    sms = world.fake.inbound_sms(world.committee.cards[member].phones[0], "123456 1")
    assert world.fake.replay(sms).status_code == 403
    with world.platform.session_factory() as session:
        keys = session.scalar(select(func.count()).select_from(TelephonyEvent))
        distinct = session.scalar(select(func.count(func.distinct(TelephonyEvent.event_key))))
    assert keys == distinct


def test_twilio_refusing_the_call_moves_on(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    member = world.committee.members()[0]
    world.fake.refuse_numbers.add(world.committee.cards[member].phones[0])
    drawn(world)
    [refused] = attempts(world.platform, member)
    assert (refused.status, refused.provider_id) == ("failed", None)
    assert confirmation(world.platform, member).state == "retry_wait"


def test_malformed_webhooks_are_bad_requests_and_change_nothing(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    member = drawn(world)
    no_status = world.fake.post(world.base_url + CALL_STATUS_PATH, {"CallSid": only_call(world)})
    no_sender = world.fake.post(world.base_url + "/telephony/twilio/sms", {"MessageSid": "SM1", "Body": "1"})
    assert (no_status.status_code, no_sender.status_code) == (400, 400)
    assert "telephony-webhook-malformed" in no_status.text
    assert confirmation(world.platform, member).state == "calling"
    assert events(world.platform) == []


def test_an_sms_from_a_stranger_is_recorded_and_changes_nothing(twilio_world: TwilioWorld) -> None:
    world = twilio_world
    member = drawn(world)
    hook = world.fake.inbound_sms("+8613712345678", "123456 1")
    assert hook.status_code == 200
    assert [e.result for e in events(world.platform)] == ["unknown"]
    assert confirmation(world.platform, member).state == "calling"
