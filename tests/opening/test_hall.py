"""The opening hall over HTTP: who may enter, what it shows, objections and answers (Regs Art. 44)."""

# ruff: noqa: F811 - pytest fixtures are imported by name and then requested as parameters

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.opening.hall import MAX_OBJECTION_CHARS, MAX_OPEN_OBJECTIONS_PER_BIDDER, OBJECTION_RAISED_EVENT
from tendering.opening.models import Decryption, OpeningSession, OpeningState, Outcome
from tendering.opening.record import publish_opening_record, published_record
from tendering.platform import Platform
from tendering.translog.models import LogEntry, LogPending
from tests.identity.conftest import token_for
from tests.opening.hall_fixtures import (  # noqa: F401 - fixtures
    HallTender,
    app_client,
    decide,
    dev,
    finish,
    hall_tender,
    parties,
    published_tender,
    release_share,
    test_pki,
)
from tests.portal.signin_helpers import csrf_of, sign_in
from tests.tenders.conftest import Parties, register


def hall_url(hall: HallTender, rest: str = "") -> str:
    return f"/tenders/{hall.tender_id}/opening-hall{rest}"


@pytest.fixture
def tokens(app_client: Any, test_pki: BuiltPki, platform: Platform) -> dict[str, dict[str, str]]:
    """Bearer headers: the three bidders, the agency, the tenderee, a tenderer that did not bid, a monitor."""
    register(platform, test_pki, "tenderer-4", "tenderer")
    names = ("tenderer-1", "tenderer-2", "tenderer-3", "tenderer-4", "agency", "tenderee", "monitor")
    return {name: token_for(app_client, test_pki.signing(name)) for name in names}


def decide_all(platform: Platform, hall: HallTender, parties: Parties) -> None:
    one, two, three = parties.tenderers
    decide(platform, hall.outcomes[one], Outcome.OPENED, amount="100.00", lot_id=hall.lot_id)
    decide(platform, hall.outcomes[two], Outcome.OPENED, amount="90.00", lot_id=hall.lot_id)
    decide(platform, hall.outcomes[three], Outcome.WITHDRAWN, reason_code="platform-decryption-failed")
    finish(platform, hall.tender_id)


def test_bidders_and_the_agency_enter_nobody_else(
    app_client: Any, hall_tender: HallTender, tokens: dict[str, dict[str, str]]
) -> None:
    for name in ("tenderer-1", "tenderer-2", "tenderer-3", "agency", "tenderee"):
        response = app_client.get(hall_url(hall_tender, "/state"), headers=tokens[name])
        assert response.status_code == 200, (name, response.text)
        assert response.headers["cache-control"] == "no-store"
    assert (
        app_client.get(hall_url(hall_tender, "/state"), headers=tokens["agency"]).json()["standing"]
        == "agency"
    )
    outsider = app_client.get(hall_url(hall_tender, "/state"), headers=tokens["tenderer-4"])
    assert outsider.status_code == 403
    assert outsider.json()["code"] == "opening-hall-forbidden"
    monitor = app_client.get(hall_url(hall_tender, "/state"), headers=tokens["monitor"])
    assert monitor.status_code == 403
    assert monitor.json()["code"] == "role-required"
    for rest in ("", "/state", "/events"):
        assert app_client.get(hall_url(hall_tender, rest)).status_code == 401
        assert app_client.get(hall_url(hall_tender, rest), headers=tokens["tenderer-4"]).status_code == 403


def test_no_hall_before_the_deadline(
    app_client: Any,
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    test_pki: BuiltPki,
) -> None:
    open_tender = published_tender(platform, clock, parties)  # still taking bids: no opening session
    agency = token_for(app_client, test_pki.signing("agency"))
    response = app_client.get(f"/tenders/{open_tender}/opening-hall/state", headers=agency)
    assert response.status_code == 404
    assert response.json()["code"] == "opening-not-found"
    assert app_client.get(f"/tenders/{uuid.uuid4()}/opening-hall/state", headers=agency).status_code == 404


