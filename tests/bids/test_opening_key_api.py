"""The opening-key HTTP API: status codes, JSON shapes, the public certificate in DER and PEM."""

from __future__ import annotations

import base64
import uuid

from cryptography import x509
from litestar.testing import TestClient

from crypto.ceremony import parse_bundle
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.bids.fixtures import Parties, enrol_custodian_encryption, make_ceremony
from tests.identity.conftest import token_for
from tests.tenders.helpers import published


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_ceremony_over_http(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    test_pki: BuiltPki,
) -> None:
    enrol_custodian_encryption(platform, test_pki)
    tender = published(platform, clock, parties)
    base = f"/custodian/tenders/{tender}/opening-key"
    lead = token_for(app_client, test_pki.signing("custodian-1"))
    second = token_for(app_client, test_pki.signing("custodian-2"))
    tenderer = token_for(app_client, test_pki.signing("tenderer-1"))

    plan = app_client.get(f"{base}/custodians", headers=second)
    assert plan.status_code == 200, plan.text
    document = plan.json()
    assert document["tender"] == str(tender) and document["threshold"] == 2 and document["share_count"] == 3
    assert [c["index"] for c in document["custodians"]] == [1, 2, 3]
    assert [c["lead"] for c in document["custodians"]] == [True, False, False]
    assert (
        document["custodians"][1]["encryption_certificate_sha256"]
        == test_pki.encryption("custodian-2").fingerprint
    )
    assert app_client.get(f"{base}/custodians", headers=tenderer).status_code == 403
    assert app_client.get(f"{base}/custodians").status_code == 401
    unknown = app_client.get(f"/custodian/tenders/{uuid.uuid4()}/opening-key/custodians", headers=lead)
    assert unknown.status_code == 404

    assert (
        app_client.get(f"/public/tenders/{tender}/opening-certificate").json()["code"]
        == "opening-key-missing"
    )
    output = make_ceremony(platform, test_pki, parties, tender)
    body = {"bundle": _b64(output.bundle), "signature": _b64(output.signature)}
    not_lead = app_client.post(f"{base}/", json=body, headers=second)
    assert (not_lead.status_code, not_lead.json()["code"]) == (403, "not-lead-custodian")
    bad = app_client.post(f"{base}/", json={"bundle": "%%%", "signature": ""}, headers=lead)
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid-base64")
    created = app_client.post(f"{base}/", json=body, headers=lead)
    assert created.status_code == 201, created.text
    bundle = parse_bundle(output.bundle)
    assert created.json()["opening_certificate_sha256"] == bundle.opening_certificate_sha256
    assert created.json()["commitments"] == [
        {"index": s.index, "commitment": s.commitment} for s in bundle.shares
    ]
    replay = app_client.post(f"{base}/", json=body, headers=lead)
    assert (replay.status_code, replay.json()["created"]) == (200, False)
    other = make_ceremony(platform, test_pki, parties, tender)
    conflict = app_client.post(
        f"{base}/", json={"bundle": _b64(other.bundle), "signature": _b64(other.signature)}, headers=lead
    )
    assert (conflict.status_code, conflict.json()["code"]) == (409, "opening-key-registered")

    der = app_client.get(f"/public/tenders/{tender}/opening-certificate")
    assert der.status_code == 200 and der.headers["content-type"].startswith("application/pkix-cert")
    assert der.content == bundle.opening_certificate_der
    pem = app_client.get(f"/public/tenders/{tender}/opening-certificate?format=pem")
    assert x509.load_pem_x509_certificate(pem.content) == bundle.opening_certificate
    assert app_client.get(f"/public/tenders/{tender}/opening-certificate?format=txt").status_code == 400

    share = app_client.get(f"{base}/share", headers=second)
    assert share.status_code == 200
    assert share.json()["index"] == 2 and share.json()["commitment"] == bundle.shares[1].commitment
    assert base64.b64decode(share.json()["encrypted_share"]) == bundle.shares[1].encrypted_share
    assert app_client.get(f"{base}/share", headers=tenderer).status_code == 403
