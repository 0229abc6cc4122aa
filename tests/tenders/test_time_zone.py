"""A tender that names no time zone is in the platform's ``Settings.default_time_zone``; its pages show
its times in its own stored zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.settings import Settings
from tendering.tenders.models import Tender
from tests.tenders.conftest import Parties
from tests.tenders.helpers import draft, published

ZONE = "Europe/Berlin"  # not the shipped default (Asia/Shanghai)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"default_time_zone": ZONE})


def stored(platform: Platform, tender_id: object) -> Tender:
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        session.expunge(tender)
        return tender


def test_a_tender_without_a_zone_takes_the_settings_zone(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    detail = draft(platform, clock, parties, timetable__evaluation_date="2030-02-01T09:30:00")
    assert detail.summary.time_zone == ZONE
    tender = stored(platform, detail.summary.id)
    assert tender.time_zone == ZONE
    assert tender.evaluation_date == datetime(2030, 2, 1, 8, 30, tzinfo=UTC)  # 09:30 in Berlin (CET)
    named = draft(platform, clock, parties, time_zone="Asia/Urumqi")
    assert named.summary.time_zone == "Asia/Urumqi"  # a zone the agency names wins


def test_the_tender_page_shows_times_in_the_tenders_zone(
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    tender_id = published(platform, clock, parties)
    deadline = stored(platform, tender_id).bid_deadline
    page = client.get(f"/announcements/{tender_id}", params={"lang": "en"}).text
    assert deadline.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M") in page
    assert deadline.astimezone(ZoneInfo("Asia/Shanghai")).strftime("%Y-%m-%d %H:%M") not in page
    listing = client.get("/announcements", params={"lang": "en"}).text
    assert deadline.astimezone(ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M") in listing
