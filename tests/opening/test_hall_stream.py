"""The hall's server-sent events: live progress from database changes, over a real server and in-process."""

# ruff: noqa: F811 - pytest fixtures are imported by name and then requested as parameters

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anyio
import httpx

from api.app import create_app
from api.local_server import serve_in_thread
from api.opening_hall import STREAM_TIMING_KEY
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.opening.hall import HallViewer, hall_state, state_digest
from tendering.opening.hall_stream import StreamTiming, hall_events
from tendering.opening.models import OpeningSession, OpeningState, Outcome
from tendering.opening.record import publish_opening_record
from tendering.platform import Platform, build_platform
from tendering.settings import Settings
from tests.identity.conftest import token_for
from tests.opening.hall_fixtures import (  # noqa: F401 - fixtures
    HallTender,
    app_client,
    decide,
    dev,
    finish,
    hall_tender,
    parties,
    release_share,
    test_pki,
)
from tests.tenders.conftest import Parties, register

FAST = StreamTiming(interval=0.02, ping_every=60.0, lifetime=120.0)


def sse_events(lines: Iterator[str]) -> Iterator[dict[str, str]]:
    """Parse a text/event-stream into events (``event``, ``id``, ``data``); comments are skipped."""
    event: dict[str, str] = {}
    for line in lines:
        if line == "":
            if "data" in event:
                yield event
            event = {}
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        event[name] = f"{event[name]}\n{value}" if name == "data" and name in event else value


def decide_and_publish(platform: Platform, hall: HallTender, parties: Parties) -> None:
    for number, tenderer in enumerate(parties.tenderers):
        decide(
            platform, hall.outcomes[tenderer], Outcome.OPENED, amount=f"{100 + number}", lot_id=hall.lot_id
        )
    finish(platform, hall.tender_id)
    with platform.transaction() as session:
        publish_opening_record(session, platform, hall.tender_id)


def test_live_progress_over_a_real_server(
    platform: Platform, hall_tender: HallTender, parties: Parties, test_pki: BuiltPki, dev: Any
) -> None:
    app = create_app(platform=platform, configure_logs=False)
    app.state[STREAM_TIMING_KEY] = FAST
    with serve_in_thread(app) as base_url, httpx.Client(base_url=base_url, timeout=30.0) as http:
        headers = token_for(http, test_pki.signing("tenderer-1"))  # type: ignore[arg-type]
        url = f"/tenders/{hall_tender.tender_id}/opening-hall/events"
        with http.stream("GET", url, headers=headers) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            events = sse_events(response.iter_lines())

            first = next(events)
            assert first["event"] == "progress"
            assert json.loads(first["data"])["custodians"]["released"] == 0

            release_share(platform, hall_tender.tender_id, 1)  # a change in the database...
            second = json.loads(next(events)["data"])  # ...reaches the open stream
            assert second["custodians"]["released"] == 1

            decide(
                platform,
                hall_tender.outcomes[parties.tenderers[0]],
                Outcome.OPENED,
                amount="1",
                lot_id=hall_tender.lot_id,
            )
            third = json.loads(next(events)["data"])
            assert third["envelopes"]["opened"] == 1
            assert third["own"][0]["outcome"] == "opened"

            decide_and_publish(platform, hall_tender, parties)
            rest = list(events)  # the stream ends after the record event
            assert rest[-1]["event"] == "record"
            record = json.loads(rest[-1]["data"])["record"]
            assert record["json"] == f"/public/tenders/{hall_tender.tender_id}/opening-record"
            assert http.get(record["json"]).status_code == 200


def test_a_stream_on_a_published_record_sends_the_state_and_the_record_then_ends(
    app_client: Any, platform: Platform, hall_tender: HallTender, parties: Parties, test_pki: BuiltPki
) -> None:
    decide_and_publish(platform, hall_tender, parties)
    headers = token_for(app_client, test_pki.signing("agency"))
    response = app_client.get(f"/tenders/{hall_tender.tender_id}/opening-hall/events", headers=headers)
    assert response.status_code == 200
    events = list(sse_events(iter(response.text.splitlines())))
    assert [event["event"] for event in events] == ["progress", "record"]
    assert events[0]["id"] == events[1]["id"]
    assert json.loads(events[1]["data"])["standing"] == "agency"


