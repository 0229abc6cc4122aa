"""The opening record: built from recorded facts, signed (CMS, time-stamped), logged, published once."""

# ruff: noqa: F811 - pytest fixtures are imported by name and then requested as parameters

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import func, select

from crypto.cms import verify_signed
from crypto.pki import BuiltPki
from tendering.errors import Conflict, Unavailable
from tendering.opening.models import Decryption, Outcome
from tendering.opening.record import RECORD_PUBLISHED_EVENT, publish_opening_record, published_record
from tendering.opening.record_document import RECORD_TYPE
from tendering.opening.record_models import OpeningRecord
from tendering.platform import Platform
from tendering.translog.models import LogEntry, LogPending
from tests.crypto.cms.testpki import OPENSSL, needs_openssl
from tests.opening.hall_fixtures import (  # noqa: F401 - fixtures
    HallTender,
    app_client,
    decide,
    dev,
    finish,
    hall_tender,
    parties,
    release_share,
    test_pki,
)
from tests.tenders.conftest import Parties


def finished_opening(platform: Platform, hall: HallTender, parties: Parties) -> None:
    """Custodians 1 and 3 released; tenderer-1 and -2 opened, tenderer-3 failed its own layer."""
    one, two, three = parties.tenderers
    release_share(platform, hall.tender_id, 1)
    release_share(platform, hall.tender_id, 3)
    decide(
        platform, hall.outcomes[one], Outcome.OPENED, amount="11800000.50", lot_id=hall.lot_id, bond="250000"
    )
    decide(platform, hall.outcomes[two], Outcome.OPENED, amount="11650000", lot_id=hall.lot_id)
    decide(
        platform,
        hall.outcomes[three],
        Outcome.REVOKED,
        decryption=Decryption.BIDDER_FAILED,
        reason_code="bidder-layer-not-decrypted",
    )
    finish(platform, hall.tender_id)


def publish(platform: Platform, hall: HallTender) -> OpeningRecord:
    with platform.transaction() as session:
        record = publish_opening_record(session, platform, hall.tender_id)
        assert record is not None
        session.expunge(record)
    return record


def log_events(platform: Platform, event_type: str) -> list[dict[str, Any]]:
    with platform.session_factory() as session:
        pending = [*session.scalars(select(LogPending.entry))]  # first: see test_hall
        raws = [*session.scalars(select(LogEntry.entry)), *pending]
    return [entry for entry in map(json.loads, raws) if entry["type"] == event_type]


