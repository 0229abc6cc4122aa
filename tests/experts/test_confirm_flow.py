"""The confirmation state machine on the in-memory provider, through the task broker (Stub or Redis)."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from experts.confirmation import contact, start
from experts.notify_committee import CONFIRM_TASK, InMemoryCommittee
from experts.notify_events import (
    CONFIRMED,
    DUPLICATE,
    LATE,
    MALFORMED,
    UNKNOWN,
    WRONG_CODE,
    handle_event,
    sweep,
)
from experts.telephony import bind_provider
from experts.telephony.memory import InMemoryProvider
from experts.telephony.protocol import ProviderEvent
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.settings import Settings
from tendering.tasks import enqueue
from tests.experts.telephony.helpers import (
    EVALUATION_TIME,
    PLACE,
    TENDER_TITLE,
    attempts,
    committee_of,
    confirmation,
    confirmation_platform,
    events,
    log_entries,
    telephony_settings,
)


@pytest.fixture
def provider() -> InMemoryProvider:
    return InMemoryProvider()


@pytest.fixture
def committee() -> InMemoryCommittee:
    return committee_of(members=1, reserves=1)


@pytest.fixture
def confirming(
    settings: Settings, clock: ManualClock, provider: InMemoryProvider, committee: InMemoryCommittee
) -> Iterator[Platform]:
    with confirmation_platform(telephony_settings(settings), clock, provider, committee) as platform:
        yield platform


def drawn(platform: Platform, committee: InMemoryCommittee) -> uuid.UUID:
    """Enqueue ``experts.confirm`` for the first member as the draw does after commit; run the tasks."""
    member = committee.members()[0]
    with platform.transaction() as session:
        enqueue(session, CONFIRM_TASK, platform.clock, assignment_id=str(member))
    platform.tasks.join()
    return member


def settle_down(platform: Platform) -> None:
    """Apply the provider's events and due timers, and run the tasks they cause."""
    sweep(platform)
    platform.tasks.join()


def sms_code(body: str) -> str:
    found = re.search(r"(\d{6}) 1", body)
    assert found, body
    return found.group(1)


def test_keypress_1_confirms_and_the_call_says_only_time_and_place(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee
) -> None:
    member = drawn(confirming, committee)
    [call] = provider.calls
    assert call.to == committee.cards[member].phones[0]
    assert PLACE in call.prompt.text and "09:30" in call.prompt.text and "按1" in call.prompt.text
    assert TENDER_TITLE not in call.prompt.text
    assert call.prompt.language == "zh-CN"

    provider.press(call.call_id, "1")
    settle_down(confirming)

    row = confirmation(confirming, member)
    assert (row.state, row.outcome) == ("settled", "confirmed")
    assert committee.statuses[member] == "confirmed"
    assert len(provider.calls) == 1 and not provider.sms
    types = [entry["type"].rsplit(".", 1)[1] for entry in log_entries(confirming)]
    assert types == ["started", "call_placed", "keypress", "settled", "call_status"]
    public = json.dumps(log_entries(confirming), ensure_ascii=False)
    assert "+86" not in public and "专家" not in public and PLACE not in public


def test_english_expert_hears_english(
    settings: Settings, clock: ManualClock, provider: InMemoryProvider
) -> None:
    committee = InMemoryCommittee()
    from tests.experts.telephony.helpers import card

    member = committee.add(card(("+8613900000001",), locale="en")).assignment_id
    with confirmation_platform(telephony_settings(settings), clock, provider, committee) as platform:
        drawn(platform, committee)
        [call] = provider.calls
        assert call.prompt.language == "en-US"
        assert "Press 1 to confirm" in call.prompt.text and "12 January 2026 09:30" in call.prompt.text
        assert member in committee.reads


def test_decline_calls_the_replacement(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee
) -> None:
    member = drawn(confirming, committee)
    provider.press(provider.calls[0].call_id, "2")
    settle_down(confirming)

    assert confirmation(confirming, member).outcome == "declined"
    replacement = committee.results[member].replacement_id
    assert replacement is not None
    assert len(provider.calls) == 2
    assert provider.calls[1].to == committee.cards[replacement].phones[0]
    provider.press(provider.calls[1].call_id, "1")
    settle_down(confirming)
    assert confirmation(confirming, replacement).outcome == "confirmed"


def test_invalid_key_leaves_the_call_open(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee
) -> None:
    member = drawn(confirming, committee)
    call = provider.calls[0].call_id
    assert (
        handle_event(confirming, ProviderEvent("keypress", "memory", call, "k9", digits="9")) == "invalid-key"
    )
    assert confirmation(confirming, member).state == "calling"
    assert handle_event(confirming, ProviderEvent("keypress", "memory", call, "k1", digits="1")) == CONFIRMED


