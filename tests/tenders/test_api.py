"""The tender API over HTTP: the whole review workflow, problem documents, guards, confidentiality."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import TestClient

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.identity.conftest import token_for
from tests.tenders.conftest import Parties, spec_document

Client = TestClient  # type: ignore[type-arg]
Headers = Callable[[str], dict[str, str]]
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40


@pytest.fixture
def as_(app_client: Client, test_pki: BuiltPki, parties: Parties) -> Headers:
    """Authorization headers for a participant of the test PKI (a fresh login each time)."""
    return lambda name: token_for(app_client, test_pki.signing(name))


def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body


def create(
    client: Client, as_: Headers, parties: Parties, clock: ManualClock, **overrides: Any
) -> dict[str, Any]:
    response = client.post(
        "/agency/tenders", json=spec_document(parties, clock.now(), **overrides), headers=as_("agency")
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def publish_one(
    client: Client, as_: Headers, parties: Parties, clock: ManualClock, platform: Platform
) -> tuple[str, dict[str, Any]]:
    tender = create(client, as_, parties, clock)
    tender_id = tender["id"]
    uploaded = client.post(
        f"/agency/tenders/{tender_id}/documents",
        params={"name": "招标文件 第1版.pdf"},
        content=PDF,
        headers={**as_("agency"), "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert client.post(f"/agency/tenders/{tender_id}/submit", headers=as_("agency")).status_code == 200
    assert client.post(f"/authority/tenders/{tender_id}/approve", headers=as_("reviewer")).status_code == 200
    clock.advance(timedelta(hours=1))
    platform.maintenance()  # the periodic sweep publishes what is due
    return tender_id, uploaded.json()


def test_the_whole_workflow_over_http(
    app_client: Client, as_: Headers, parties: Parties, clock: ManualClock, platform: Platform
) -> None:
    tender = create(app_client, as_, parties, clock)
    assert tender["state"] == "draft" and tender["version"] == 1
    assert tender["content"]["lots"][0]["bid_bond"] == {"amount": "250000.00", "currency": "CNY"}
    assert tender["content"]["timetable"]["bid_deadline"]["local"].endswith("+08:00")
    assert tender["content"]["timetable"]["opening_time"] == tender["content"]["timetable"]["bid_deadline"]
    tender_id = tender["id"]
    listed = app_client.get("/agency/tenders", params={"state": "draft"}, headers=as_("agency")).json()
    assert [t["id"] for t in listed] == [tender_id]
    check = app_client.get(f"/agency/tenders/{tender_id}/check", headers=as_("agency")).json()
    assert check == {"ok": True, "violations": []}
    uploaded = app_client.post(
        f"/agency/tenders/{tender_id}/documents",
        params={"name": "招标文件.pdf"},
        content=PDF,
        headers={**as_("agency"), "Content-Type": "application/pdf"},
    )
    assert uploaded.status_code == 201, uploaded.text
    document = uploaded.json()
    assert (document["sha256"], document["size"], document["version"]) == (
        hashlib.sha256(PDF).hexdigest(),
        len(PDF),
        1,
    )
    assert app_client.get("/authority/reviews", headers=as_("reviewer")).json() == []
    submitted = app_client.post(f"/agency/tenders/{tender_id}/submit", headers=as_("agency"))
    assert submitted.json()["state"] == "pending_review"
    queue = app_client.get("/authority/reviews", headers=as_("reviewer")).json()
    assert [t["id"] for t in queue] == [tender_id]
    assert (
        app_client.get(f"/authority/tenders/{tender_id}", headers=as_("reviewer")).json()["state"]
        == "pending_review"
    )
    rejected = app_client.post(
        f"/authority/tenders/{tender_id}/reject",
        json={"reasons": ["评分办法不完整"]},
        headers=as_("reviewer"),
    )
    assert rejected.json()["state"] == "draft"
    agency_view = app_client.get(f"/agency/tenders/{tender_id}", headers=as_("agency")).json()
    assert agency_view["timeline"][-1]["reasons"] == ["评分办法不完整"]
    app_client.post(f"/agency/tenders/{tender_id}/submit", headers=as_("agency"))
    approved = app_client.post(f"/authority/tenders/{tender_id}/approve", headers=as_("reviewer"))
    assert approved.json()["state"] == "approved"
    assert app_client.get(f"/public/tenders/{tender_id}").status_code == 404
    clock.advance(timedelta(hours=1))
    platform.maintenance()
    public = app_client.get(f"/public/tenders/{tender_id}")
    assert public.status_code == 200, public.text
    body = public.json()
    assert body["state"] == "published" and [d["name"] for d in body["documents"]] == ["招标文件.pdf"]
    assert body["content"]["opening"] == {"threshold": 2, "bidder_decryption": False, "custodian_count": 3}
    assert [t["action"] for t in body["timeline"]] == ["publish"]  # rejections stay internal
    page = app_client.get("/public/tenders", params={"category": "works", "region": "35", "q": "道路"}).json()
    assert page["total"] == 1 and page["items"][0]["id"] == tender_id
    assert app_client.get("/public/tenders", params={"category": "goods"}).json()["total"] == 0
    procedures = app_client.get("/public/procedures", params={"region": "350203"}).json()
    assert procedures[0]["time_limits"]["review"] == {"limit_hours": 48, "warn_hours": 12}


def test_download_is_recorded_and_stays_confidential(
    app_client: Client, as_: Headers, parties: Parties, clock: ManualClock, platform: Platform
) -> None:
    tender_id, document = publish_one(app_client, as_, parties, clock, platform)
    url = f"/tenders/{tender_id}/documents/{document['id']}/download"
    assert app_client.get(url).status_code == 401
    problem(app_client.get(url, headers=as_("agency")), 403, "role-required")
    response = app_client.get(url, headers=as_("tenderer-1"))
    assert response.status_code == 200, response.text
    assert response.content == PDF
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-sha256"] == hashlib.sha256(PDF).hexdigest()
    assert "filename*=UTF-8''%E6%8B%9B%E6%A0%87" in response.headers["content-disposition"]
    mine = app_client.get("/tenderer/downloads", headers=as_("tenderer-1")).json()
    assert len(mine) == 1 and mine[0]["certificate_fingerprint"] == parties.fingerprints[parties.tenderers[0]]
    assert mine[0]["address"] == "testclient"
    assert app_client.get("/tenderer/downloads", headers=as_("tenderer-2")).json() == []
    public = json.dumps(app_client.get(f"/public/tenders/{tender_id}").json())
    public_list = json.dumps(app_client.get("/public/tenders").json())
    for text in (public, public_list):
        assert str(parties.tenderers[0]) not in text and "download" not in text
    monitor = app_client.get(f"/monitor/tenders/{tender_id}/downloads", headers=as_("monitor"))
    assert [r["organisation"]["id"] for r in monitor.json()] == [str(parties.tenderers[0])]
    problem(
        app_client.get(f"/monitor/tenders/{tender_id}/downloads", headers=as_("reviewer")),
        403,
        "role-required",
    )


def test_questions_and_notices_over_http(
    app_client: Client, as_: Headers, parties: Parties, clock: ManualClock, platform: Platform
) -> None:
    tender_id, document = publish_one(app_client, as_, parties, clock, platform)
    app_client.get(f"/tenders/{tender_id}/documents/{document['id']}/download", headers=as_("tenderer-2"))
    asked = app_client.post(
        f"/tenderer/tenders/{tender_id}/questions", json={"text": "可否分包？"}, headers=as_("tenderer-2")
    )
    assert asked.status_code == 201, asked.text
    questions = app_client.get(f"/agency/tenders/{tender_id}/questions", headers=as_("agency")).json()
    assert [q["text"] for q in questions] == ["可否分包？"] and "organisation" not in questions[0]
    notice = app_client.post(
        f"/agency/tenders/{tender_id}/notices",
        json={
            "kind": "clarification",
            "title": "澄清（一）",
            "body": "不允许分包。",
            "answers": [asked.json()["id"]],
        },
        headers=as_("agency"),
    )
    assert notice.status_code == 201, notice.text
    assert notice.json()["questions_answered"] == ["可否分包？"]
    inbox = app_client.get("/tenderer/notices", headers=as_("tenderer-2")).json()
    assert [n["notice"] for n in inbox] == [notice.json()["id"]]
    assert [n["number"] for n in app_client.get(f"/public/tenders/{tender_id}/notices").json()] == [1]
    clock.advance(timedelta(days=11))
    late = app_client.post(
        f"/agency/tenders/{tender_id}/notices", json={"title": "修改", "body": "x"}, headers=as_("agency")
    )
    body = problem(late, 409, "amendment-requires-new-deadline")
    assert body["title"] == "Too late" and "earliest" in body


def test_rule_violations_and_illegal_transitions_are_problem_documents(
    app_client: Client, as_: Headers, parties: Parties, clock: ManualClock
) -> None:
    tender = create(
        app_client, as_, parties, clock, evaluation__criteria__0__weight="30", timetable__publicity_days=1
    )
    response = app_client.post(f"/agency/tenders/{tender['id']}/submit", headers=as_("agency"))
    body = problem(response, 400, "publicity-too-short")
    assert [v["code"] for v in body["violations"]] == ["publicity-too-short", "criteria-weights-not-100"]
    problem(
        app_client.post(f"/authority/tenders/{tender['id']}/approve", headers=as_("reviewer")),
        404,
        "tender-unknown",
    )
    fixed = spec_document(parties, clock.now())
    updated = app_client.put(
        f"/agency/tenders/{tender['id']}", params={"version": 99}, json=fixed, headers=as_("agency")
    )
    problem(updated, 409, "tender-changed")
    assert (
        app_client.put(f"/agency/tenders/{tender['id']}", json=fixed, headers=as_("agency")).status_code
        == 200
    )
    app_client.post(f"/agency/tenders/{tender['id']}/submit", headers=as_("agency"))
    again = app_client.post(f"/agency/tenders/{tender['id']}/submit", headers=as_("agency"))
    body = problem(again, 409, "illegal-transition")
    assert (body["action"], body["state"]) == ("submit", "pending_review")
    floats = spec_document(parties, clock.now())
    floats["lots"][0]["estimated_price"]["amount"] = 12500000.5
    problem(app_client.post("/agency/tenders", json=floats, headers=as_("agency")), 400, "invalid-input")
    problem(app_client.get("/public/tenders/00000000-0000-4000-8000-000000000000"), 404, "tender-unknown")
    problem(
        app_client.post(f"/agency/tenders/{tender['id']}/cancel", json={"reason": ""}, headers=as_("agency")),
        400,
        "reason-required",
    )
    cancelled = app_client.post(
        f"/agency/tenders/{tender['id']}/cancel", json={"reason": "预算调整"}, headers=as_("agency")
    )
    assert cancelled.json()["state"] == "cancelled"


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("post", "/agency/tenders", "tenderer-1"),
        ("get", "/agency/tenders", "reviewer"),
        ("get", "/authority/reviews", "agency"),
        ("get", "/authority/reviews", "tenderer-1"),
        ("get", "/authority/warnings", "agency"),
        ("get", "/authority/warnings/agencies", "monitor"),
        ("get", "/tenderer/downloads", "agency"),
        ("get", "/tenderer/notices", "reviewer"),
        ("get", "/agency/warnings", "tenderer-1"),
        ("get", "/organisation/profile", "reviewer"),
        ("get", "/monitor/tenders/00000000-0000-4000-8000-000000000000/downloads", "agency"),
    ],
)
def test_wrong_role_is_forbidden(app_client: Client, as_: Headers, method: str, path: str, who: str) -> None:
    response = getattr(app_client, method)(
        path, headers=as_(who), **({"json": {}} if method == "post" else {})
    )
    problem(response, 403, "role-required")


def test_supervision_warnings_for_the_authority(
    app_client: Client, as_: Headers, parties: Parties, clock: ManualClock, platform: Platform
) -> None:
    tender = create(app_client, as_, parties, clock)
    app_client.post(f"/agency/tenders/{tender['id']}/submit", headers=as_("agency"))
    clock.advance(timedelta(hours=49))
    platform.maintenance()
    warnings = app_client.get("/authority/warnings", headers=as_("reviewer")).json()
    assert [(w["level"], w["step"], w["tender"]["id"]) for w in warnings] == [
        ("yellow", "review", tender["id"])
    ]
    clock.advance(timedelta(hours=24))
    platform.maintenance()
    by_tender = app_client.get(
        "/authority/warnings", params={"tender": tender["id"]}, headers=as_("reviewer")
    ).json()
    assert [w["level"] for w in by_tender] == ["red"]
    per_agency = app_client.get("/authority/warnings/agencies", headers=as_("reviewer")).json()
    assert per_agency == [{"agency_id": str(parties.agency), "yellow": 0, "red": 1}]
    history = app_client.get(
        "/authority/warnings", params={"include_resolved": "true"}, headers=as_("reviewer")
    )
    assert sorted(w["level"] for w in history.json()) == ["red", "yellow"]
    own = app_client.get("/agency/warnings", headers=as_("agency")).json()
    assert [w["level"] for w in own] == ["red"]


def test_organisation_profile_over_http(app_client: Client, as_: Headers, parties: Parties) -> None:
    empty = app_client.get("/organisation/profile", headers=as_("tenderer-1")).json()
    assert empty["legal_representative"] is None
    saved = app_client.put(
        "/organisation/profile",
        json={"legal_representative": "陈六", "legal_representative_id_number": "350102198001011234"},
        headers=as_("tenderer-1"),
    )
    assert saved.status_code == 200, saved.text
    assert "350102198001011234" not in saved.text
    assert (
        app_client.get("/organisation/profile", headers=as_("tenderer-1")).json()["legal_representative"]
        == "陈六"
    )
