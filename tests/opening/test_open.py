"""Opening with k shares: every envelope ends opened, revoked or withdrawn by recorded facts."""

from __future__ import annotations

import hashlib
import io
import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from crypto.bidpackage import ClientInfo, PackageFile, PriceForm, build_package
from crypto.ceremony import CeremonyError
from crypto.pki import BuiltPki
from tendering.blobs import FilesystemBlobStore
from tendering.clock import ManualClock
from tendering.opening.models import OpeningOutcome, OpeningSession
from tendering.opening.opener import SCRATCH_DIR, clear_stale_scratch, open_envelopes, opening_scratch
from tendering.opening.record import published_record
from tendering.opening.vault import vault_of
from tendering.platform import Platform
from tests.opening.conftest import Bidding
from tests.opening.helpers import enrol_tenderer, pass_deadline, release, sealed_bid, submit
from tests.opening.test_closing import entries
from tests.submission.helpers import uscc_of
from tests.tenders.helpers import state_of


def outcomes(platform: Platform, bidding: Bidding) -> dict[str, OpeningOutcome]:
    """Outcome rows by envelope SHA-256."""
    with platform.session_factory() as session:
        rows = session.scalars(
            select(OpeningOutcome).where(OpeningOutcome.tender_id == bidding.tender_id)
        ).all()
    return {row.envelope_sha256: row for row in rows}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_with(
    platform: Platform, pki: BuiltPki, bidding: Bidding, custodians: tuple[int, ...] = (1, 3)
) -> None:
    for position in custodians:
        result = release(platform, pki, bidding.keyed, bidding.parties.custodians, position)
    assert result.ready
    open_envelopes(platform, bidding.tender_id)


def test_two_of_three_custodians_open_every_envelope(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    open_with(platform, test_pki, bidding, (3, 2))
    rows = outcomes(platform, bidding)
    assert {row.outcome for row in rows.values()} == {"opened"}
    first = rows[sha(bidding.envelopes["tenderer-1"])]
    assert first.price_form["prices"][0]["total_price"] == "11800000.00"
    assert first.price_form["bidder_uscc"] == first.bidder_uscc
    assert first.signature["ok"] is True and first.signature["signer"]["uscc"] == first.bidder_uscc
    assert first.package_sha256 and platform.blobs.exists(first.package_sha256)
    assert state_of(platform, bidding.tender_id) == "opened"
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, bidding.tender_id)
        assert opening is not None and opening.state == "opened" and opening.finished_at is not None
    decided = entries(platform, str(bidding.tender_id), "opening.envelope_decided")
    assert sorted(e["data"]["envelope_sha256"] for e in decided) == sorted(rows)  # type: ignore[index]
    assert vault_of(platform).held(bidding.tender_id) == ()  # the shares are forgotten
    with platform.session_factory() as session:
        assert published_record(session, bidding.tender_id) is not None  # published when it finished


