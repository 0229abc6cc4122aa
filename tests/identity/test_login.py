"""Certificate login through the app: every role's happy path and every refusal."""

from __future__ import annotations

import base64
import uuid
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.identity.challenges import issue_challenge
from tendering.platform import Platform
from tests.identity.conftest import b64, enrol, login, login_body, sign

Client = TestClient  # type: ignore[type-arg]


def problem(response, status: int, code: str) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert body["code"] == code, body
    return body


def test_challenge_is_single_use_nonce_bound_to_audience_and_expiry(
    app_client: Client, platform: Platform
) -> None:
    issued = app_client.post("/auth/challenge").json()
    challenge = issued["challenge"]
    assert challenge["type"] == "sealbid.login-challenge.v1"
    assert challenge["audience"] == platform.settings.public_url
    assert challenge["purpose"] == "login"
    assert len(challenge["nonce"]) == 43
    assert challenge["issued_at"] == "2026-01-05T01:00:00Z"
    assert challenge["expires_at"] == "2026-01-05T01:02:00Z"
    import rfc8785

    assert base64.b64decode(issued["signing_input"]) == rfc8785.dumps(challenge)


def test_tenderer_registers_itself_on_first_login(app_client: Client, test_pki: BuiltPki) -> None:
    first = login(app_client, test_pki.signing("tenderer-1"))
    assert first.status_code == 200, first.text
    answer = first.json()
    assert answer["registered"] is True
    assert answer["roles"] == ["tenderer"]
    assert answer["token_type"] == "Bearer"
    assert answer["expires_at"] == "2026-01-05T01:15:00Z"
    identity = answer["identity"]
    assert identity["kind"] == "enterprise"
    assert (
        identity["subject_id"]
        == test_pki.signing("tenderer-1")
        .certificate.subject.get_attributes_for_oid(
            __import__("cryptography").x509.ObjectIdentifier("2.5.4.97")
        )[0]
        .value
    )
    me = app_client.get("/auth/me", headers={"Authorization": f"Bearer {answer['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["roles"] == ["tenderer"]
    assert me.json()["identity"]["id"] == identity["id"]
    again = login(app_client, test_pki.signing("tenderer-1")).json()
    assert again["registered"] is False
    assert again["identity"]["id"] == identity["id"]


@pytest.mark.parametrize("algorithm", ["rsa-pss-sha256", "rsa-pkcs1v15-sha256"])
def test_rsa_certificates_log_in_with_pss_or_pkcs1(
    app_client: Client, test_pki: BuiltPki, algorithm: str
) -> None:
    response = login(app_client, test_pki.signing("tenderer-5"), algorithm=algorithm)
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == ["tenderer"]


@pytest.mark.parametrize(
    ("participant", "role"),
    [("expert-1", "expert"), ("custodian-1", "custodian"), ("admin", "admin"), ("agency", "agency")],
)
def test_enrolled_identities_log_in_with_their_roles(
    app_client: Client, platform: Platform, test_pki: BuiltPki, participant: str, role: str
) -> None:
    enrol(platform, test_pki.signing(participant), role)
    response = login(app_client, test_pki.signing(participant))
    assert response.status_code == 200, response.text
    assert response.json()["roles"] == [role]
    assert response.json()["registered"] is False
    me = app_client.get("/auth/me", headers={"Authorization": f"Bearer {response.json()['token']}"}).json()
    assert me["roles"] == [role]


def test_dual_certificates_belong_to_one_identity(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    enrol(platform, test_pki.signing("custodian-2"), "custodian")
    encryption = test_pki.encryption("custodian-2").certificate.public_bytes(Encoding.DER)
    response = login(app_client, test_pki.signing("custodian-2"), encryption_certificate=b64(encryption))
    assert response.status_code == 200, response.text
    purposes = sorted(c["purpose"] for c in response.json()["identity"]["certificates"])
    assert purposes == ["encryption", "signing"]


def test_encryption_certificate_of_another_subject_is_refused(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    enrol(platform, test_pki.signing("custodian-2"), "custodian")
    foreign = test_pki.encryption("custodian-3").certificate.public_bytes(Encoding.DER)
    response = login(app_client, test_pki.signing("custodian-2"), encryption_certificate=b64(foreign))
    problem(response, 400, "certificate-pair-mismatch")


@pytest.mark.parametrize(
    ("credential", "status", "code"),
    [
        ("revoked-sign", 401, "certificate-revoked"),
        ("expired-sign", 401, "certificate-expired"),
        ("early-sign", 401, "certificate-not-yet-valid"),
        ("enc-only-enc", 401, "certificate-wrong-key-usage"),
        ("bad-uscc-sign", 400, "uscc-invalid"),
        ("stranger-sign", 403, "identity-unknown"),
    ],
)
def test_certificate_refusals_each_have_their_reason(
    app_client: Client, test_pki: BuiltPki, credential: str, status: int, code: str
) -> None:
    body = problem(login(app_client, test_pki.credential(credential)), status, code)
    assert body["detail"]


def test_untrusted_root_is_refused(app_client: Client, rogue_pki: BuiltPki) -> None:
    problem(login(app_client, rogue_pki.signing("rogue")), 401, "certificate-untrusted")


def test_bad_signature_is_refused(app_client: Client, test_pki: BuiltPki) -> None:
    _, wrong = sign(test_pki.signing("tenderer-1"), b"something else")
    problem(login(app_client, test_pki.signing("tenderer-1"), signature=b64(wrong)), 401, "signature-invalid")


def test_signature_by_another_key_is_refused(app_client: Client, test_pki: BuiltPki) -> None:
    body = login_body(app_client, test_pki.signing("tenderer-2"))
    body["certificate"] = b64(test_pki.signing("tenderer-1").certificate.public_bytes(Encoding.DER))
    problem(app_client.post("/auth/login", json=body), 401, "signature-invalid")


def test_replayed_challenge_is_refused(app_client: Client, test_pki: BuiltPki) -> None:
    body = login_body(app_client, test_pki.signing("tenderer-1"))
    assert app_client.post("/auth/login", json=body).status_code == 200
    problem(app_client.post("/auth/login", json=body), 409, "challenge-used")


def test_failed_login_still_uses_up_the_challenge(app_client: Client, test_pki: BuiltPki) -> None:
    body = login_body(app_client, test_pki.signing("revoked"))
    problem(app_client.post("/auth/login", json=body), 401, "certificate-revoked")
    problem(app_client.post("/auth/login", json=body), 409, "challenge-used")


def test_expired_challenge_is_refused(app_client: Client, test_pki: BuiltPki, clock: ManualClock) -> None:
    body = login_body(app_client, test_pki.signing("tenderer-1"))
    clock.advance(timedelta(seconds=121))
    problem(app_client.post("/auth/login", json=body), 409, "challenge-expired")


def test_unknown_and_malformed_challenges_are_refused(app_client: Client, test_pki: BuiltPki) -> None:
    body = login_body(app_client, test_pki.signing("tenderer-1"))
    problem(
        app_client.post("/auth/login", json={**body, "challenge_id": str(uuid.uuid4())}),
        404,
        "challenge-unknown",
    )
    problem(app_client.post("/auth/login", json={**body, "challenge_id": "nope"}), 400, "challenge-malformed")


def test_challenge_for_another_audience_is_refused(
    app_client: Client, platform: Platform, test_pki: BuiltPki
) -> None:
    with platform.transaction() as session:
        view = issue_challenge(
            session, now=platform.clock.now(), audience="https://elsewhere.example", ttl_seconds=60
        )
    algorithm, signature = sign(test_pki.signing("tenderer-1"), view.signing_input())
    body = {
        "challenge_id": str(view.id),
        "certificate": b64(test_pki.signing("tenderer-1").certificate.public_bytes(Encoding.DER)),
        "signature": b64(signature),
        "signature_algorithm": algorithm,
    }
    problem(app_client.post("/auth/login", json=body), 401, "challenge-wrong-audience")


def test_malformed_inputs_are_readable_problems(app_client: Client, test_pki: BuiltPki) -> None:
    credential = test_pki.signing("tenderer-1")
    problem(
        login(app_client, credential, certificate=b64(b"not a certificate")), 400, "certificate-malformed"
    )
    problem(login(app_client, credential, signature="%%%"), 400, "invalid-base64")
    problem(
        login(app_client, credential, signature_algorithm="sm2-sm3"), 400, "signature-algorithm-unsupported"
    )
    problem(
        login(app_client, credential, signature_algorithm="rsa-pss-sha256"),
        400,
        "signature-algorithm-mismatch",
    )


def test_pem_certificate_is_accepted(app_client: Client, test_pki: BuiltPki) -> None:
    pem = test_pki.signing("tenderer-3").certificate.public_bytes(Encoding.PEM).decode()
    assert login(app_client, test_pki.signing("tenderer-3"), certificate=pem).status_code == 200
