"""Refusals of who may bid and of chunk size: bidder-is-party, bidder-not-enterprise, chunk-too-large."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from crypto.pki import BuiltPki
from tendering.bids.models import Bid, UploadSession
from tendering.identity.audit import Actor
from tendering.identity.service import grant_to_identity
from tendering.platform import Platform
from tendering.settings import Settings
from tests.identity.conftest import token_for
from tests.submission.conftest import OpenTender
from tests.submission.helpers import Bidder, sealed, send_chunk, signer_of, start_upload
from tests.tenders.conftest import Parties

MAX_CHUNK = 1024


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """This module's platform takes chunks of at most 1 KiB."""
    bids = settings.bids.model_copy(update={"max_chunk_bytes": MAX_CHUNK})
    return settings.model_copy(update={"bids": bids})


def _refused(answer: Any, status: int, code: str) -> dict[str, Any]:
    assert answer.status_code == status, answer.text
    problem: dict[str, Any] = answer.json()
    assert problem["code"] == code and problem["detail"]
    return problem


def _as_tenderer(
    client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    pki: BuiltPki,
    name: str,
    identity: Any,
) -> Bidder:
    grant_to_identity(platform, identity, "tenderer", actor=Actor.system("console"))
    return Bidder(name, token_for(client, pki.signing(name)), signer_of(pki, name), "")


def test_the_tenders_agency_or_tenderee_cannot_bid_on_it(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    test_pki: BuiltPki,
    parties: Parties,
    tender: OpenTender,
) -> None:
    envelope = sealed(tender.opening)
    for name, identity in (("agency", parties.agency), ("tenderee", parties.tenderee)):
        party = _as_tenderer(app_client, platform, test_pki, name, identity)
        _refused(start_upload(app_client, party, tender.id, envelope), 403, "bidder-is-party")
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(UploadSession)) == 0


def test_a_person_cannot_bid(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    test_pki: BuiltPki,
    parties: Parties,
    tender: OpenTender,
) -> None:
    person = _as_tenderer(app_client, platform, test_pki, "reviewer", parties.authority)
    envelope = sealed(tender.opening)
    _refused(start_upload(app_client, person, tender.id, envelope), 403, "bidder-not-enterprise")
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(UploadSession)) == 0
        assert session.scalar(select(func.count()).select_from(Bid)) == 0


def test_a_chunk_over_the_limit_is_refused_and_nothing_of_it_counts(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening, b"c" * 3000)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    problem = _refused(
        send_chunk(app_client, bidder, upload_id, 0, envelope[: MAX_CHUNK + 1]), 400, "chunk-too-large"
    )
    assert problem["limit"] == MAX_CHUNK
    assert app_client.get(f"/bids/uploads/{upload_id}", headers=bidder.headers).json()["offset"] == 0
    for offset in range(0, len(envelope), MAX_CHUNK):  # chunks at the limit are fine
        assert (
            send_chunk(
                app_client, bidder, upload_id, offset, envelope[offset : offset + MAX_CHUNK]
            ).status_code
            == 204
        )
    status = app_client.get(f"/bids/uploads/{upload_id}", headers=bidder.headers).json()
    assert status["offset"] == len(envelope) and status["sha256"] == hashlib.sha256(envelope).hexdigest()