def test_one_share_is_not_enough(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    result = release(platform, test_pki, bidding.keyed, bidding.parties.custodians, 1)
    assert not result.ready
    with pytest.raises(CeremonyError):
        open_envelopes(platform, bidding.tender_id)
    assert {row.outcome for row in outcomes(platform, bidding).values()} == {None}


def test_bidder_fault_is_revoked_platform_fault_is_withdrawn_and_the_rest_opens(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    impostor = enrol_tenderer(platform, test_pki, "tenderer-4")
    # tenderer-4's package, signed with tenderer-1's certificate: the bidder's fault
    foreign = sealed_bid(test_pki, tmp_path, bidding.keyed, "tenderer-4", signer="tenderer-1", at=clock.now())
    submit(platform, bidding.tender_id, impostor, "tenderer-4", test_pki, foreign)
    pass_deadline(platform, clock, bidding.tender_id)
    # the platform loses tenderer-2's stored envelope: not the bidder's fault
    lost = sha(bidding.envelopes["tenderer-2"])
    assert isinstance(platform.blobs, FilesystemBlobStore)
    platform.blobs._path(lost).write_bytes(b"damaged by the platform")
    open_with(platform, test_pki, bidding)
    rows = outcomes(platform, bidding)
    assert len(rows) == 4
    assert (rows[sha(foreign)].outcome, rows[sha(foreign)].reason_code) == ("revoked", "bidder-mismatch")
    assert (rows[lost].outcome, rows[lost].reason_code) == ("withdrawn", "envelope-missing")
    for name in ("tenderer-1", "tenderer-3"):
        assert rows[sha(bidding.envelopes[name])].outcome == "opened"
    assert all(row.reason for row in rows.values())
    assert state_of(platform, bidding.tender_id) == "opened"


def test_withdrawn_bid_outcome_is_recorded_and_no_envelope_is_left_undecided(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    from tests.opening.helpers import withdraw

    fourth = enrol_tenderer(platform, test_pki, "tenderer-4")
    envelope = sealed_bid(test_pki, tmp_path, bidding.keyed, "tenderer-4", at=clock.now())
    submit(platform, bidding.tender_id, fourth, "tenderer-4", test_pki, envelope)
    withdraw(
        platform, bidding.tender_id, fourth, "tenderer-4", test_pki, bidding_bid(platform, bidding, fourth)
    )
    pass_deadline(platform, clock, bidding.tender_id)
    open_with(platform, test_pki, bidding)
    rows = outcomes(platform, bidding)
    assert rows[sha(envelope)].outcome == "withdrawn"
    assert rows[sha(envelope)].reason_code == "withdrawn-before-deadline"
    assert [row for row in rows.values() if row.outcome not in ("opened", "revoked", "withdrawn")] == []
    assert all(row.reason_code and row.decided_at for row in rows.values())


def bidding_bid(platform: Platform, bidding: Bidding, bidder: object) -> str:
    from tendering.bids.models import Bid

    with platform.session_factory() as session:
        return str(
            session.scalar(select(Bid.id).where(Bid.tender_id == bidding.tender_id, Bid.bidder_id == bidder))
        )


def test_a_record_not_published_at_the_end_is_published_by_the_next_tick(
    platform: Platform,
    clock: ManualClock,
    bidding: Bidding,
    test_pki: BuiltPki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tendering.opening import publication
    from tendering.opening.schedule import tick

    real = publication.publish_opening_record

    def unavailable(*args: object, **kwargs: object) -> None:
        raise RuntimeError("the signing service is down")

    pass_deadline(platform, clock, bidding.tender_id)
    monkeypatch.setattr(publication, "publish_opening_record", unavailable)
    open_with(platform, test_pki, bidding)
    assert state_of(platform, bidding.tender_id) == "opened"  # the opening itself is done
    with platform.session_factory() as session:
        assert published_record(session, bidding.tender_id) is None
    monkeypatch.setattr(publication, "publish_opening_record", real)
    assert tick(platform).records_published == (bidding.tender_id,)
    assert tick(platform).records_published == ()


def large_package(tmp: Path, tender_id: object, uscc: str) -> bytes:
    """A 2 MiB stored bid package (the envelope spans many decryption chunks)."""
    tmp.mkdir(parents=True, exist_ok=True)
    drawing = tmp / "drawing.bin"
    drawing.write_bytes(os.urandom(2 << 20))
    sink = io.BytesIO()
    build_package(
        sink, [PackageFile("技术标/图纸.bin", drawing)], tender_id=str(tender_id), lot_ids=["1"],
        bidder_uscc=uscc, prices=[PriceForm("1", Decimal("11800000.00"), "CNY", 365, "合格")],
        machine_code="ab" * 32, client=ClientInfo("sealbid-test", "1.0"),
        created_at=datetime(2026, 1, 5, tzinfo=UTC), compression="stored",
    )  # fmt: skip
    return sink.getvalue()


def test_an_envelope_altered_late_before_submission_is_not_opened_and_nothing_is_kept(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    fourth = enrol_tenderer(platform, test_pki, "tenderer-4")
    big = large_package(tmp_path / "big", bidding.tender_id, uscc_of(test_pki, "tenderer-4"))
    envelope = bytearray(sealed_bid(test_pki, tmp_path, bidding.keyed, "tenderer-4", package_bytes=big))
    envelope[-200] ^= 0x10  # late: the tag fails after most of the plaintext was read and spooled
    submit(platform, bidding.tender_id, fourth, "tenderer-4", test_pki, bytes(envelope))
    pass_deadline(platform, clock, bidding.tender_id)
    open_with(platform, test_pki, bidding)
    rows = outcomes(platform, bidding)
    altered = rows[sha(bytes(envelope))]
    assert (altered.reason_code, altered.package_sha256, altered.price_form or None) == (
        "envelope-not-opened",
        None,
        None,
    )
    assert altered.signature is None or altered.signature.get("ok") is not True
    kept = {row.package_sha256 for row in rows.values() if row.package_sha256}
    assert len(kept) == 3  # the three good bids only
    assert isinstance(platform.blobs, FilesystemBlobStore)
    blob_files = {p.name for p in platform.blobs.root.rglob("*") if p.is_file() and len(p.name) == 64}
    assert sha(big) not in blob_files
    scratch = platform.settings.data_dir / SCRATCH_DIR
    assert [p for p in scratch.rglob("*") if p.is_file()] == []  # nothing decrypted left behind


def test_a_run_clears_what_a_killed_run_left_and_spares_a_live_one(platform: Platform) -> None:
    root = platform.settings.data_dir / SCRATCH_DIR
    root.mkdir(parents=True, exist_ok=True)
    dead = root / "run-dead"
    dead.mkdir()
    (dead / "package.zip").write_bytes(b"PK decrypted bid of a killed run")
    (root / "run-dead.lock").write_bytes(b"")  # its process is gone: nobody holds the lock
    orphan = root / "run-orphan"
    orphan.mkdir()
    (orphan / "x.zip").write_bytes(b"left without its lock file")
    with opening_scratch(platform) as live:
        (live / "in-use.zip").write_bytes(b"a live run's package")
        assert clear_stale_scratch(platform) == 1
        assert (live / "in-use.zip").exists()
        assert not dead.exists() and not (root / "run-dead.lock").exists() and not orphan.exists()
    assert list(root.iterdir()) == []  # the live run removed its own directory and lock