def test_no_answer_retries_after_the_spacing_then_calls_the_next_number(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    phones = committee.cards[member].phones
    provider.end_call(provider.calls[0].call_id, "no-answer")
    settle_down(confirming)
    assert confirmation(confirming, member).state == "retry_wait"
    assert len(provider.calls) == 1

    clock.advance(timedelta(seconds=299))
    settle_down(confirming)
    assert len(provider.calls) == 1
    clock.advance(timedelta(seconds=1))
    settle_down(confirming)
    assert [call.to for call in provider.calls] == [phones[0], phones[0]]

    provider.end_call(provider.calls[1].call_id, "busy")
    settle_down(confirming)
    assert [call.to for call in provider.calls] == [phones[0], phones[0], phones[1]]
    provider.press(provider.calls[2].call_id, "1")
    settle_down(confirming)
    assert confirmation(confirming, member).outcome == "confirmed"
    assert [a.status for a in attempts(confirming, member)] == ["no-answer", "busy", "completed"]


def _fail_every_call(platform: Platform, provider: InMemoryProvider, clock: ManualClock) -> None:
    for status in ("no-answer", "busy", "failed", "no-answer"):
        provider.end_call(provider.calls[-1].call_id, status)
        settle_down(platform)
        clock.advance(timedelta(seconds=300))
        settle_down(platform)


def test_all_numbers_fail_then_the_sms_reply_confirms(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    _fail_every_call(confirming, provider, clock)
    assert len(provider.calls) == 4
    [sms] = provider.sms
    assert sms.to == committee.cards[member].phones[0]
    assert PLACE in sms.body and TENDER_TITLE not in sms.body
    code = sms_code(sms.body)
    row = confirmation(confirming, member)
    assert row.state == "sms_wait" and row.code_hash and code not in row.code_hash
    stored = json.dumps([a.content for a in attempts(confirming, member)], ensure_ascii=False)
    assert code not in stored  # only the hash of the code is kept

    provider.sms_status(sms.message_id, "delivered")
    provider.reply(sms.to, f"{code} 1")
    settle_down(confirming)
    assert confirmation(confirming, member).outcome == "confirmed"
    replies = [e for e in log_entries(confirming) if e["type"].endswith("sms_reply")]
    assert [e["data"]["result"] for e in replies] == ["confirmed"]
    assert code not in json.dumps(log_entries(confirming))


def test_sms_reply_accepts_full_width_digits_and_decline(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    _fail_every_call(confirming, provider, clock)
    code = sms_code(provider.sms[0].body)
    full_width = "".join(chr(ord(d) + 0xFEE0) for d in code)
    provider.reply(provider.sms[0].to, f"{full_width}，２")
    settle_down(confirming)
    assert confirmation(confirming, member).outcome == "declined"


def test_wrong_code_changes_nothing_and_too_many_void_the_code(
    settings: Settings, clock: ManualClock, provider: InMemoryProvider, committee: InMemoryCommittee
) -> None:
    with confirmation_platform(
        telephony_settings(settings, max_wrong_codes=2), clock, provider, committee
    ) as platform:
        member = drawn(platform, committee)
        _fail_every_call(platform, provider, clock)
        sms = provider.sms[0]
        code = sms_code(sms.body)
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        assert handle_event(platform, _inbound(provider, sms.to, f"{wrong} 1")) == WRONG_CODE
        assert handle_event(platform, _inbound(provider, sms.to, "yes please")) == MALFORMED
        assert confirmation(platform, member).state == "sms_wait"
        assert handle_event(platform, _inbound(provider, sms.to, f"{wrong} 2")) == WRONG_CODE
        # two wrong codes: the right one is no longer accepted
        assert handle_event(platform, _inbound(provider, sms.to, f"{code} 1")) == WRONG_CODE
        assert confirmation(platform, member).state == "sms_wait"
        assert handle_event(platform, _inbound(provider, "+8613999999999", f"{code} 1")) == UNKNOWN


def _inbound(provider: InMemoryProvider, number: str, body: str) -> ProviderEvent:
    provider.reply(number, body)
    [event] = provider.poll(EVALUATION_TIME)  # the in-memory provider returns every event it holds
    return event


def test_sms_timeout_settles_no_answer_and_a_late_reply_changes_nothing(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    _fail_every_call(confirming, provider, clock)
    code = sms_code(provider.sms[0].body)
    clock.advance(timedelta(seconds=3599 - 300))
    settle_down(confirming)
    assert confirmation(confirming, member).state == "sms_wait"
    clock.advance(timedelta(seconds=1))
    settle_down(confirming)
    assert confirmation(confirming, member).outcome == "no_answer"
    replacement = committee.results[member].replacement_id
    assert replacement is not None and provider.calls[-1].to == committee.cards[replacement].phones[0]

    assert handle_event(confirming, _inbound(provider, provider.sms[0].to, f"{code} 1")) == LATE
    assert confirmation(confirming, member).outcome == "no_answer"
    assert committee.statuses[member] == "no_answer"


def test_repeated_events_and_redelivered_tasks_change_nothing(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee
) -> None:
    member = drawn(confirming, committee)
    call = provider.calls[0].call_id
    no_answer = ProviderEvent("call_status", "memory", call, f"{call}:status:no-answer", status="no-answer")
    assert handle_event(confirming, no_answer) == "recorded"
    assert handle_event(confirming, no_answer) == DUPLICATE
    assert confirmation(confirming, member).calls_on_number == 1
    assert start(confirming, member) is False  # experts.confirm delivered again
    contact(confirming, member, 0)  # an old contact step delivered again
    platform_events = [e.event_key for e in events(confirming)]
    assert platform_events.count(no_answer.event_key) == 1
    assert len(provider.calls) == 1


def test_pool_exhausted_raises_an_alert(
    settings: Settings, clock: ManualClock, provider: InMemoryProvider
) -> None:
    committee = committee_of(members=1, reserves=0)
    with confirmation_platform(telephony_settings(settings), clock, provider, committee) as platform:
        member = drawn(platform, committee)
        provider.press(provider.calls[0].call_id, "2")
        settle_down(platform)
        assert committee.alerts == [member]
        assert committee.results[member].pool_short
        types = [e["type"] for e in log_entries(platform)]
        assert (
            types.index("experts.confirmation.pool_short") == types.index("experts.confirmation.settled") + 1
        )


def test_a_refused_call_counts_as_failed_and_a_lost_status_times_out(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = committee.members()[0]
    provider.unreachable.add(committee.cards[member].phones[0])
    drawn(confirming, committee)
    [refused] = attempts(confirming, member)
    assert refused.status == "failed" and refused.provider_id is None
    assert confirmation(confirming, member).state == "retry_wait"

    provider.unreachable.clear()
    clock.advance(timedelta(seconds=300))
    settle_down(confirming)
    assert len(provider.calls) == 1  # the retry went through
    # no final status ever arrives: after ring timeout + guard the call counts as failed
    clock.advance(timedelta(seconds=30 + 600))
    settle_down(confirming)
    assert [a.status for a in attempts(confirming, member)][:2] == ["failed", "failed"]
    assert provider.calls[-1].to == committee.cards[member].phones[1]


def test_the_maintenance_round_fires_due_timers(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    provider.end_call(provider.calls[0].call_id, "no-answer")
    confirming.maintenance()  # sends experts.sweep, which applies the provider's events
    confirming.tasks.join()
    assert confirmation(confirming, member).state == "retry_wait"
    clock.advance(timedelta(seconds=300))
    confirming.maintenance()
    confirming.tasks.join()
    assert len(provider.calls) == 2 and confirmation(confirming, member).state == "calling"


def test_an_undeliverable_sms_goes_to_the_next_number_with_a_new_code(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    phones = committee.cards[member].phones
    _fail_every_call(confirming, provider, clock)
    first = provider.sms[0]
    provider.sms_status(first.message_id, "undelivered")
    settle_down(confirming)
    assert [sms.to for sms in provider.sms] == [phones[0], phones[1]]
    second = provider.sms[1]
    assert sms_code(first.body) != sms_code(second.body)
    # the first code is void; the second settles
    assert handle_event(confirming, _inbound(provider, phones[1], f"{sms_code(first.body)} 1")) == WRONG_CODE
    assert handle_event(confirming, _inbound(provider, phones[1], f"{sms_code(second.body)} 2")) == "declined"
    assert committee.statuses[member] == "declined"


def test_no_deliverable_number_settles_no_answer_at_once(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    phones = committee.cards[member].phones
    _fail_every_call(confirming, provider, clock)
    provider.unreachable.add(phones[1])  # the provider refuses the second SMS outright
    provider.sms_status(provider.sms[0].message_id, "failed")
    settle_down(confirming)
    row = confirmation(confirming, member)
    assert (row.state, row.outcome) == ("settled", "no_answer")
    assert [a.status for a in attempts(confirming, member) if a.channel == "sms"] == ["failed", "failed"]
    assert committee.results[member].replacement_id is not None


def test_twilio_webhooks_are_not_served_without_twilio(platform: Platform) -> None:
    from litestar.testing import TestClient

    from api.app import create_app

    bind_provider(platform, InMemoryProvider())
    with TestClient(create_app(platform=platform, configure_logs=False, start_worker=False)) as client:
        response = client.post("/telephony/twilio/call-status", data={"CallSid": "CA1", "CallStatus": "busy"})
    assert response.status_code == 404
    assert response.json()["code"] == "telephony-provider"


def test_an_assignment_settled_by_the_draw_is_not_called_again(
    confirming: Platform, provider: InMemoryProvider, committee: InMemoryCommittee, clock: ManualClock
) -> None:
    member = drawn(confirming, committee)
    provider.end_call(provider.calls[0].call_id, "no-answer")
    settle_down(confirming)
    committee.statuses[member] = "avoided"  # the session start found a conflict and replaced the expert
    clock.advance(timedelta(seconds=300))
    settle_down(confirming)
    assert len(provider.calls) == 1
    row = confirmation(confirming, member)
    assert (row.state, row.outcome) == ("settled", "avoided")
    assert log_entries(confirming)[-1]["type"] == "experts.confirmation.closed"