def test_record_lists_every_bidder_with_what_it_declared_and_how_it_ended(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    finished_opening(platform, hall_tender, parties)
    record = publish(platform, hall_tender)
    document = json.loads(record.document)

    assert document["type"] == RECORD_TYPE
    assert record.document == bytes(rfc8785.dumps(document))  # canonical: the signed bytes
    assert record.sha256 == hashlib.sha256(record.document).hexdigest()
    assert document["tender"]["id"] == str(hall_tender.tender_id)
    assert [lot["number"] for lot in document["lots"]] == [1]
    assert document["envelopes"]["count"] == 3
    assert document["custodians"] == {"threshold": 2, "appointed": 3, "released": [1, 3]}
    by_name = {bid["bidder"]["name"]: bid for bid in document["bids"]}
    names = {bidder_id: name for bidder_id, (name, _) in hall_tender.bidders.items()}
    one, two, three = (by_name[names[t]] for t in parties.tenderers)
    assert one["outcome"] == "opened"
    assert one["lots"][0]["price"] == {"amount": "11800000.50", "currency": "CNY"}
    assert one["lots"][0]["duration_days"] == 180
    assert one["lots"][0]["quality"] == "合格"
    assert one["lots"][0]["bond"] == {
        "status": "declared",
        "declared": "250000",
        "source": "declared-in-price-form",
    }
    assert two["lots"][0]["bond"]["status"] == "not-declared"
    assert three["outcome"] == "revoked"
    assert three["decryption"] == "bidder_failed"
    assert three["reason_code"] == "bidder-layer-not-decrypted"
    assert three["lots"] == []
    assert one["bidder"]["uscc"] == hall_tender.bidders[parties.tenderers[0]][1]
    assert document["objections"] == []


def test_publication_is_idempotent_and_logged_once_with_the_hash(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    finished_opening(platform, hall_tender, parties)
    first = publish(platform, hall_tender)
    second = publish(platform, hall_tender)
    assert second.document == first.document
    assert second.signature == first.signature
    events = log_events(platform, RECORD_PUBLISHED_EVENT)
    assert len(events) == 1
    assert events[0]["tender"] == str(hall_tender.tender_id)
    assert events[0]["data"]["record_sha256"] == first.sha256
    assert events[0]["data"]["signature_sha256"] == hashlib.sha256(first.signature).hexdigest()


def test_no_record_while_an_envelope_is_undecided(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    decide(platform, hall_tender.outcomes[parties.tenderers[0]], Outcome.OPENED, amount="1")
    with platform.transaction() as session, pytest.raises(Conflict) as refused:
        publish_opening_record(session, platform, hall_tender.tender_id)
    assert refused.value.code == "opening-not-finished"
    with platform.session_factory() as session:
        assert published_record(session, hall_tender.tender_id) is None


def test_no_signing_certificate_means_nothing_is_published(
    platform: Platform, hall_tender: HallTender, parties: Parties
) -> None:
    finished_opening(platform, hall_tender, parties)
    platform.certificates.use_dev_pki(None)
    with pytest.raises(Unavailable) as refused, platform.transaction() as session:
        publish_opening_record(session, platform, hall_tender.tender_id)
    assert refused.value.code == "record-signer-missing"
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OpeningRecord)) == 0
    assert log_events(platform, RECORD_PUBLISHED_EVENT) == []


def test_signature_is_by_the_platform_and_time_stamped(
    platform: Platform, hall_tender: HallTender, parties: Parties, test_pki: BuiltPki
) -> None:
    finished_opening(platform, hall_tender, parties)
    record = publish(platform, hall_tender)
    verdict = verify_signed(record.signature, detached_content=record.document)
    assert verdict.intact
    assert verdict.signer_certificate == test_pki.credential("platform-signing").certificate
    assert record.timestamped
    assert verdict.timestamp is not None
    assert verdict.timestamp.intact and verdict.timestamp.covers_signature
    tampered = verify_signed(record.signature, detached_content=record.document.replace(b"CNY", b"USD"))
    assert not tampered.intact


def _ca_file(pki: BuiltPki, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    path.write_bytes(b"".join(root.public_bytes(Encoding.PEM) for root in pki.roots))
    return path


def _openssl_verify(signature: Path, content: Path, ca: Path) -> subprocess.CompletedProcess[bytes]:
    assert OPENSSL is not None
    command = [OPENSSL, "cms", "-verify", "-binary", "-inform", "DER", "-in", str(signature)]
    command += ["-content", str(content), "-CAfile", str(ca), "-purpose", "any"]
    return subprocess.run(command, capture_output=True, check=False)


@needs_openssl
def test_openssl_verifies_the_downloaded_record(
    platform: Platform,
    hall_tender: HallTender,
    parties: Parties,
    test_pki: BuiltPki,
    app_client: Any,
    tmp_path: Path,
) -> None:
    finished_opening(platform, hall_tender, parties)
    base = f"/public/tenders/{hall_tender.tender_id}"
    assert app_client.get(f"{base}/opening-record").status_code == 404  # nothing before publication
    assert app_client.get(f"{base}/opening-record.p7s").status_code == 404
    publish(platform, hall_tender)

    document = app_client.get(f"{base}/opening-record")
    signature = app_client.get(f"{base}/opening-record.p7s")
    assert document.status_code == signature.status_code == 200
    assert document.headers["content-type"].startswith("application/json")
    assert signature.headers["content-type"].startswith("application/pkcs7-signature")
    content, p7s = tmp_path / "record.json", tmp_path / "record.p7s"
    content.write_bytes(document.content)
    p7s.write_bytes(signature.content)
    ca = _ca_file(test_pki, tmp_path)

    verified = _openssl_verify(p7s, content, ca)
    assert verified.returncode == 0, verified.stderr.decode()
    assert verified.stdout == document.content

    content.write_bytes(document.content.replace(b'"opened"', b'"revoked"', 1))
    assert _openssl_verify(p7s, content, ca).returncode != 0
