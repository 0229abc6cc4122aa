"""Every acceptance check refuses with its own code and a plain message, and stores nothing."""

from __future__ import annotations

import hashlib
import os
import uuid
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from crypto.cms import sign_detached
from crypto.pki import BuiltPki
from tendering.bids.models import Bid, BidVersion
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.tenders.reading import public_detail
from tests.bids.fixtures import register_opening_key
from tests.identity.conftest import token_for
from tests.submission.conftest import OpenTender, make_bidder
from tests.submission.helpers import (
    Bidder,
    opening_certificate,
    sealed,
    signed_body,
    signer_of,
    start_upload,
    submission_statement,
    submit,
)
from tests.tenders.conftest import Parties, log_types
from tests.tenders.helpers import fetch, published


def _nothing_stored(platform: Platform, envelope: bytes) -> None:
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Bid)) == 0
        assert session.scalar(select(func.count()).select_from(BidVersion)) == 0
    assert not platform.blobs.exists(hashlib.sha256(envelope).hexdigest())
    assert "bid.version" not in log_types(platform)


def _refused(answer: Any, status: int, code: str) -> None:
    assert answer.status_code == status, answer.text
    problem = answer.json()
    assert problem["code"] == code
    assert problem["detail"]  # a plain explanation


def test_an_unencrypted_bid_is_refused(
    app_client: TestClient,
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    plain = b"%PDF-1.7 the bid in the clear"
    _refused(submit(app_client, bidders[0], tender.id, plain), 400, "envelope-not-sealed")
    _nothing_stored(platform, plain)


def test_a_bid_sealed_to_another_certificate_is_refused(
    app_client: TestClient,
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    wrong = sealed(opening_certificate("another tender"))
    _refused(submit(app_client, bidders[0], tender.id, wrong), 400, "envelope-wrong-recipient")
    _nothing_stored(platform, wrong)


def test_a_statement_signed_by_another_organisation_is_refused(
    app_client: TestClient,
    platform: Platform,
    test_pki: BuiltPki,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    envelope = sealed(tender.opening)
    impostor = Bidder(bidders[0].name, bidders[0].headers, signer_of(test_pki, "tenderer-2"), bidders[0].uscc)
    _refused(submit(app_client, impostor, tender.id, envelope), 403, "signer-not-bidder")
    _nothing_stored(platform, envelope)


@pytest.mark.parametrize(
    ("override", "code"),
    [
        ({"envelope_sha256": "0" * 64}, "statement-mismatch"),
        ({"envelope_size": 7}, "statement-mismatch"),
        ({"bidder_uscc": "91350100MA1DEB0299"}, "statement-mismatch"),
        ({"tender": str(uuid.UUID(int=7))}, "statement-mismatch"),
        ({"lots": [9]}, "lot-not-in-tender"),
        ({"lots": []}, "statement-malformed"),
        ({"nonce": "short"}, "statement-malformed"),
        ({"type": "sealbid.other.v1"}, "statement-malformed"),
        ({"client": "curl"}, "statement-malformed"),
    ],
)
def test_a_statement_that_does_not_match_is_refused(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],
    override: dict[str, Any],
    code: str,
) -> None:
    envelope = sealed(tender.opening)
    statement = submission_statement(tender.id, envelope, bidders[0].uscc, **override)
    _refused(submit(app_client, bidders[0], tender.id, envelope, statement=statement), 400, code)
    _nothing_stored(platform, envelope)


def test_a_statement_not_in_canonical_form_or_badly_signed_is_refused(
    app_client: TestClient,
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening)
    spaced = submission_statement(tender.id, envelope, bidder.uscc).replace(b'","', b'", "', 1)
    _refused(submit(app_client, bidder, tender.id, envelope, statement=spaced), 400, "statement-malformed")
    created = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    from tests.submission.helpers import send_chunk

    assert send_chunk(app_client, bidder, created, 0, envelope).status_code == 204
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    body = signed_body(statement, bidder.signer)
    body["signature"] = signed_body(statement + b" ", bidder.signer)["signature"]  # over other bytes
    answer = app_client.post(f"/bids/uploads/{created}/finalise", json=body, headers=bidder.headers)
    _refused(answer, 400, "statement-signature-invalid")
    garbage = {"statement": body["statement"], "signature": "AAAA"}
    answer = app_client.post(f"/bids/uploads/{created}/finalise", json=garbage, headers=bidder.headers)
    _refused(answer, 400, "statement-signature-invalid")
    _nothing_stored(platform, envelope)


def test_a_replayed_statement_is_refused(
    app_client: TestClient,
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening)
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    assert submit(app_client, bidder, tender.id, envelope, statement=statement).status_code == 201
    _refused(submit(app_client, bidder, tender.id, envelope, statement=statement), 409, "statement-replayed")
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(BidVersion)) == 1


def test_an_envelope_over_the_size_limit_is_refused_before_upload(
    app_client: TestClient,
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    limit = platform.settings.bids.max_envelope_bytes
    body = {"tender": str(tender.id), "size": limit + 1, "sha256": "0" * 64}
    _refused(
        app_client.post("/bids/uploads", json=body, headers=bidders[0].headers), 400, "envelope-too-large"
    )


def test_a_tender_without_opening_key_or_unpublished_takes_no_bids(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    test_pki: BuiltPki,
    tender: OpenTender,
) -> None:
    unkeyed = published(platform, clock, parties)
    bidder = make_bidder(app_client, test_pki, "tenderer-1")  # after the hour published() waits
    envelope = sealed(tender.opening)
    _refused(start_upload(app_client, bidder, unkeyed, envelope), 409, "opening-key-missing")
    _refused(start_upload(app_client, bidder, uuid.uuid4(), envelope), 404, "tender-not-found")


def test_only_tenderers_that_obtained_the_documents_may_bid(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    test_pki: BuiltPki,
    tender: OpenTender,
) -> None:
    with_documents = published(platform, clock, parties, documents={"招标文件.pdf": os.urandom(64)})
    keyed = register_opening_key(platform, test_pki, parties, with_documents)
    envelope = sealed(keyed.opening_certificate)
    document_id = public_detail(platform, with_documents).documents[0].id
    fetch(platform, parties, with_documents, document_id, index=1)  # tenderer-2 obtains the documents
    stranger, holder = (make_bidder(app_client, test_pki, f"tenderer-{i}") for i in (1, 2))
    _refused(start_upload(app_client, stranger, with_documents, envelope), 403, "documents-not-obtained")
    assert start_upload(app_client, holder, with_documents, envelope).status_code == 201
    agency_headers = token_for(app_client, test_pki.signing("agency"))
    as_agency = Bidder("agency", agency_headers, holder.signer, "")
    _refused(start_upload(app_client, as_agency, with_documents, envelope), 403, "role-required")


def test_the_signature_must_come_from_a_registered_signing_certificate(
    app_client: TestClient,
    platform: Platform,
    test_pki: BuiltPki,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    """An unregistered certificate of the right organisation is not enough (register it first)."""
    bidder = bidders[0]
    envelope = sealed(tender.opening)
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    foreign = signer_of(test_pki, "revoked")
    body = signed_body(statement, bidder.signer)
    body["signature"] = __import__("base64").b64encode(sign_detached(statement, foreign)).decode()
    created = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    from tests.submission.helpers import send_chunk

    assert send_chunk(app_client, bidder, created, 0, envelope).status_code == 204
    answer = app_client.post(f"/bids/uploads/{created}/finalise", json=body, headers=bidder.headers)
    _refused(answer, 403, "signer-not-bidder")
    _nothing_stored(platform, envelope)


def test_refusals_come_in_the_bidders_language(
    app_client: TestClient,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    plain = b"not sealed at all"
    bidder = bidders[0]
    chinese = Bidder(
        bidder.name, {**bidder.headers, "Accept-Language": "zh-CN,zh;q=0.9"}, bidder.signer, bidder.uscc
    )
    answer = submit(app_client, chinese, tender.id, plain)
    assert answer.json()["code"] == "envelope-not-sealed"
    assert "未加密的投标文件将被拒收" in answer.json()["message"] and answer.json()["locale"] == "zh-CN"
    english = Bidder(bidder.name, {**bidder.headers, "Accept-Language": "en"}, bidder.signer, bidder.uscc)
    answer = submit(app_client, english, tender.id, plain)
    assert "unencrypted bids are refused" in answer.json()["message"]
