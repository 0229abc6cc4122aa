"""Incremental OCDS crawls: every change of a tender's public view moves it in the export's order.

``tenders.public_changed_at`` is set by the publication, by notices (amendments, clarifications,
cancellation), by workflow steps of a published tender (failure, closing) and by the opening record's
publication; the bulk export pages on ``(public_changed_at, id)``, so ``since`` = the last harvest finds
each of those changes.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name and then requested as parameters

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from litestar.testing import TestClient

from tendering.clock import ManualClock
from tendering.ocds.schemas import validate
from tendering.platform import Platform
from tendering.tenders import service
from tendering.tenders.models import Tender
from tendering.tenders.notices import AmendmentSpec, amend
from tests.opening.hall_fixtures import (  # noqa: F401 - fixtures
    HallTender,
    dev,
    hall_tender,
    parties,
    test_pki,
)
from tests.opening.test_record import finished_opening, publish
from tests.tenders.conftest import Parties
from tests.tenders.helpers import agency, draft, published


def changed_at(platform: Platform, tender_id: uuid.UUID) -> datetime | None:
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        return tender.public_changed_at


def crawl(client: TestClient, since: datetime | None = None) -> list[dict[str, Any]]:  # type: ignore[type-arg]
    """Every release of ``/ocds/releases?since=…`` through all its pages, each page schema-valid."""
    url: str | None = "/ocds/releases?limit=1" + (f"&since={since.isoformat()}" if since else "")
    releases: list[dict[str, Any]] = []
    while url:
        response = client.get(url.replace("+", "%2B"))
        if response.status_code == 404 and response.json()["code"] == "no-releases":
            return releases  # nothing changed since
        assert response.status_code == 200, response.text
        package = response.json()
        verdict = validate(package, "release-package")
        assert verdict.ok, verdict.errors
        releases += package["releases"]
        next_url = package.get("links", {}).get("next")
        url = f"{urlsplit(next_url).path}?{urlsplit(next_url).query}" if next_url else None
    return releases


def tender_ids(releases: list[dict[str, Any]]) -> set[str]:
    return {release["ocid"][-36:] for release in releases}  # ocid = <prefix>-<tender id>


def test_the_change_time_follows_publication_notices_and_the_failure(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    unpublished = draft(platform, clock, parties).summary.id
    assert changed_at(platform, unpublished) is None  # drafts are not public
    tender_id = published(platform, clock, parties)
    assert changed_at(platform, tender_id) == clock.now()  # published now
    clock.advance(timedelta(hours=3))
    notice = amend(
        platform,
        tender_id,
        AmendmentSpec(kind="clarification", title="澄清第1号", body="工程量清单第3项更正。"),
        actor=agency(parties),
    )
    assert changed_at(platform, tender_id) == notice.published_at == clock.now()
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        deadline = tender.bid_deadline
    clock.set(deadline + timedelta(hours=1))
    service.fail(platform, tender_id, "2 bid(s) received; at least 3 are needed to open")
    assert changed_at(platform, tender_id) == clock.now()
    clock.advance(timedelta(hours=1))
    cancelled = published(platform, clock, parties)
    clock.advance(timedelta(hours=1))
    service.cancel(platform, cancelled, "项目资金未落实。", actor=agency(parties))
    assert changed_at(platform, cancelled) == clock.now()


def test_an_incremental_crawl_sees_an_amendment_and_a_failure(
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    first = published(platform, clock, parties)
    second = published(platform, clock, parties)
    everything = crawl(client)
    assert tender_ids(everything) == {str(first), str(second)}

    clock.advance(timedelta(minutes=1))
    harvest = clock.now()  # the crawler's previous harvest (since is inclusive)
    clock.advance(timedelta(days=1))
    notice = amend(
        platform,
        first,
        AmendmentSpec(title="修改第1号", body="开标地点变更。"),
        actor=agency(parties),
    )
    since_harvest = crawl(client, harvest)
    assert tender_ids(since_harvest) == {str(first)}  # the second did not change
    assert str(notice.id) in {release["id"] for release in since_harvest}

    clock.advance(timedelta(minutes=1))
    harvest = clock.now()
    with platform.session_factory() as session:
        deadline = max(t.bid_deadline for t in session.query(Tender).filter(Tender.id.in_([first, second])))
    clock.set(deadline + timedelta(hours=1))
    service.fail(platform, second, "1 bid(s) received; at least 3 are needed to open")  # writes no notice
    since_failure = crawl(client, harvest)
    assert tender_ids(since_failure) == {str(second)}
    assert {release["tender"]["status"] for release in since_failure} == {"unsuccessful"}
    assert crawl(client, clock.now() + timedelta(seconds=1)) == []  # nothing changed since


def test_an_incremental_crawl_sees_the_opening_record(
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    hall_tender: HallTender,
    client: TestClient,  # type: ignore[type-arg]
) -> None:
    finished_opening(platform, hall_tender, parties)
    harvest = clock.now()
    assert crawl(client, harvest + timedelta(seconds=1)) == []
    clock.advance(timedelta(hours=2))  # the record is published later, e.g. once an objection is answered
    record = publish(platform, hall_tender)
    assert changed_at(platform, hall_tender.tender_id) == record.published_at == clock.now()
    since_harvest = crawl(client, harvest + timedelta(seconds=1))
    assert tender_ids(since_harvest) == {str(hall_tender.tender_id)}
    assert f"opening-record-{hall_tender.tender_id}" in {release["id"] for release in since_harvest}
