"""Tender documents: versions in the blob store, release, recorded and confidential downloads."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest

from tendering.clock import ManualClock
from tendering.errors import Conflict, InvalidInput, NotFound, TooLate
from tendering.platform import Platform
from tendering.tenders import reading, service
from tendering.tenders.documents import inspect_downloads
from tendering.tenders.events import record_commitment
from tendering.tenders.notices import AmendmentSpec, amend
from tests.tenders.conftest import Parties, log_entries
from tests.tenders.helpers import agency, authority, draft, fetch, published, refused, tenderer, upload

pytestmark = pytest.mark.usefixtures("parties")


def test_versions_are_kept_and_released_at_publication(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    first = upload(platform, parties, tender_id, "招标文件.pdf", b"version one")
    second = upload(platform, parties, tender_id, "招标文件.pdf", b"version two")
    drawings = upload(platform, parties, tender_id, "图纸.zip", b"drawings")
    assert (first.version, second.version, drawings.version) == (1, 2, 1)
    assert second.sha256 == hashlib.sha256(b"version two").hexdigest() and second.size == 11
    assert platform.blobs.open(first.sha256).read() == b"version one"
    entry = log_entries(platform)[-1]
    assert entry["type"] == "tender.document_uploaded" and entry["data"]["sha256"] == drawings.sha256
    _zone, listed = reading.agency_documents(platform, tender_id, agency(parties))
    assert [(d.name, d.version, d.current, d.released_at) for d in listed] == [
        ("图纸.zip", 1, True, None),
        ("招标文件.pdf", 1, False, None),
        ("招标文件.pdf", 2, True, None),
    ]
    refused(NotFound, "tender-unknown", reading.public_detail, platform, tender_id)
    service.submit(platform, tender_id, actor=agency(parties))
    refused(Conflict, "documents-locked", upload, platform, parties, tender_id, "late.pdf", b"x")
    service.approve(platform, tender_id, actor=authority(parties))
    clock.advance(timedelta(hours=1))
    service.publish_due(platform)
    public = reading.public_detail(platform, tender_id).documents
    assert {(d.name, d.version) for d in public} == {
        ("图纸.zip", 1),
        ("招标文件.pdf", 1),
        ("招标文件.pdf", 2),
    }
    assert all(d.released_at == clock.now() for d in public)


def test_after_publication_a_version_is_staged_until_a_notice_releases_it(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": b"v1"})
    staged = upload(platform, parties, tender_id, "招标文件.pdf", b"v2")
    assert staged.version == 2 and staged.released_at is None
    assert [d.version for d in reading.public_detail(platform, tender_id).documents] == [1]
    refused(NotFound, "tender-unknown", fetch, platform, parties, tender_id, staged.id)
    spec = AmendmentSpec(title="修改（一）", body="招标文件第 2 版。", documents=(staged.id,))
    released = amend(platform, tender_id, spec, actor=agency(parties))
    public = {d.version: d for d in reading.public_detail(platform, tender_id).documents}
    assert public[2].notice_id == released.id and public[2].current
    assert reading.public_detail(platform, tender_id).notices[0].documents == (staged.id,)
    again = AmendmentSpec(title="x", body="y", documents=(staged.id,))
    refused(InvalidInput, "document-not-staged", amend, platform, tender_id, again, actor=agency(parties))


def test_document_names_and_media_types_are_checked(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    refused(
        InvalidInput, "document-name-invalid", upload, platform, parties, tender_id, "../etc/passwd", b"x"
    )
    refused(InvalidInput, "document-name-invalid", upload, platform, parties, tender_id, "  ", b"x")


def test_a_download_is_recorded_with_organisation_certificate_address_and_time(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": b"%PDF tender"})
    (document,) = reading.public_detail(platform, tender_id).documents
    grant = fetch(platform, parties, tender_id, document.id, 0)
    assert grant.document.sha256 == hashlib.sha256(b"%PDF tender").hexdigest()
    (record,) = reading.my_downloads(platform, tenderer(parties, 0))
    assert record["organisation"]["id"] == str(parties.tenderers[0])
    assert record["certificate_fingerprint"] == parties.fingerprints[parties.tenderers[0]]
    assert record["address"] == "192.0.2.20"
    assert record["downloaded_at"] == clock.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    # The public log holds a blinded event: no tender, no organisation, only a commitment that opens.
    entry = log_entries(platform)[-1]
    assert entry["type"] == "document.downloaded" and entry["tender"] is None
    assert set(entry["data"]) == {"record"} and entry["data"]["record"] == record["commitment"]
    public_entry = {key: value for key, value in entry.items() if key != "_audit"}
    assert str(parties.tenderers[0]) not in json.dumps(public_entry)
    opening = {
        "kind": "download",
        "record": record["id"],
        "tender": str(tender_id),
        "document": str(document.id),
        "sha256": document.sha256,
        "organisation": str(parties.tenderers[0]),
        "certificate": record["certificate_fingerprint"],
        "address": "192.0.2.20",
        "time": record["downloaded_at"],
    }
    assert record_commitment(bytes.fromhex(record["salt"]), opening) == record["commitment"]
    assert entry["_audit"]["address"] == "192.0.2.20"  # Measures Art. 49, in the private audit table


def test_downloads_are_confidential(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": b"%PDF tender"})
    (document,) = reading.public_detail(platform, tender_id).documents
    fetch(platform, parties, tender_id, document.id, 0)
    fetch(platform, parties, tender_id, document.id, 1)
    mine = reading.my_downloads(platform, tenderer(parties, 0))
    assert {r["organisation"]["id"] for r in mine} == {str(parties.tenderers[0])}
    assert reading.my_downloads(platform, tenderer(parties, 2)) == []
    public = json.dumps(reading.public_detail(platform, tender_id).document(), ensure_ascii=False)
    authority_view = json.dumps(reading.authority_detail(platform, tender_id).document(), ensure_ascii=False)
    agency_view = json.dumps(
        reading.agency_detail(platform, tender_id, agency(parties)).document(), ensure_ascii=False
    )
    for tenderer_id in parties.tenderers:
        for view in (public, authority_view, agency_view):
            assert str(tenderer_id) not in view
    assert "download" not in public
    monitor = parties.actor(parties.monitor, "monitor")
    inspected = inspect_downloads(platform, tender_id, actor=monitor)
    assert {r["organisation"]["id"] for r in inspected} == {
        str(parties.tenderers[0]),
        str(parties.tenderers[1]),
    }
    assert log_entries(platform)[-1]["type"] == "tender.downloads_inspected"


def test_the_document_period_admits_new_obtainers(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": b"%PDF tender"})
    (document,) = reading.public_detail(platform, tender_id).documents
    fetch(platform, parties, tender_id, document.id, 0)
    clock.advance(timedelta(days=7, seconds=1))  # the document period is over
    refused(TooLate, "document-period-closed", fetch, platform, parties, tender_id, document.id, 1)
    fetch(platform, parties, tender_id, document.id, 0)  # who obtained them may fetch them again
    clock.advance(timedelta(days=18))  # the bid deadline
    refused(TooLate, "documents-closed", fetch, platform, parties, tender_id, document.id, 0)


def test_documents_of_unpublished_tenders_cannot_be_downloaded(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    document = upload(platform, parties, tender_id, "招标文件.pdf", b"draft")
    refused(NotFound, "tender-unknown", fetch, platform, parties, tender_id, document.id)
