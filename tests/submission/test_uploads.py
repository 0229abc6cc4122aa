"""The resumable upload: offsets, re-sent chunks, resuming, ownership, expiry and clean-up."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from crypto.pki import BuiltPki
from tendering.bids.models import UploadSession
from tendering.bids.uploads import partial_path, sweep_expired
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.submission.conftest import OpenTender, make_bidder
from tests.submission.helpers import (
    OFFSET_TYPE,
    Bidder,
    sealed,
    send_chunk,
    signed_body,
    start_upload,
    submission_statement,
)


def _finalise(client: TestClient, bidder: Bidder, upload_id: str, tender: OpenTender, envelope: bytes):  # type: ignore[no-untyped-def, type-arg]
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    return client.post(
        f"/bids/uploads/{upload_id}/finalise",
        json=signed_body(statement, bidder.signer),
        headers=bidder.headers,
    )


def test_resume_after_a_dropped_connection_with_resent_and_overlapping_chunks(
    app_client: TestClient,
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening, bytes(range(256)) * 20)
    created = start_upload(app_client, bidder, tender.id, envelope)
    assert created.status_code == 201
    assert created.headers["Upload-Offset"] == "0"
    assert created.headers["Upload-Length"] == str(len(envelope))
    assert created.headers["Location"] == f"/bids/uploads/{created.json()['id']}"
    upload_id = created.json()["id"]
    first = send_chunk(app_client, bidder, upload_id, 0, envelope[:1000])
    assert first.status_code == 204 and first.headers["Upload-Offset"] == "1000"
    # the client lost the answer and asks where to resume
    asked = app_client.head(f"/bids/uploads/{upload_id}", headers=bidder.headers)
    assert asked.status_code == 200 and asked.headers["Upload-Offset"] == "1000"
    # it re-sends the same chunk: harmless
    again = send_chunk(app_client, bidder, upload_id, 0, envelope[:1000])
    assert again.status_code == 204 and again.headers["Upload-Offset"] == "1000"
    # a chunk overlapping what arrived appends only the new tail
    overlap = send_chunk(app_client, bidder, upload_id, 500, envelope[500:2000])
    assert overlap.headers["Upload-Offset"] == "2000"
    # a chunk from the future is refused with the offset to resume from
    gap = send_chunk(app_client, bidder, upload_id, 3000, envelope[3000:4000])
    assert gap.status_code == 409 and gap.json()["code"] == "upload-offset-mismatch"
    assert gap.json()["offset"] == 2000
    # a re-sent chunk whose bytes differ from what arrived is refused
    changed = send_chunk(app_client, bidder, upload_id, 0, b"X" * 1000)
    assert changed.status_code == 409 and changed.json()["offset"] == 2000
    assert send_chunk(app_client, bidder, upload_id, 2000, envelope[2000:]).status_code == 204
    assert app_client.get(f"/bids/uploads/{upload_id}", headers=bidder.headers).json()["offset"] == len(
        envelope
    )
    answer = _finalise(app_client, bidder, upload_id, tender, envelope)
    assert answer.status_code == 201, answer.text
    with platform.blobs.open(hashlib.sha256(envelope).hexdigest()) as stored:
        assert stored.read() == envelope
    assert not partial_path(platform, uuid.UUID(upload_id)).exists()
    twice = _finalise(app_client, bidder, upload_id, tender, envelope)
    assert twice.status_code == 409 and twice.json()["code"] == "upload-finished"


def test_bad_chunks_are_refused(
    app_client: TestClient,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    beyond = send_chunk(app_client, bidder, upload_id, 0, envelope + b"extra")
    assert beyond.status_code == 400 and beyond.json()["code"] == "upload-beyond-size"
    wrong_type = app_client.patch(
        f"/bids/uploads/{upload_id}",
        content=envelope,
        headers={**bidder.headers, "Upload-Offset": "0", "Content-Type": "application/json"},
    )
    assert wrong_type.json()["code"] == "upload-content-type"
    no_offset = app_client.patch(
        f"/bids/uploads/{upload_id}",
        content=envelope,
        headers={**bidder.headers, "Content-Type": OFFSET_TYPE},
    )
    assert no_offset.json()["code"] == "upload-offset-missing"
    incomplete = _finalise(app_client, bidder, upload_id, tender, envelope)
    assert incomplete.status_code == 409 and incomplete.json()["code"] == "upload-incomplete"
    assert incomplete.json()["offset"] == 0


@pytest.mark.parametrize("position", [0, -40])  # the DER header, or inside the encrypted content
def test_corrupted_bytes_are_caught_at_finalisation(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],
    position: int,
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening, b"z" * 300)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    corrupted = bytearray(envelope)
    corrupted[position] ^= 1
    assert send_chunk(app_client, bidder, upload_id, 0, bytes(corrupted)).status_code == 204
    answer = _finalise(app_client, bidder, upload_id, tender, envelope)
    assert answer.status_code == 400 and answer.json()["code"] == "envelope-digest-mismatch"
    assert not platform.blobs.exists(hashlib.sha256(envelope).hexdigest())
    assert not platform.blobs.exists(hashlib.sha256(bytes(corrupted)).hexdigest())


def test_an_upload_belongs_to_its_bidder(
    app_client: TestClient,
    tender: OpenTender,
    bidders: list[Bidder],  # type: ignore[type-arg]
) -> None:
    owner, other = bidders[0], bidders[1]
    envelope = sealed(tender.opening)
    upload_id = start_upload(app_client, owner, tender.id, envelope).json()["id"]
    assert app_client.get(f"/bids/uploads/{upload_id}", headers=other.headers).status_code == 404
    assert app_client.head(f"/bids/uploads/{upload_id}", headers=other.headers).status_code == 404
    assert send_chunk(app_client, other, upload_id, 0, envelope).status_code == 404
    assert app_client.delete(f"/bids/uploads/{upload_id}", headers=other.headers).status_code == 404
    assert _finalise(app_client, other, upload_id, tender, envelope).status_code == 404
    assert app_client.delete(f"/bids/uploads/{upload_id}", headers=owner.headers).status_code == 204
    assert app_client.get(f"/bids/uploads/{upload_id}", headers=owner.headers).status_code == 404


def test_abandoned_uploads_expire_and_are_swept(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    clock: ManualClock,
    test_pki: BuiltPki,
    tender: OpenTender,
    bidders: list[Bidder],
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    assert send_chunk(app_client, bidder, upload_id, 0, envelope[:100]).status_code == 204
    path = partial_path(platform, uuid.UUID(upload_id))
    assert path.stat().st_size == 100
    assert sweep_expired(platform) == 0
    clock.advance(timedelta(seconds=platform.settings.bids.upload_ttl_seconds + 1))
    bidder = make_bidder(app_client, test_pki, bidder.name)
    late = send_chunk(app_client, bidder, upload_id, 100, envelope[100:])
    assert late.status_code == 409 and late.json()["code"] == "upload-expired"
    platform.maintenance()  # the periodic sweep removes it
    assert sweep_expired(platform) == 0
    assert not path.exists()
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(UploadSession)) == 0