def test_state_follows_the_opening(
    app_client: Any,
    platform: Platform,
    hall_tender: HallTender,
    parties: Parties,
    tokens: dict[str, dict[str, str]],
) -> None:
    def state(who: str = "tenderer-1") -> dict[str, Any]:
        response = app_client.get(hall_url(hall_tender, "/state"), headers=tokens[who])
        assert response.status_code == 200
        result: dict[str, Any] = response.json()
        return result

    first = state()
    assert first["state"] == "closed"
    assert first["custodians"] == {"threshold": 2, "appointed": 3, "released": 0}
    assert first["envelopes"] == {"total": 3, "decided": 0, "opened": 0, "revoked": 0, "withdrawn": 0}
    assert first["record"] is None
    assert [own["outcome"] for own in first["own"]] == [None]
    assert "own" not in state("agency")

    release_share(platform, hall_tender.tender_id, 2)
    release_share(platform, hall_tender.tender_id, 2)  # the same custodian counts once
    assert state()["custodians"]["released"] == 1
    decide(
        platform,
        hall_tender.outcomes[parties.tenderers[0]],
        Outcome.REVOKED,
        decryption=Decryption.BIDDER_FAILED,
        reason_code="bidder-layer-not-decrypted",
    )
    now = state()
    assert now["envelopes"]["decided"] == now["envelopes"]["revoked"] == 1
    assert now["own"][0]["outcome"] == "revoked"
    assert state("tenderer-2")["own"][0]["outcome"] is None  # each bidder sees only its own envelope

    decide(
        platform,
        hall_tender.outcomes[parties.tenderers[1]],
        Outcome.OPENED,
        amount="5",
        lot_id=hall_tender.lot_id,
    )
    decide(
        platform,
        hall_tender.outcomes[parties.tenderers[2]],
        Outcome.OPENED,
        amount="6",
        lot_id=hall_tender.lot_id,
    )
    finish(platform, hall_tender.tender_id)
    with platform.transaction() as session:
        publish_opening_record(session, platform, hall_tender.tender_id)
    last = state()
    assert last["state"] == "opened"
    assert last["record"]["json"] == f"/public/tenders/{hall_tender.tender_id}/opening-record"
    assert last["objections_open"] is False


def test_the_hall_page_renders_for_a_bidder_in_both_languages(
    app_client: Any, hall_tender: HallTender, tokens: dict[str, dict[str, str]]
) -> None:
    chinese = app_client.get(hall_url(hall_tender), headers=tokens["tenderer-1"])
    assert chinese.status_code == 200
    assert "开标大厅" in chinese.text
    closed_at = app_client.get(hall_url(hall_tender, "/state"), headers=tokens["tenderer-1"]).json()[
        "closed_at"
    ]
    shanghai = datetime.fromisoformat(closed_at.replace("Z", "+00:00")).astimezone(ZoneInfo("Asia/Shanghai"))
    assert shanghai.strftime("%Y-%m-%d %H:%M") in chinese.text  # shown in the tender's time zone
    assert 'id="objection-form"' in chinese.text
    english = app_client.get(hall_url(hall_tender, "?lang=en"), headers=tokens["agency"])
    assert "Opening hall" in english.text
    assert 'id="answer-form"' in english.text
    assert 'id="objection-form"' not in english.text


def objection(app_client: Any, hall: HallTender, headers: dict[str, str], text: object) -> Any:
    return app_client.post(hall_url(hall, "/objections"), json={"text": text}, headers=headers)


def answer(app_client: Any, hall: HallTender, headers: dict[str, str], objection_id: str, text: str) -> Any:
    return app_client.post(
        hall_url(hall, f"/objections/{objection_id}/answer"), json={"text": text}, headers=headers
    )


def test_a_bidder_objects_and_the_agency_answers_both_logged_by_hash(
    app_client: Any,
    platform: Platform,
    hall_tender: HallTender,
    parties: Parties,
    tokens: dict[str, dict[str, str]],
) -> None:
    text = "第二标段开标时间与公告不符"
    raised = objection(app_client, hall_tender, tokens["tenderer-2"], text)
    assert raised.status_code == 201, raised.text
    body = raised.json()
    assert body["text"] == text
    assert body["answer"] is None
    assert body["bidder"] == dict(
        zip(("name", "uscc"), hall_tender.bidders[parties.tenderers[1]], strict=True)
    )
    shown = app_client.get(hall_url(hall_tender, "/state"), headers=tokens["tenderer-1"]).json()["objections"]
    assert [item["id"] for item in shown] == [body["id"]]

    reply = "开标时间以变更公告为准"
    answered = answer(app_client, hall_tender, tokens["agency"], body["id"], reply)
    assert answered.status_code == 200, answered.text
    assert answered.json()["answer"] == reply
    assert answered.json()["answered_at"] is not None
    again = answer(app_client, hall_tender, tokens["agency"], body["id"], "再次答复")
    assert again.status_code == 409
    assert again.json()["code"] == "objection-answered"

    with platform.session_factory() as session:
        # Pending first: an entry the app's sequencer integrates meanwhile is then among the entries.
        pending = [*session.scalars(select(LogPending.entry))]
        raws = [*session.scalars(select(LogEntry.entry)), *pending]
    entries = [json.loads(raw) for raw in raws]
    raised_entries = [e for e in entries if e["type"] == OBJECTION_RAISED_EVENT]
    assert raised_entries[0]["data"]["text_sha256"] == hashlib.sha256(text.encode()).hexdigest()
    answered_entries = [e for e in entries if e["type"] == "opening.objection.answered"]
    assert answered_entries[0]["data"]["answer_sha256"] == hashlib.sha256(reply.encode()).hexdigest()
    assert not any(text.encode() in raw or reply.encode() in raw for raw in raws)  # hashes, never the text


