"""The pool routes for administrators: create/update by number, status, paging and specialty filter."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient

from crypto.pki import BuiltPki
from tendering.platform import Platform
from tests.experts.pool_helpers import add_experts, employer_uscc, many
from tests.identity.conftest import enrol, token_for
from tests.tenders.conftest import Parties

Client = TestClient[Litestar]


def test_an_admin_creates_updates_suspends_and_lists(
    app_client: Client, test_pki: BuiltPki, platform: Platform, parties: Parties
) -> None:
    enrol(platform, test_pki.signing("admin"), "admin")
    admin = token_for(app_client, test_pki.signing("admin"))
    body = {
        "number": "E900",
        "name": "林晓峰",
        "specialties": ["A0201", "A0501"],
        "region": "350103",
        "employer_uscc": employer_uscc(42),
        "phones": ["13905910000"],
    }
    created = app_client.post("/experts/pool", json=body, headers=admin)
    assert created.status_code == 201, created.text
    assert created.json()["created"] is True
    assert created.json()["expert"]["phones"] == ["+8613905910000"]
    updated = app_client.post("/experts/pool", json={**body, "title": "教授"}, headers=admin).json()
    assert (updated["created"], updated["changed"]) == (False, ["title"])
    bad = app_client.post("/experts/pool", json={**body, "phones": ["abc"], "region": "1"}, headers=admin)
    assert bad.status_code == 400
    assert {e["column"] for e in bad.json()["errors"]} == {"phones", "region"}
    expert_id = created.json()["expert"]["id"]
    suspended = app_client.post(
        f"/experts/pool/{expert_id}/status", json={"status": "suspended"}, headers=admin
    )
    assert suspended.json()["status"] == "suspended"
    add_experts(platform, many(30))
    page = app_client.get("/experts/pool?limit=10&offset=25", headers=admin).json()
    assert (page["total"], len(page["experts"])) == (31, 6)
    roads = app_client.get("/experts/pool?specialty=A02", headers=admin).json()
    assert [e["number"] for e in roads["experts"]] == ["E900"]
    assert app_client.get("/experts/pool?status=suspended", headers=admin).json()["total"] == 1
    reviewer = token_for(app_client, test_pki.signing("reviewer"))
    assert app_client.get("/experts/pool", headers=reviewer).status_code == 200
    assert (
        app_client.post(
            "/experts/pool", json=body, headers=token_for(app_client, test_pki.signing("agency"))
        ).status_code
        == 403
    )
