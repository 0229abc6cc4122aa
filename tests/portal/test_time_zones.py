"""Pages show a tender's times in its own stored zone, and in ``Settings.default_time_zone`` when the
view names none."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from zoneinfo import ZoneInfo

import pytest
from litestar.testing import TestClient

from tendering.platform import Platform
from tendering.search.memory import InMemoryPublicTenders
from tendering.settings import Settings
from tests.portal.samples import sample_tender

DEFAULT = "Europe/Berlin"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"default_time_zone": DEFAULT})


@pytest.fixture
def zoned(platform: Platform) -> Iterator[TestClient]:  # type: ignore[type-arg]
    from api.app import create_app

    unzoned = replace(sample_tender(amended=False, title="未标时区的公告"), time_zone=None)
    urumqi = replace(sample_tender(amended=False, title="乌鲁木齐的公告"), time_zone="Asia/Urumqi")
    app = create_app(platform=platform, configure_logs=False)
    app.state.public_tenders = InMemoryPublicTenders([unzoned, urumqi])
    app.state.zoned = {"unzoned": unzoned, "urumqi": urumqi}
    with TestClient(app) as client:
        yield client


def shown(moment: object, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")  # type: ignore[attr-defined]


def test_each_tender_in_its_zone_else_the_settings_zone(zoned: TestClient) -> None:  # type: ignore[type-arg]
    views = zoned.app.state.zoned
    unzoned, urumqi = views["unzoned"], views["urumqi"]
    deadline = unzoned.timetable.bid_deadline
    page = zoned.get(f"/announcements/{unzoned.id}", params={"lang": "en"}).text
    assert shown(deadline, DEFAULT) in page and DEFAULT in page
    page = zoned.get(f"/announcements/{urumqi.id}", params={"lang": "en"}).text
    assert shown(urumqi.timetable.bid_deadline, "Asia/Urumqi") in page and "Asia/Urumqi" in page
    assert shown(urumqi.timetable.bid_deadline, DEFAULT) not in page
    listing = zoned.get("/announcements", params={"lang": "en"}).text
    assert shown(deadline, DEFAULT) in listing
    assert shown(urumqi.timetable.bid_deadline, "Asia/Urumqi") in listing
