"""Submitting, replacing and withdrawing bids over HTTP, and checking every receipt offline."""

from __future__ import annotations

import io
import json
from datetime import timedelta

from litestar.testing import TestClient
from sqlalchemy import func, select

from crypto.pki import BuiltPki
from crypto.receipt import ReceiptBundle, verify_receipt
from tendering.bids.models import Bid, BidVersion, SubmissionMetadata
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.identity.conftest import token_for
from tests.submission.conftest import OpenTender
from tests.submission.helpers import (
    Bidder,
    sealed,
    send_chunk,
    signed_body,
    start_upload,
    submission_statement,
    submit,
    withdrawal_statement,
)
from tests.tenders.conftest import log_entries


def _ca(pki: BuiltPki) -> list:  # type: ignore[type-arg]
    return [*pki.roots, *pki.intermediates]


def _verify(platform: Platform, pki: BuiltPki, document: dict, envelope: bytes | None = None):  # type: ignore[no-untyped-def, type-arg]
    bundle = ReceiptBundle.from_document(document)
    return verify_receipt(
        bundle,
        ca_certificates=_ca(pki),
        log_key=platform.translog.verifier_key(),
        envelope=io.BytesIO(envelope) if envelope is not None else None,
    )


def test_submit_gives_a_receipt_that_verifies_offline(
    app_client: TestClient,
    platform: Platform,
    test_pki: BuiltPki,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    envelope = sealed(tender.opening, b"A" * 5000)
    answer = submit(app_client, bidders[0], tender.id, envelope, chunk=1024)
    assert answer.status_code == 201, answer.text
    verdict = _verify(platform, test_pki, answer.json(), envelope)
    assert verdict.ok, verdict.checks
    assert {c.name for c in verdict.checks} == {
        "format",
        "platform-signature",
        "timestamp",
        "commitment",
        "inclusion",
        "checkpoint",
        "envelope",
    }
    receipt = verdict.receipt
    assert receipt["kind"] == "submitted" and receipt["version"] == 1
    assert receipt["tender"] == str(tender.id) and receipt["lots"] == [1]
    # the stored envelope is exactly the bytes sent
    with platform.blobs.open(receipt["envelope_sha256"]) as stored:
        assert stored.read() == envelope
    # a different file is not the envelope of this receipt
    other = _verify(platform, test_pki, answer.json(), envelope + b"x")
    assert not other.ok and not other.check("envelope").ok  # type: ignore[union-attr]


def test_receipt_is_fetched_again_and_bids_are_listed(
    app_client: TestClient,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    envelope = sealed(tender.opening)
    first = submit(app_client, bidders[0], tender.id, envelope).json()
    bid_id = json.loads(ReceiptBundle.from_document(first).receipt)["bid"]
    listed = app_client.get("/bids", headers=bidders[0].headers).json()
    assert [b["id"] for b in listed] == [bid_id]
    assert listed[0]["versions"][0]["kind"] == "submitted"
    again = app_client.get(f"/bids/{bid_id}/versions/1/receipt", headers=bidders[0].headers)
    assert again.json() == first
    # another bidder neither lists it nor fetches it
    assert app_client.get("/bids", headers=bidders[1].headers).json() == []
    assert app_client.get(f"/bids/{bid_id}", headers=bidders[1].headers).status_code == 404
    stranger = app_client.get(f"/bids/{bid_id}/versions/1/receipt", headers=bidders[1].headers)
    assert stranger.status_code == 404


def test_replace_and_withdraw_are_new_logged_versions(
    app_client: TestClient,
    platform: Platform,
    test_pki: BuiltPki,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    bidder = bidders[0]
    first = sealed(tender.opening, b"first")
    submitted = submit(app_client, bidder, tender.id, first).json()
    bid_id = json.loads(ReceiptBundle.from_document(submitted).receipt)["bid"]
    second = sealed(tender.opening, b"second")
    replaced = submit(app_client, bidder, tender.id, second)
    assert replaced.status_code == 201, replaced.text
    verdict = _verify(platform, test_pki, replaced.json(), second)
    assert verdict.ok and verdict.receipt["kind"] == "replaced" and verdict.receipt["version"] == 2
    statement = withdrawal_statement(tender.id, bid_id, bidder.uscc)
    withdrawn = app_client.post(
        f"/bids/{bid_id}/withdraw", json=signed_body(statement, bidder.signer), headers=bidder.headers
    )
    assert withdrawn.status_code == 201, withdrawn.text
    verdict = _verify(platform, test_pki, withdrawn.json())
    assert verdict.ok, verdict.checks
    assert verdict.receipt["kind"] == "withdrawn" and verdict.receipt["envelope_sha256"] is None
    detail = app_client.get(f"/bids/{bid_id}", headers=bidder.headers).json()
    assert detail["state"] == "withdrawn"
    assert [v["kind"] for v in detail["versions"]] == ["submitted", "replaced", "withdrawn"]
    again = app_client.post(
        f"/bids/{bid_id}/withdraw",
        json=signed_body(withdrawal_statement(tender.id, bid_id, bidder.uscc), bidder.signer),
        headers=bidder.headers,
    )
    assert again.status_code == 409 and again.json()["code"] == "bid-withdrawn"
    # submitting again after a withdrawal is version 4, a fresh submission
    resubmitted = submit(app_client, bidder, tender.id, sealed(tender.opening, b"third"))
    assert resubmitted.status_code == 201
    assert json.loads(ReceiptBundle.from_document(resubmitted.json()).receipt)["version"] == 4
    entries = [e for e in log_entries(platform) if e["type"] == "bid.version"]
    assert len(entries) == 4
    for entry in entries:
        assert entry["tender"] is None
        assert set(entry["data"]) == {"commitment"}
        assert set(entry["actor"]) == {"role", "commitment"}  # no operator in clear
        assert str(tender.id) not in json.dumps(entry) and bidder.uscc not in json.dumps(entry)


def test_nothing_changes_after_the_deadline(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    clock: ManualClock,
    test_pki: BuiltPki,
    tender: OpenTender,
    bidders: list[Bidder],
) -> None:
    bidder = bidders[0]
    submitted = submit(app_client, bidder, tender.id, sealed(tender.opening)).json()
    bid_id = json.loads(ReceiptBundle.from_document(submitted).receipt)["bid"]
    envelope = sealed(tender.opening, b"late")
    started = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    assert send_chunk(app_client, bidder, started, 0, envelope).status_code == 204
    clock.advance(timedelta(days=30))
    bidder_headers = token_for(app_client, test_pki.signing(bidder.name))
    bidder.headers = bidder_headers
    late = app_client.post(
        f"/bids/uploads/{started}/finalise",
        json=signed_body(submission_statement(tender.id, envelope, bidder.uscc), bidder.signer),
        headers=bidder_headers,
    )
    assert late.status_code == 409 and late.json()["code"] == "bid-deadline-passed", late.text
    assert start_upload(app_client, bidder, tender.id, envelope).json()["code"] == "bid-deadline-passed"
    withdraw = app_client.post(
        f"/bids/{bid_id}/withdraw",
        json=signed_body(withdrawal_statement(tender.id, bid_id, bidder.uscc), bidder.signer),
        headers=bidder_headers,
    )
    assert withdraw.json()["code"] == "bid-deadline-passed"
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(BidVersion)) == 1
        assert session.scalar(select(Bid.state)) == "active"


def test_monitor_metadata_is_recorded_and_sealed_until_the_opening(
    app_client: TestClient,
    platform: Platform,
    clock: ManualClock,
    test_pki: BuiltPki,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    answer = submit(app_client, bidders[0], tender.id, sealed(tender.opening), chunk=100)
    assert answer.status_code == 201
    with platform.session_factory() as session:
        meta = session.scalars(select(SubmissionMetadata)).one()
    assert meta.client_name == "sealbid-test" and meta.machine_code and meta.machine_code.startswith("mc-")
    assert meta.address and len(meta.chunks) > 1
    monitor = token_for(app_client, test_pki.signing("monitor"))
    sealed_answer = app_client.get(f"/monitor/tenders/{tender.id}/submissions", headers=monitor)
    assert sealed_answer.status_code == 409
    assert sealed_answer.json()["code"] == "bids-sealed-until-opening"
    clock.advance(timedelta(days=26))
    monitor = token_for(app_client, test_pki.signing("monitor"))
    records = app_client.get(f"/monitor/tenders/{tender.id}/submissions", headers=monitor).json()
    assert [r["bidder_uscc"] for r in records] == [bidders[0].uscc]
    assert records[0]["submission"]["machine_code"] == meta.machine_code