def test_objection_refusals(
    app_client: Any, hall_tender: HallTender, tokens: dict[str, dict[str, str]]
) -> None:
    for bad in ("", "   ", "x" * (MAX_OBJECTION_CHARS + 1), "bell\x07", 42):
        response = objection(app_client, hall_tender, tokens["tenderer-1"], bad)
        assert response.status_code == 400, (bad, response.text)
    assert (
        objection(app_client, hall_tender, tokens["agency"], "agency objects").json()["code"]
        == "not-a-bidder"
    )
    assert objection(app_client, hall_tender, tokens["tenderer-4"], "outsider").status_code == 403
    first = objection(app_client, hall_tender, tokens["tenderer-1"], "first").json()
    for number in range(1, MAX_OPEN_OBJECTIONS_PER_BIDDER):
        assert objection(app_client, hall_tender, tokens["tenderer-1"], f"more {number}").status_code == 201
    too_many = objection(app_client, hall_tender, tokens["tenderer-1"], "one too many")
    assert too_many.status_code == 409
    assert too_many.json()["code"] == "objections-waiting"
    assert objection(app_client, hall_tender, tokens["tenderer-2"], "another bidder").status_code == 201

    by_bidder = answer(app_client, hall_tender, tokens["tenderer-2"], first["id"], "I answer myself")
    assert by_bidder.status_code == 403
    assert by_bidder.json()["code"] == "not-the-agency"
    unknown = answer(app_client, hall_tender, tokens["agency"], str(uuid.uuid4()), "?")
    assert unknown.status_code == 404
    assert answer(app_client, hall_tender, tokens["agency"], first["id"], "").status_code == 400


def test_the_record_waits_for_the_answer_and_includes_both(
    app_client: Any,
    platform: Platform,
    hall_tender: HallTender,
    parties: Parties,
    tokens: dict[str, dict[str, str]],
) -> None:
    raised = objection(app_client, hall_tender, tokens["tenderer-3"], "我方投标文件解密失败非我方原因").json()
    decide_all(platform, hall_tender, parties)
    with platform.transaction() as session:
        assert publish_opening_record(session, platform, hall_tender.tender_id) is None  # waits
    with platform.session_factory() as session:
        assert published_record(session, hall_tender.tender_id) is None
    assert app_client.get(f"/public/tenders/{hall_tender.tender_id}/opening-record").status_code == 404

    assert (
        answer(
            app_client, hall_tender, tokens["agency"], raised["id"], "经核查，系平台原因，按撤回处理"
        ).status_code
        == 200
    )
    published_document = app_client.get(f"/public/tenders/{hall_tender.tender_id}/opening-record")
    assert published_document.status_code == 200
    objections = published_document.json()["objections"]
    assert [(o["text"], o["answer"]) for o in objections] == [
        ("我方投标文件解密失败非我方原因", "经核查，系平台原因，按撤回处理")
    ]

    late = objection(app_client, hall_tender, tokens["tenderer-1"], "too late")
    assert late.status_code == 409
    assert late.json()["code"] == "opening-record-published"


def test_no_objection_when_the_opening_failed(
    app_client: Any, platform: Platform, hall_tender: HallTender, tokens: dict[str, dict[str, str]]
) -> None:
    with platform.transaction() as session:
        opening = session.get(OpeningSession, hall_tender.tender_id)
        assert opening is not None
        opening.state = OpeningState.FAILED
    refused = objection(app_client, hall_tender, tokens["tenderer-1"], "why did it fail?")
    assert refused.status_code == 409
    assert refused.json()["code"] == "opening-failed"


def test_a_signed_in_browser_uses_the_page_and_posts_with_the_anti_forgery_token(
    app_client: Any, hall_tender: HallTender, test_pki: BuiltPki
) -> None:
    sign_in(app_client, test_pki, "tenderer-1")  # the portal's browser session cookie, no bearer token
    page = app_client.get(hall_url(hall_tender))
    assert page.status_code == 200
    token = csrf_of(page.text)
    assert f'data-csrf="{token}"' in page.text
    forged = app_client.post(hall_url(hall_tender, "/objections"), json={"text": "no token"})
    assert forged.status_code == 403
    assert forged.json()["code"] == "csrf-failed"
    sent = app_client.post(
        hall_url(hall_tender, "/objections"), json={"text": "with token"}, headers={"X-CSRF-Token": token}
    )
    assert sent.status_code == 201, sent.text
    assert app_client.get(hall_url(hall_tender, "/state")).status_code == 401  # a cookie never opens the API
