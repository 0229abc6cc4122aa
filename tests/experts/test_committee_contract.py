"""The contract the confirmation builds on: assignments, contact cards and settling."""

from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import select

from experts.committee import CONFIRM_TASK, ContactCard, SettleResult, contact_card, settle
from experts.pool_models import Expert, ExpertAlert, ExpertListRead
from tendering.errors import Forbidden
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tasks import OutboxMessage
from tendering.translog.models import LogEntry
from tests.experts.pool_helpers import Drawn, assignments, system


def _confirm_messages(platform: Platform) -> list[str]:
    with platform.session_factory() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.actor == CONFIRM_TASK))
        return [str(row.payload["assignment_id"]) for row in rows]


def _log_text(platform: Platform) -> str:
    platform.translog.sequence()
    with platform.session_factory() as session:
        return "\n".join(bytes(e).decode() for e in session.scalars(select(LogEntry.entry)))


def test_a_draw_makes_pending_members_and_reserves_and_enqueues_the_members(
    platform: Platform, drawn: Drawn
) -> None:
    rows = assignments(platform, drawn.request_id)
    assert [(a.role, a.rank, a.status) for a in rows] == [("member", r, "pending") for r in range(4)] + [
        ("reserve", 4, "pending"),
        ("reserve", 5, "pending"),
    ]
    assert sorted(_confirm_messages(platform)) == sorted(str(a.id) for a in rows if a.role == "member")


def test_contact_card_opens_the_sealed_card_and_logs_the_read_without_the_name(
    platform: Platform, drawn: Drawn
) -> None:
    first = assignments(platform, drawn.request_id)[0]
    with platform.transaction() as session:
        card = contact_card(session, platform, first.id, reader=system())
        expert = session.get(Expert, first.expert_id)
        assert expert is not None
        name, phones = expert.name, tuple(expert.phones)
    assert isinstance(card, ContactCard)
    assert (card.expert_name, card.phones) == (name, phones)
    assert card.evaluation_time == drawn.evaluation_time
    assert card.time_zone == "Asia/Shanghai"
    assert card.locale == "zh-CN"
    with platform.session_factory() as session:
        reads = list(session.scalars(select(ExpertListRead)))
    assert [(r.assignment_id, r.reader_role, r.purpose) for r in reads] == [
        (first.id, "system", "notification")
    ]
    log = _log_text(platform)
    assert "experts.list_read" in log
    assert name not in log
    assert phones[0] not in log


def test_only_the_notification_workers_read_cards(platform: Platform, drawn: Drawn) -> None:
    first = assignments(platform, drawn.request_id)[0]
    for role in ("agency", "authority", "tenderer", "admin"):
        with platform.transaction() as session, pytest.raises(Forbidden):
            contact_card(session, platform, first.id, reader=Actor(uuid.uuid4(), role))


def test_settle_confirmed_is_idempotent(platform: Platform, drawn: Drawn) -> None:
    first = assignments(platform, drawn.request_id)[0]
    with platform.transaction() as session:
        result = settle(session, platform, first.id, "confirmed", actor=system(), evidence={"digits": "1"})
    assert result == SettleResult(first.id, "confirmed", None, pool_short=False)
    with platform.transaction() as session:
        again = settle(session, platform, first.id, "declined", actor=system(), evidence={})
    assert again == result


def test_a_decline_promotes_the_first_reserve_and_enqueues_it(platform: Platform, drawn: Drawn) -> None:
    rows = assignments(platform, drawn.request_id)
    reserve = rows[4]
    with platform.transaction() as session:
        result = settle(session, platform, rows[0].id, "declined", actor=system(), evidence={"sms": "2"})
    assert result == SettleResult(rows[0].id, "declined", reserve.id, pool_short=False)
    after = {a.id: a for a in assignments(platform, drawn.request_id)}
    assert (after[reserve.id].role, after[reserve.id].status) == ("member", "pending")
    assert _confirm_messages(platform).count(str(reserve.id)) == 1


def test_when_reserves_run_out_the_next_in_order_is_taken_then_pool_short(
    platform: Platform, drawn: Drawn
) -> None:
    replacements: list[uuid.UUID | None] = []
    shorts: list[bool] = []
    pending = [a.id for a in assignments(platform, drawn.request_id) if a.role == "member"]
    # 12 experts: 4 members + 2 reserves drawn, 6 more in the order; decline until the order runs out.
    while pending:
        current = pending.pop(0)
        with platform.transaction() as session:
            result = settle(session, platform, current, "no_answer", actor=system(), evidence={})
        replacements.append(result.replacement_id)
        shorts.append(result.pool_short)
        if result.replacement_id is not None:
            pending.append(result.replacement_id)
    assert sum(r is not None for r in replacements) == 8  # 2 reserves + 6 further experts
    assert shorts.count(True) == 4
    ranks = sorted(a.rank for a in assignments(platform, drawn.request_id))
    assert ranks == list(range(12))
    with platform.session_factory() as session:
        alerts = list(session.scalars(select(ExpertAlert)))
    assert [(a.kind, a.specialty) for a in alerts] == [("pool_short", "A0101")]
    entries = [json.loads(line) for line in _log_text(platform).splitlines()]
    assert sum(e["type"] == "experts.pool_short" for e in entries) == 1


def test_a_reserve_that_declines_promotes_nobody(platform: Platform, drawn: Drawn) -> None:
    rows = assignments(platform, drawn.request_id)
    with platform.transaction() as session:
        result = settle(session, platform, rows[4].id, "declined", actor=system(), evidence={})
    assert result == SettleResult(rows[4].id, "declined", None, pool_short=False)
    after = {a.id: (a.role, a.status) for a in assignments(platform, drawn.request_id)}
    assert after[rows[5].id] == ("reserve", "pending")
    assert len(after) == 6
