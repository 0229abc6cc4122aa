"""Concurrent decisions on one tender: exactly one wins, the others get a Conflict; sweeps act once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from tendering.clock import ManualClock
from tendering.errors import Conflict
from tendering.platform import Platform
from tendering.tenders import reading, service
from tendering.tenders.supervision import check_time_limits
from tests.tenders.conftest import Parties, log_types
from tests.tenders.helpers import agency, authority, draft

pytestmark = pytest.mark.usefixtures("parties")


def race(workers: int, attempt: Callable[[int], str]) -> list[str]:
    barrier = threading.Barrier(workers)

    def run(index: int) -> str:
        barrier.wait()
        return attempt(index)

    with ThreadPoolExecutor(workers) as pool:
        return sorted(pool.map(run, range(workers)))


def test_one_review_decision_wins(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))

    def decide(index: int) -> str:
        try:
            if index % 2:
                service.approve(platform, tender_id, actor=authority(parties))
            else:
                service.reject(platform, tender_id, ["不符合要求"], actor=authority(parties))
        except Conflict as exc:
            assert exc.code in ("illegal-transition", "tender-changed")
            return "conflict"
        return "won"

    assert race(6, decide) == ["conflict"] * 5 + ["won"]
    decisions = [t for t in log_types(platform) if t in ("tender.approved", "tender.rejected")]
    assert len(decisions) == 1


def test_concurrent_sweeps_publish_and_warn_once(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    due = draft(platform, clock, parties).summary.id
    service.submit(platform, due, actor=agency(parties))
    service.approve(platform, due, actor=authority(parties))
    late = draft(platform, clock, parties).summary.id
    service.submit(platform, late, actor=agency(parties))
    clock.advance(timedelta(hours=73))  # publication due for the first, review overdue for the second

    def sweep(_index: int) -> str:
        published = service.publish_due(platform)
        raised = check_time_limits(platform)
        return f"{len(published)}/{raised.red}"

    outcomes = race(4, sweep)
    assert sum(int(o.split("/")[0]) for o in outcomes) == 1
    assert log_types(platform).count("tender.published") == 1
    red = [w for w in reading.warnings(platform, include_resolved=True) if w.level == "red"]
    assert [(w.step, w.tender_id) for w in red if w.resolved_at is None] == [("review", late)]
    assert len(red) == len({(w.step, w.tender_id) for w in red})  # never raised twice
