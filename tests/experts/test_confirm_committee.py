"""The confirmation against the real draw (experts.committee): a drawn committee is called and settled."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from experts.notify_events import sweep
from experts.pool_models import Expert, ExpertAlert, ExpertAssignment, ExpertListRead
from experts.telephony import bind_provider
from experts.telephony.memory import InMemoryProvider
from tendering.platform import Platform
from tests.experts.pool_helpers import Drawn, assignments
from tests.experts.telephony.helpers import confirmation, join_until, log_entries


def _phones(platform: Platform, assignment_id: uuid.UUID) -> list[str]:
    with platform.session_factory() as session:
        assignment = session.get(ExpertAssignment, assignment_id)
        assert assignment is not None
        expert = session.get(Expert, assignment.expert_id)
        assert expert is not None
        return list(expert.phones)


def _status(platform: Platform, assignment_id: uuid.UUID) -> str:
    with platform.session_factory() as session:
        assignment = session.get(ExpertAssignment, assignment_id)
        assert assignment is not None
        return assignment.status


def _run(platform: Platform) -> None:
    sweep(platform)
    platform.tasks.join()


def test_a_drawn_committee_is_called_confirmed_declined_and_replaced(
    platform: Platform, drawn: Drawn
) -> None:
    provider = InMemoryProvider()
    bind_provider(platform, provider)
    platform.tasks.start_worker()
    platform.tasks.relay()  # the draw's experts.confirm messages (sent at commit) run on this worker
    members = [a for a in assignments(platform, drawn.request_id) if a.role == "member"]
    join_until(platform, lambda: len(provider.calls) == len(members))

    assert sorted(call.to for call in provider.calls) == sorted(_phones(platform, m.id)[0] for m in members)
    by_number = {call.to: call.call_id for call in provider.calls}
    with platform.session_factory() as session:
        reads = {r.assignment_id for r in session.scalars(select(ExpertListRead))}
    assert {m.id for m in members} <= reads  # every card read by the notification worker is recorded

    first, second = members[0], members[1]
    provider.press(by_number[_phones(platform, first.id)[0]], "1")
    provider.press(by_number[_phones(platform, second.id)[0]], "2")
    _run(platform)
    join_until(platform, lambda: len(provider.calls) == len(members) + 1)
    assert _status(platform, first.id) == "confirmed"
    assert _status(platform, second.id) == "declined"
    assert confirmation(platform, second.id).outcome == "declined"

    [settled] = [
        e
        for e in log_entries(platform)
        if e["type"].endswith(".settled") and e["data"]["outcome"] == "declined"
    ]
    replacement = uuid.UUID(settled["data"]["replacement"])
    assert _status(platform, replacement) == "pending"
    assert len(provider.calls) == 5
    assert provider.calls[-1].to == _phones(platform, replacement)[0]
    public = str(log_entries(platform, ""))
    for member in members:
        assert _phones(platform, member.id)[0] not in public


def test_declines_beyond_the_reserves_raise_the_pool_short_alert(platform: Platform, drawn: Drawn) -> None:
    provider = InMemoryProvider()
    bind_provider(platform, provider)
    platform.tasks.start_worker()
    platform.tasks.relay()
    join_until(platform, lambda: len(provider.calls) == 4)
    answered: set[str] = set()
    for _ in range(10):  # everyone declines, the reserves too
        for call in list(provider.calls):
            if call.call_id not in answered:
                answered.add(call.call_id)
                provider.press(call.call_id, "2")
        _run(platform)

    def short() -> bool:
        with platform.session_factory() as session:
            return (
                session.scalar(select(ExpertAlert.id).where(ExpertAlert.request_id == drawn.request_id))
                is not None
            )

    join_until(platform, short)
    with platform.session_factory() as session:
        alerts = list(session.scalars(select(ExpertAlert).where(ExpertAlert.request_id == drawn.request_id)))
    assert alerts and {alert.kind for alert in alerts} == {"pool_short"}
    assert any(e["type"] == "experts.confirmation.pool_short" for e in log_entries(platform))
