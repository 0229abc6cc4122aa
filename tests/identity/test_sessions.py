"""Requests with tokens: expiry, revocation after login, role guards, administration of roles."""

from __future__ import annotations

from datetime import timedelta

from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient
from sqlalchemy import select

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.identity.checker import DevPki
from tendering.identity.models import Certificate
from tendering.platform import Platform
from tests.identity.conftest import b64, enrol, login, token_for
from tests.identity.test_login import problem

Client = TestClient  # type: ignore[type-arg]


def test_no_token_is_401_and_garbage_token_is_401(app_client: Client) -> None:
    problem(app_client.get("/auth/me"), 401, "login-required")
    problem(app_client.get("/auth/me", headers={"Authorization": "Basic abc"}), 401, "login-required")
    problem(app_client.get("/auth/me", headers={"Authorization": "Bearer not.a.jwt"}), 401, "token-invalid")


def test_token_expires_by_the_platform_clock(
    app_client: Client, test_pki: BuiltPki, clock: ManualClock
) -> None:
    headers = token_for(app_client, test_pki.signing("tenderer-1"))
    clock.advance(timedelta(seconds=899))
    assert app_client.get("/auth/me", headers=headers).status_code == 200
    clock.advance(timedelta(seconds=1))
    problem(app_client.get("/auth/me", headers=headers), 401, "token-expired")


def test_token_signed_with_another_key_is_refused(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    headers = token_for(app_client, test_pki.signing("tenderer-1"))
    platform.tokens._secret = b"x" * 32  # as if the server's key were rotated
    problem(app_client.get("/auth/me", headers=headers), 401, "token-invalid")


def test_tenderer_cannot_call_admin_endpoints(app_client: Client, test_pki: BuiltPki) -> None:
    headers = token_for(app_client, test_pki.signing("tenderer-1"))
    body = problem(app_client.get("/admin/identities", headers=headers), 403, "role-required")
    assert body["required"] == ["admin"]


def test_revocation_in_the_registry_ends_the_session(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    enrol(platform, test_pki.signing("admin"), "admin")
    admin = token_for(app_client, test_pki.signing("admin"))
    tenderer = token_for(app_client, test_pki.signing("tenderer-2"))
    assert app_client.get("/auth/me", headers=tenderer).status_code == 200
    fingerprint = test_pki.signing("tenderer-2").fingerprint
    revoked = app_client.post(
        f"/admin/certificates/{fingerprint}/revoke", json={"reason": "lost"}, headers=admin
    )
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["certificates"][0]["status"] == "revoked"
    problem(app_client.get("/auth/me", headers=tenderer), 401, "certificate-revoked")
    problem(login(app_client, test_pki.signing("tenderer-2")), 401, "certificate-revoked")


def test_revocation_by_the_ca_ends_the_session_within_the_cache_ttl(
    app_client: Client, platform: Platform, test_pki: BuiltPki, dev: DevPki, clock: ManualClock
) -> None:
    credential = test_pki.signing("tenderer-3")
    headers = token_for(app_client, credential)
    dev.authority.revoke(credential.certificate)
    clock.advance(timedelta(seconds=platform.settings.cert_cache_ttl_seconds + 1))
    problem(app_client.get("/auth/me", headers=headers), 401, "certificate-revoked")
    with platform.transaction() as session:
        row = session.scalar(select(Certificate).where(Certificate.fingerprint == credential.fingerprint))
        assert row is not None
        assert row.status == "revoked"


def test_admin_enrols_grants_and_revokes_roles(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    enrol(platform, test_pki.signing("admin"), "admin")
    admin = token_for(app_client, test_pki.signing("admin"))
    expert = test_pki.signing("expert-2")
    problem(login(app_client, expert), 403, "identity-unknown")

    enrolled = app_client.post(
        "/admin/identities",
        json={"certificate": b64(expert.certificate.public_bytes(Encoding.DER)), "roles": ["expert"]},
        headers=admin,
    )
    assert enrolled.status_code == 200, enrolled.text
    identity_id = enrolled.json()["id"]
    assert enrolled.json()["roles"] == ["expert"]
    expert_headers = token_for(app_client, expert)

    granted = app_client.post(
        f"/admin/identities/{identity_id}/roles", json={"role": "monitor"}, headers=admin
    )
    assert granted.json()["roles"] == ["expert", "monitor"]
    assert app_client.get("/auth/me", headers=expert_headers).json()["roles"] == [
        "expert"
    ]  # needs a new login
    assert token_for(app_client, expert) and login(app_client, expert).json()["roles"] == [
        "expert",
        "monitor",
    ]

    revoked = app_client.delete(f"/admin/identities/{identity_id}/roles/expert", headers=admin)
    assert revoked.json()["roles"] == ["monitor"]
    assert app_client.get("/auth/me", headers=expert_headers).json()["roles"] == []  # gone at once

    listed = app_client.get("/admin/identities", headers=admin).json()
    assert {entry["id"] for entry in listed} >= {identity_id}
    problem(
        app_client.post(f"/admin/identities/{identity_id}/roles", json={"role": "king"}, headers=admin),
        400,
        "role-unknown",
    )


def test_identity_without_roles_cannot_log_in(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    enrol(platform, test_pki.signing("admin"), "admin")
    admin = token_for(app_client, test_pki.signing("admin"))
    answer = login(app_client, test_pki.signing("tenderer-4")).json()
    app_client.delete(f"/admin/identities/{answer['identity']['id']}/roles/tenderer", headers=admin)
    problem(login(app_client, test_pki.signing("tenderer-4")), 403, "identity-without-role")


def test_enrolment_validates_the_certificate(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    enrol(platform, test_pki.signing("admin"), "admin")
    admin = token_for(app_client, test_pki.signing("admin"))
    revoked = b64(test_pki.signing("revoked").certificate.public_bytes(Encoding.DER))
    problem(
        app_client.post(
            "/admin/identities", json={"certificate": revoked, "roles": ["agency"]}, headers=admin
        ),
        400,
        "certificate-revoked",
    )
