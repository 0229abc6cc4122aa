"""Closing at the deadline: the bids freeze, the envelope list is logged, commitments are disclosed."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import rfc8785
from sqlalchemy import select

from crypto.pki import BuiltPki
from crypto.receipt import version_commitment
from tendering.clock import ManualClock
from tendering.errors import Conflict, TooLate
from tendering.opening.closing import close_tender, envelope_list_sha256
from tendering.opening.models import OpeningOutcome, OpeningSession
from tendering.opening.schedule import tick
from tendering.platform import Platform
from tendering.translog.models import LogEntry
from tests.opening.conftest import Bidding
from tests.opening.helpers import deadline_of, enrol_tenderer, pass_deadline, sealed_bid, submit, withdraw
from tests.tenders.helpers import state_of


def entries(platform: Platform, tender: str, event: str) -> list[dict[str, object]]:
    """The public log entries of ``event`` for ``tender``."""
    platform.translog.sequence()
    with platform.session_factory() as session:
        rows = session.scalars(select(LogEntry).order_by(LogEntry.leaf_index)).all()
    documents = [json.loads(row.entry) for row in rows]
    return [d for d in documents if d["type"] == event and d.get("tender") == tender]


def test_nothing_closes_before_the_deadline_and_grace(
    platform: Platform, clock: ManualClock, bidding: Bidding
) -> None:
    deadline = deadline_of(platform, bidding.tender_id)
    clock.advance(deadline - clock.now())
    assert close_tender(platform, bidding.tender_id) is None  # at the deadline, within the grace margin
    assert tick(platform).closed == ()
    assert state_of(platform, bidding.tender_id) == "published"


def test_closing_lists_the_standing_envelopes_and_logs_their_hash(
    platform: Platform, clock: ManualClock, bidding: Bidding
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    assert tick(platform).closed == (bidding.tender_id,)
    assert state_of(platform, bidding.tender_id) == "closed"
    digests = sorted(hashlib.sha256(e).hexdigest() for e in bidding.envelopes.values())
    expected = hashlib.sha256(rfc8785.dumps(digests)).hexdigest()
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, bidding.tender_id)
        assert opening is not None and opening.state == "closed"
        assert (opening.envelope_count, opening.envelope_list_sha256) == (3, expected)
        outcomes = session.scalars(
            select(OpeningOutcome).where(OpeningOutcome.tender_id == bidding.tender_id)
        ).all()
        assert sorted(o.envelope_sha256 for o in outcomes) == digests
        assert all(o.outcome is None for o in outcomes)
    closed = entries(platform, str(bidding.tender_id), "tender.closed")
    assert len(closed) == 1
    assert closed[0]["data"]["envelopes"] == 3  # type: ignore[index]
    assert closed[0]["data"]["envelope_list_sha256"] == expected == envelope_list_sha256(digests)  # type: ignore[index]


def test_closing_is_idempotent(platform: Platform, clock: ManualClock, bidding: Bidding) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    first = close_tender(platform, bidding.tender_id)
    again = close_tender(platform, bidding.tender_id)
    assert first is not None and first.closed_now
    assert again is not None and not again.closed_now
    assert again.envelope_list_sha256 == first.envelope_list_sha256
    assert tick(platform).closed == ()
    assert len(entries(platform, str(bidding.tender_id), "tender.closed")) == 1


def test_no_bid_can_be_submitted_or_withdrawn_after_the_closing(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    tick(platform)
    late = sealed_bid(test_pki, tmp_path, bidding.keyed, "tenderer-1", total="1.00", at=clock.now())
    with pytest.raises((TooLate, Conflict)):
        submit(platform, bidding.tender_id, bidding.bidders["tenderer-1"], "tenderer-1", test_pki, late)
    with pytest.raises((TooLate, Conflict)):
        withdraw(
            platform,
            bidding.tender_id,
            bidding.bidders["tenderer-2"],
            "tenderer-2",
            test_pki,
            bidding.bid_id(platform, "tenderer-2"),
        )
    with platform.session_factory() as session:
        count = len(
            session.scalars(select(OpeningOutcome).where(OpeningOutcome.tender_id == bidding.tender_id)).all()
        )
    assert count == 3


def test_disclosures_open_every_blinded_version_entry(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    replacement = sealed_bid(
        test_pki, tmp_path / "r", bidding.keyed, "tenderer-2", total="11000000.00", at=clock.now()
    )
    submit(platform, bidding.tender_id, bidding.bidders["tenderer-2"], "tenderer-2", test_pki, replacement)
    pass_deadline(platform, clock, bidding.tender_id)
    tick(platform)
    disclosed = entries(platform, str(bidding.tender_id), "opening.bid_disclosed")
    assert len(disclosed) == 3
    platform.translog.sequence()
    with platform.session_factory() as session:
        logged = {json.loads(r.entry)["data"].get("commitment") for r in session.scalars(select(LogEntry))}
    versions = 0
    for entry in disclosed:
        data = entry["data"]
        assert isinstance(data, dict)
        for version in data["versions"]:
            recomputed = version_commitment(
                tender=str(bidding.tender_id),
                bid=data["bid"],
                version=version["version"],
                kind=version["kind"],
                lots=version["lots"],
                envelope_sha256=version["envelope_sha256"],
                bidder=data["bidder_commitment"],
                salt=bytes.fromhex(data["salt"]),
            )
            assert recomputed == version["commitment"] and recomputed in logged
            versions += 1
    assert versions == 4  # three submissions and one replacement
    with platform.session_factory() as session:
        standing = session.scalars(
            select(OpeningOutcome.envelope_sha256).where(OpeningOutcome.tender_id == bidding.tender_id)
        ).all()
    assert hashlib.sha256(replacement).hexdigest() in standing  # the replacement stands, not the first


def test_a_withdrawn_bid_is_recorded_as_withdrawn_and_not_counted(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    fourth = enrol_tenderer(platform, test_pki, "tenderer-4")
    envelope = sealed_bid(test_pki, tmp_path / "4", bidding.keyed, "tenderer-4", at=clock.now())
    submit(platform, bidding.tender_id, fourth, "tenderer-4", test_pki, envelope)
    bidding.bidders["tenderer-4"] = fourth
    withdraw(
        platform, bidding.tender_id, fourth, "tenderer-4", test_pki, bidding.bid_id(platform, "tenderer-4")
    )
    pass_deadline(platform, clock, bidding.tender_id)
    result = close_tender(platform, bidding.tender_id)
    standing = sorted(hashlib.sha256(e).hexdigest() for e in bidding.envelopes.values())
    assert result is not None and result.state == "closed"  # three bids still stand
    assert (result.envelope_count, result.envelope_list_sha256) == (3, envelope_list_sha256(standing))
    with platform.session_factory() as session:
        row = session.scalars(
            select(OpeningOutcome).where(
                OpeningOutcome.tender_id == bidding.tender_id, OpeningOutcome.bidder_id == fourth
            )
        ).one()
    assert (row.outcome, row.reason_code, row.decryption) == (
        "withdrawn",
        "withdrawn-before-deadline",
        "not_required",
    )
    assert row.reason and row.decided_at is not None
    assert row.envelope_sha256 == hashlib.sha256(envelope).hexdigest()  # its last envelope, never opened
    (closed,) = entries(platform, str(bidding.tender_id), "tender.closed")
    assert closed["data"]["envelopes"] == 3  # type: ignore[index]
    disclosed = {
        e["data"]["bid"]: e["data"]["standing"]  # type: ignore[index]
        for e in entries(platform, str(bidding.tender_id), "opening.bid_disclosed")
    }
    assert disclosed[bidding.bid_id(platform, "tenderer-4")] is False and sum(disclosed.values()) == 3


def test_too_few_bids_fail_the_tender_with_a_public_reason_and_keep_envelopes_sealed(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    withdraw(
        platform,
        bidding.tender_id,
        bidding.bidders["tenderer-1"],
        "tenderer-1",
        test_pki,
        bidding.bid_id(platform, "tenderer-1"),
    )
    pass_deadline(platform, clock, bidding.tender_id)
    tick(platform)
    assert state_of(platform, bidding.tender_id) == "failed"
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, bidding.tender_id)
        assert opening is not None and (opening.state, opening.envelope_count) == ("failed", 2)
        assert (
            session.scalars(select(OpeningOutcome).where(OpeningOutcome.tender_id == bidding.tender_id)).all()
            == []
        )
        from tendering.tenders.models import Tender

        tender = session.get(Tender, bidding.tender_id)
        assert tender is not None and tender.end_code == "too-few-bids"
        assert tender.end_reason and "3" in tender.end_reason
    assert entries(platform, str(bidding.tender_id), "opening.bid_disclosed") == []
    failed = entries(platform, str(bidding.tender_id), "tender.failed")
    assert len(failed) == 1 and failed[0]["data"]["code"] == "too-few-bids"  # type: ignore[index]
