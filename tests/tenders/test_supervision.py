"""Electronic supervision: yellow before and red after a step's time limit, by moving the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.tenders import reading, service
from tendering.tenders.notices import ask_question
from tendering.tenders.schedule import tick
from tendering.tenders.supervision import check_time_limits
from tests.tenders.conftest import Parties, log_entries
from tests.tenders.helpers import agency, authority, draft, fetch, published, tenderer

pytestmark = pytest.mark.usefixtures("parties")


def open_levels(platform: Platform, **filters: object) -> list[tuple[str, str]]:
    return [(w.step, w.level) for w in reading.warnings(platform, **filters)]  # type: ignore[arg-type]


def test_review_yellow_then_red_then_resolved(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    clock.advance(timedelta(hours=47, minutes=59))
    assert tick(platform).yellow == 0
    clock.advance(timedelta(minutes=1))  # 24 hours before the 72-hour review limit
    assert (tick(platform).yellow, tick(platform).yellow) == (1, 0)  # raised once, however often it runs
    assert open_levels(platform) == [("review", "yellow")]
    (warning,) = reading.warnings(platform, tender_id=tender_id)
    assert warning.responsible == "authority" and warning.agency_id == parties.agency
    clock.advance(timedelta(hours=24))
    result = tick(platform)
    assert (result.yellow, result.red) == (0, 1)
    assert open_levels(platform) == [("review", "red")]  # the yellow one was escalated
    history = reading.warnings(platform, include_resolved=True)
    assert sorted((w.level, w.resolution) for w in history) == [("red", None), ("yellow", "escalated")]
    entries = [e for e in log_entries(platform) if e["type"] == "supervision.warning"]
    assert [(e["data"]["level"], e["data"]["step"], e["tender"]) for e in entries] == [
        ("yellow", "review", str(tender_id)),
        ("red", "review", str(tender_id)),
    ]
    assert entries[0]["actor"]["role"] == "system"
    service.reject(platform, tender_id, ["时间安排已不可行"], actor=authority(parties))
    assert open_levels(platform, tender_id=tender_id) == []
    resolved = reading.warnings(platform, tender_id=tender_id, include_resolved=True)
    assert {w.resolution for w in resolved} == {"escalated", "step-done"}


def test_warnings_per_agency_and_per_tender(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    first = draft(platform, clock, parties).summary.id
    second = draft(platform, clock, parties).summary.id
    service.submit(platform, first, actor=agency(parties))
    service.submit(platform, second, actor=agency(parties))
    clock.advance(timedelta(hours=73))
    assert check_time_limits(platform).red == 2
    assert reading.warning_counts(platform) == [{"agency_id": str(parties.agency), "yellow": 0, "red": 2}]
    assert len(reading.warnings(platform, agency_id=parties.agency)) == 2
    assert reading.warnings(platform, agency_id=parties.other_agency) == []
    assert open_levels(platform, tender_id=second) == [("review", "red")]
    assert open_levels(platform, level="yellow") == []


def test_a_jurisdiction_shortens_the_review_limit(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties, region="350203").summary.id  # Xiamen: 48 hours
    service.submit(platform, tender_id, actor=agency(parties))
    clock.advance(timedelta(hours=48))
    assert check_time_limits(platform).red == 1


def test_a_publication_that_does_not_happen_turns_red(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    service.approve(platform, tender_id, actor=authority(parties))
    clock.advance(timedelta(hours=1))  # publication time: the scheduler has not run yet
    assert check_time_limits(platform).yellow == 1
    clock.advance(timedelta(hours=1))
    assert check_time_limits(platform).red == 1
    assert open_levels(platform) == [("publication", "red")]
    assert tick(platform).published == (tender_id,)
    assert open_levels(platform) == []


def test_an_unanswered_question_warns_without_naming_the_tender_in_the_log(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties, documents={"a.pdf": b"a"})
    (document,) = reading.public_detail(platform, tender_id).documents
    fetch(platform, parties, tender_id, document.id)
    ask_question(platform, tender_id, "是否允许联合体投标？", actor=tenderer(parties))
    clock.advance(timedelta(hours=72))
    assert check_time_limits(platform).red == 1
    (warning,) = reading.warnings(platform)
    assert (warning.step, warning.responsible, warning.tender_id) == (
        "clarification_answer",
        "agency",
        tender_id,
    )
    entry = log_entries(platform)[-1]
    assert entry["type"] == "supervision.warning" and entry["tender"] is None


def test_cancelling_a_tender_stops_its_supervision(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    clock.advance(timedelta(hours=50))
    assert check_time_limits(platform).yellow == 1
    service.cancel(platform, tender_id, "项目取消", actor=agency(parties))
    assert open_levels(platform) == []
    clock.advance(timedelta(days=10))
    assert check_time_limits(platform).red == 0
