"""Login-related state changes reach the transparency log, naming no one in public."""

from __future__ import annotations

import json

from litestar.testing import TestClient
from sqlalchemy import select

from crypto.pki import BuiltPki
from tendering.platform import Platform
from tendering.translog.models import LogPending
from tests.identity.conftest import enrol, login, token_for

Client = TestClient  # type: ignore[type-arg]


def _entries(platform: Platform) -> list[tuple[dict, LogPending]]:  # type: ignore[type-arg]
    with platform.transaction() as session:
        rows = session.scalars(select(LogPending).order_by(LogPending.id)).all()
        return [(json.loads(row.entry), row) for row in rows]


def test_login_events_are_logged_without_names(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    platform.translog.sequence = lambda *a, **k: 0  # type: ignore[method-assign]  # keep rows pending
    credential = test_pki.signing("tenderer-1")
    assert login(app_client, credential).status_code == 200
    assert login(app_client, test_pki.signing("revoked")).status_code == 401
    app_client.post("/auth/challenge")  # not a state change: no entry
    entries = _entries(platform)
    types = [entry["type"] for entry, _ in entries]
    assert types == [
        "identity.registered",
        "identity.role.granted",
        "identity.certificate.registered",
        "identity.login.succeeded",
        "identity.login.failed",
    ]
    text = json.dumps([entry for entry, _ in entries], ensure_ascii=False)
    uscc = credential.certificate.subject.rfc4514_string()
    assert "有限公司" not in text and credential.fingerprint not in text and "testclient" not in text
    assert "2.5.4.97" not in uscc or uscc.split("2.5.4.97=")[1][:18] not in text
    success, private = entries[3]
    assert success["actor"]["role"] == "tenderer" and "operator" not in success["actor"]
    assert private.address == "testclient" and private.operator is not None
    identity_id = success["data"].get("subject") or private.operator
    for entry, _ in entries[:3]:  # self-registration names no identity id that could link the bidder
        assert "subject" not in entry["data"], entry
        assert str(identity_id) not in json.dumps(entry)
    failure, private_failure = entries[4]
    assert failure["data"] == {"reason": "certificate-revoked"}
    assert private_failure.operator == f"certificate:{test_pki.signing('revoked').fingerprint}"


def test_admin_grants_name_the_subject_and_the_admin(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    platform.translog.sequence = lambda *a, **k: 0  # type: ignore[method-assign]
    enrol(platform, test_pki.signing("admin"), "admin")
    admin = token_for(app_client, test_pki.signing("admin"))
    tenderer = login(app_client, test_pki.signing("tenderer-2")).json()["identity"]["id"]
    app_client.post(f"/admin/identities/{tenderer}/roles", json={"role": "monitor"}, headers=admin)
    grant = [entry for entry, _ in _entries(platform) if entry["type"] == "identity.role.granted"][-1]
    assert grant["data"] == {"role": "monitor", "basis": "admin", "subject": tenderer}
    assert grant["actor"]["role"] == "admin" and "operator" in grant["actor"]