def test_streams_refuse_outsiders(
    app_client: Any, hall_tender: HallTender, test_pki: BuiltPki, platform: Platform
) -> None:
    register(platform, test_pki, "tenderer-4", "tenderer")
    url = f"/tenders/{hall_tender.tender_id}/opening-hall/events"
    assert app_client.get(url).status_code == 401
    outsider = app_client.get(url, headers=token_for(app_client, test_pki.signing("tenderer-4")))
    assert outsider.status_code == 403
    assert outsider.json()["code"] == "opening-hall-forbidden"


def _collect(platform: Platform, hall: HallTender, viewer: HallViewer, **kwargs: Any) -> list[Any]:
    async def run() -> list[Any]:
        return [message async for message in hall_events(platform, hall.tender_id, viewer, **kwargs)]

    return anyio.run(run)


def test_a_reconnecting_client_gets_only_news(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    decide_and_publish(platform, hall_tender, parties)
    viewer = HallViewer(parties.tenderers[0], "bidder")
    with platform.session_factory() as session:
        digest = state_digest(hall_state(session, hall_tender.tender_id, viewer))
    messages = _collect(platform, hall_tender, viewer, last_event_id=digest, timing=FAST)
    assert [message.event for message in messages] == ["record"]  # no repeat of the progress it saw


def test_a_stream_ends_after_its_lifetime_and_pings_while_nothing_changes(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    ticks = iter(range(0, 1000, 10))  # a fake monotonic clock: 10 s per look
    viewer = HallViewer(parties.tenderers[0], "bidder")
    timing = StreamTiming(interval=0.0, ping_every=15.0, lifetime=45.0)
    messages = _collect(platform, hall_tender, viewer, timing=timing, monotonic=lambda: float(next(ticks)))
    kinds = [message.event or f": {message.comment}" for message in messages]
    assert kinds[0] == "progress"
    assert ": waiting" in kinds
    assert "record" not in kinds
    assert all(message.data is None for message in messages if message.comment)


def test_a_failed_opening_ends_the_stream(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    with platform.transaction() as session:
        opening = session.get(OpeningSession, hall_tender.tender_id)
        assert opening is not None
        opening.state = OpeningState.FAILED
    messages = _collect(platform, hall_tender, HallViewer(parties.agency, "agency"), timing=FAST)
    assert [message.event for message in messages] == ["progress", "failed"]


def test_two_server_processes_show_the_same_hall(
    platform: Platform,
    settings: Settings,
    clock: ManualClock,
    hall_tender: HallTender,
    test_pki: BuiltPki,
    dev: Any,
) -> None:
    """An objection posted to one server reaches a stream served by another (own engine and pool)."""
    other = build_platform(settings, clock=clock)
    other.certificates.use_dev_pki(test_pki)
    try:
        first, second = (create_app(platform=p, configure_logs=False) for p in (platform, other))
        second.state[STREAM_TIMING_KEY] = FAST
        with (
            serve_in_thread(first) as first_url,
            serve_in_thread(second) as second_url,
            httpx.Client(base_url=first_url, timeout=30.0) as to_first,
            httpx.Client(base_url=second_url, timeout=30.0) as to_second,
        ):
            watcher = token_for(to_second, test_pki.signing("agency"))  # type: ignore[arg-type]
            objector = token_for(to_first, test_pki.signing("tenderer-2"))  # type: ignore[arg-type]
            hall = f"/tenders/{hall_tender.tender_id}/opening-hall"
            with to_second.stream("GET", f"{hall}/events", headers=watcher) as response:
                events = sse_events(response.iter_lines())
                assert json.loads(next(events)["data"])["objections"] == []
                raised = to_first.post(f"{hall}/objections", json={"text": "异议"}, headers=objector)
                assert raised.status_code == 201
                shown = json.loads(next(events)["data"])["objections"]
                assert [item["id"] for item in shown] == [raised.json()["id"]]
    finally:
        other.close()
