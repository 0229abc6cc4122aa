"""Through the API: the pool for its administrators, the draw for the agency, and sealed names.

The agency, the tenderee and the bidders never see a drawn expert's name or phone number through any
route (every GET route of the app is walked with their logins), and no route takes an expert for a
committee.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from crypto.pki import BuiltPki
from experts import draw_public
from experts.pool_models import Expert
from experts.verify_draw import verify_draw
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.experts.pool_helpers import add_experts, end_tender, many
from tests.identity.conftest import enrol, token_for
from tests.tenders.conftest import Parties
from tests.tenders.helpers import published

Client = TestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def as_(app_client: Client, test_pki: BuiltPki, parties: Parties, platform: Platform) -> Headers:
    """Authorization headers for a participant of the test PKI (admin enrolled too)."""
    enrol(platform, test_pki.signing("admin"), "admin")
    return lambda name: token_for(app_client, test_pki.signing(name))


def _draw_body(clock: ManualClock, **extra: Any) -> dict[str, Any]:
    return {
        "evaluation_time": (clock.now() + timedelta(days=2)).isoformat(),
        "evaluation_place": "福州市公共资源交易中心 3 号评标室",
        "lines": [{"specialty": "A0101", "count": 4, "reserves": 2}],
        **extra,
    }


@pytest.fixture
def drawn_over_api(
    app_client: Client,
    as_: Headers,
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    hold_confirmations: None,
) -> tuple[uuid.UUID, str]:
    add_experts(platform, many(15))
    tender_id = published(platform, clock, parties)
    response = app_client.post(
        f"/agency/tenders/{tender_id}/expert-draws", json=_draw_body(clock), headers=as_("agency")
    )
    assert response.status_code == 201, response.text
    return tender_id, response.json()["request"]


def _secrets(platform: Platform) -> list[str]:
    with platform.session_factory() as session:
        found: list[str] = []
        for expert in session.scalars(select(Expert)):
            found += [expert.name, *expert.phones, expert.number]
        return found


def _get_routes(client: Client) -> list[str]:
    paths = set()
    for route in client.app.routes:
        if "GET" in getattr(route, "methods", set()):
            paths.add(route.path)
    return sorted(paths)


def test_no_route_shows_names_to_the_agency_tenderee_or_bidders(
    app_client: Client, as_: Headers, platform: Platform, drawn_over_api: tuple[uuid.UUID, str]
) -> None:
    tender_id, request_id = drawn_over_api
    secrets = _secrets(platform)
    values = {"tender_id": str(tender_id), "request_id": request_id}
    checked = 0
    for who in ("agency", "tenderee", "tenderer-1", "tenderer-2"):
        headers = as_(who)
        for path in _get_routes(app_client):
            url = re.sub(
                r"\{(\w+)(?::(\w+))?\}",
                lambda m: values.get(m.group(1), str(uuid.uuid4()) if m.group(2) == "uuid" else "1"),
                path,
            )
            response = app_client.get(url, headers=headers)
            checked += 1
            for secret in secrets:
                assert secret not in response.text, f"{who} saw expert data at {url}"
    assert checked > 50


def test_the_agency_sees_counts_the_authority_the_status_and_pool_routes_are_guarded(
    app_client: Client, as_: Headers, drawn_over_api: tuple[uuid.UUID, str]
) -> None:
    tender_id, request_id = drawn_over_api
    (view,) = app_client.get(f"/agency/tenders/{tender_id}/expert-draws", headers=as_("agency")).json()
    assert view["totals"] == {"needed": 4, "confirmed": 0, "pending": 4, "declined": 0, "short": 0}
    status = app_client.get(f"/authority/expert-draws/{request_id}", headers=as_("reviewer")).json()
    assert status["lines"][0]["reserves_waiting"] == 2
    assert status["names_released"] is False
    assert (
        app_client.get(f"/agency/tenders/{tender_id}/expert-draws", headers=as_("tenderee")).status_code
        == 404
    )
    for who in ("agency", "tenderer-1"):
        assert app_client.get("/experts/pool", headers=as_(who)).status_code == 403
        assert app_client.get(f"/authority/expert-draws/{request_id}", headers=as_(who)).status_code == 403
    pool = app_client.get("/experts/pool", headers=as_("admin")).json()
    assert pool["total"] == 15


def test_no_route_takes_an_expert_for_a_committee(app_client: Client) -> None:
    schema = app_client.get("/schema/openapi.json").json()
    for path, methods in schema["paths"].items():
        if "expert-draws" not in path:
            continue
        for operation in methods.values():
            body = operation.get("requestBody", {}).get("content", {})
            text = str(body) + str(schema.get("components", {}).get("schemas", {}).get("DrawBody", {}))
            assert "expert_id" not in text
            assert "experts" not in text


def test_a_designation_in_the_body_changes_nothing(
    app_client: Client,
    as_: Headers,
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    hold_confirmations: None,
) -> None:
    ids = add_experts(platform, many(15))
    tender_id = published(platform, clock, parties)
    named = [str(i) for i in ids[:4]]
    body = _draw_body(clock, experts=named, expert_ids=named, members=named)
    response = app_client.post(f"/agency/tenders/{tender_id}/expert-draws", json=body, headers=as_("agency"))
    if response.status_code == 400:  # refused outright: nothing was drawn
        with platform.session_factory() as session:
            assert draw_public.requests_of_tender(session, tender_id) == []
        return
    assert response.status_code == 201, response.text
    request_id = uuid.UUID(response.json()["request"])
    end_tender(platform, parties, tender_id)
    assert draw_public.reveal_due(platform) == [request_id]
    record = app_client.get(f"/public/expert-draws/{request_id}").json()
    # The eligible set is the whole pool (nobody was singled out) and the committee is exactly what the
    # verifiable order gives from it: the designation had no effect on who was drawn.
    assert sorted(record["eligible"][0]) == sorted(str(i) for i in ids)
    verdict = verify_draw(app_client, request_id)
    assert verdict.matches, verdict.differences
    assert {f"A0101 rank {rank}" for rank in range(4)} <= set(verdict.checked)


def test_short_pool_and_csv_errors_are_problems(
    app_client: Client, as_: Headers, platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    add_experts(platform, many(3))
    tender_id = published(platform, clock, parties)
    short = app_client.post(
        f"/agency/tenders/{tender_id}/expert-draws", json=_draw_body(clock), headers=as_("agency")
    )
    assert short.status_code == 409
    assert short.json()["code"] == "expert-pool-short"
    assert (short.json()["specialty"], short.json()["needed"], short.json()["eligible"]) == ("A0101", 4, 3)
    bad = "number,name,specialties,region,employer_uscc,phones\nE1,张三,A0101,350102,bad,13800138000\n"
    refused = app_client.post(
        "/experts/pool/import", content=bad.encode(), headers={**as_("admin"), "content-type": "text/csv"}
    )
    assert refused.status_code == 400
    assert refused.json()["report"]["errors"][0]["row"] == 2
    assert refused.json()["report"]["errors"][0]["column"] == "employer_uscc"


def test_the_authority_reveals_after_the_result_and_the_record_opens(
    app_client: Client,
    as_: Headers,
    clock: ManualClock,
    platform: Platform,
    parties: Parties,
    drawn_over_api: tuple[uuid.UUID, str],
) -> None:
    tender_id, request_id = drawn_over_api
    early = app_client.post(f"/authority/expert-draws/{request_id}/reveal", headers=as_("reviewer"))
    assert early.status_code == 409
    assert early.json()["code"] == "expert-reveal-before-result"
    before = app_client.get(f"/public/expert-draws/{request_id}").json()
    assert before["secret"] is None and "eligible" not in before and "assignments" not in before
    clock.advance(timedelta(days=26))  # the evaluation is over, but there is no result yet
    late = app_client.post(f"/authority/expert-draws/{request_id}/reveal", headers=as_("reviewer"))
    assert (late.status_code, late.json()["code"]) == (409, "expert-reveal-before-result")
    end_tender(platform, parties, tender_id)
    secret = app_client.post(f"/authority/expert-draws/{request_id}/reveal", headers=as_("reviewer")).json()[
        "secret"
    ]
    after = app_client.get(f"/public/expert-draws/{request_id}").json()
    assert after["secret"] == secret
    assert len(after["eligible"][0]) == 15
    assert len(after["assignments"]) == 6
