"""Shared helpers of the confirmation tests: a committee in memory, a platform with a provider, log reads."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

import experts.tasks  # noqa: F401 - registers the confirmation tasks before any platform binds them
from experts.confirmation_models import ContactAttempt, ExpertConfirmation, TelephonyEvent
from experts.notify_committee import InMemoryCommittee, MemoryCard, bind_committee
from experts.telephony import TelephonyProvider, bind_provider
from tendering.clock import ManualClock
from tendering.platform import Platform, build_platform
from tendering.settings import Settings
from tendering.telephony_settings import TelephonySettings
from tendering.translog.models import LogEntry

EVALUATION_TIME = datetime(2026, 1, 12, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
PLACE = "市公共资源交易中心三楼评标室2"
TENDER_TITLE = "滨江路排水管网改造工程"  # never to be spoken or sent

#: Test timing: two calls per number, a 5 minute spacing, an hour for the SMS reply.
FAST = {
    "provider": "memory",
    "ring_timeout_seconds": 30,
    "attempts_per_number": 2,
    "retry_spacing_seconds": 300,
    "sms_reply_timeout_seconds": 3600,
    "code_ttl_seconds": 3600,
}


def card(phones: tuple[str, ...], *, locale: str = "zh-CN", name: str = "张三") -> MemoryCard:
    """A drawn expert's contact card."""
    return MemoryCard(uuid.uuid4(), name, phones, EVALUATION_TIME, PLACE, "Asia/Shanghai", locale)


def committee_of(members: int, reserves: int, phones_each: int = 2) -> InMemoryCommittee:
    """Members and reserves with distinct numbers (+86 138 ... ), in the draw's order."""
    committee = InMemoryCommittee()
    serial = 0
    for index in range(members + reserves):
        numbers = []
        for _ in range(phones_each):
            serial += 1
            numbers.append(f"+86138{serial:08d}")
        committee.add(card(tuple(numbers), name=f"专家{index}"), reserve=index >= members)
    return committee


def telephony_settings(settings: Settings, **overrides: Any) -> Settings:
    """``settings`` with the test telephony timing (and ``overrides``)."""
    return settings.model_copy(update={"telephony": TelephonySettings(**{**FAST, **overrides})})


@contextmanager
def confirmation_platform(
    settings: Settings, clock: ManualClock, provider: TelephonyProvider, committee: InMemoryCommittee
) -> Iterator[Platform]:
    """A platform with ``provider`` and ``committee`` bound and a worker running."""
    platform = build_platform(settings, clock=clock)
    bind_provider(platform, provider)
    bind_committee(platform, committee)
    platform.tasks.start_worker(threads=2)
    try:
        yield platform
    finally:
        platform.close()


def confirmation(platform: Platform, assignment_id: uuid.UUID) -> ExpertConfirmation:
    """The confirmation row of an assignment."""
    with platform.session_factory() as session:
        row = session.get(ExpertConfirmation, assignment_id)
        assert row is not None, f"no confirmation for {assignment_id}"
        session.expunge(row)
        return row


def attempts(platform: Platform, assignment_id: uuid.UUID) -> list[ContactAttempt]:
    """Every call and SMS to an assignment's expert, in order."""
    with platform.session_factory() as session:
        rows = list(
            session.scalars(
                select(ContactAttempt)
                .where(ContactAttempt.assignment_id == assignment_id)
                .order_by(ContactAttempt.step)
            )
        )
        session.expunge_all()
        return rows


def events(platform: Platform) -> list[TelephonyEvent]:
    """Every provider event recorded."""
    with platform.session_factory() as session:
        rows = list(session.scalars(select(TelephonyEvent).order_by(TelephonyEvent.id)))
        session.expunge_all()
        return rows


def log_entries(platform: Platform, prefix: str = "experts.confirmation.") -> list[dict[str, Any]]:
    """The public log entries whose type starts with ``prefix`` (after sequencing)."""
    platform.translog.sequence()
    with platform.session_factory() as session:
        entries = [
            json.loads(row) for row in session.scalars(select(LogEntry.entry).order_by(LogEntry.leaf_index))
        ]
    return [entry for entry in entries if str(entry["type"]).startswith(prefix)]


def join_until(platform: Platform, done: Callable[[], bool], rounds: int = 100) -> None:
    """Run the workers until ``done()``: a Redis worker may still hold a fetched message after a join."""
    for _ in range(rounds):
        platform.tasks.join()
        if done():
            return
    raise AssertionError("the tasks did not get there")
