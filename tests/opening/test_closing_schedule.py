"""When the closing runs: the maintenance round closes a tender as soon as its deadline and grace margin
have passed, a custodian's release closes it without waiting for that round, and the bids freeze at
the deadline instant whether or not the closing has run yet (``docs/opening.md`` section 1)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.errors import Conflict, TooLate
from tendering.opening.models import OpeningSession
from tendering.platform import Platform
from tests.opening.conftest import Bidding
from tests.opening.helpers import deadline_of, release, sealed_bid, submit, withdraw
from tests.opening.test_closing import entries
from tests.tenders.helpers import state_of


def grace(platform: Platform) -> timedelta:
    return timedelta(seconds=platform.settings.opening.closing_grace_seconds)


def test_the_maintenance_round_closes_the_tender_at_the_deadline_plus_grace_and_only_once(
    platform: Platform, clock: ManualClock, bidding: Bidding
) -> None:
    due = deadline_of(platform, bidding.tender_id) + grace(platform)
    clock.advance(due - clock.now() - timedelta(microseconds=1))
    platform.maintenance()
    assert state_of(platform, bidding.tender_id) == "published"  # one microsecond early
    clock.advance(timedelta(microseconds=1))
    platform.maintenance()
    assert state_of(platform, bidding.tender_id) == "closed"
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, bidding.tender_id)
        assert opening is not None and opening.closed_at == due
    platform.maintenance()
    assert len(entries(platform, str(bidding.tender_id), "tender.closed")) == 1


def test_bids_freeze_at_the_deadline_instant_before_any_closing_ran(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    clock.advance(deadline_of(platform, bidding.tender_id) - clock.now())
    late = sealed_bid(test_pki, tmp_path, bidding.keyed, "tenderer-1", total="1.00", at=clock.now())
    with pytest.raises((TooLate, Conflict)):
        submit(platform, bidding.tender_id, bidding.bidders["tenderer-1"], "tenderer-1", test_pki, late)
    with pytest.raises((TooLate, Conflict)):
        withdraw(
            platform,
            bidding.tender_id,
            bidding.bidders["tenderer-2"],
            "tenderer-2",
            test_pki,
            bidding.bid_id(platform, "tenderer-2"),
        )
    assert state_of(platform, bidding.tender_id) == "published"  # not closed yet, and yet frozen
    clock.advance(grace(platform))
    platform.maintenance()
    (closed,) = entries(platform, str(bidding.tender_id), "tender.closed")
    assert closed["data"]["envelopes"] == 3  # type: ignore[index]  # the late bid is not counted


def test_a_release_after_the_deadline_closes_the_tender_without_waiting_for_the_round(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    clock.advance(deadline_of(platform, bidding.tender_id) + grace(platform) - clock.now())
    assert state_of(platform, bidding.tender_id) == "published"  # no maintenance round has run
    result = release(platform, test_pki, bidding.keyed, bidding.parties.custodians, 1)
    assert result.created
    assert state_of(platform, bidding.tender_id) == "closed"
    assert len(entries(platform, str(bidding.tender_id), "tender.closed")) == 1
