"""The monitor's check from the log alone: after the deadline, the opened set equals the received set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import select

from api.client.opening_verify import check_opening, verify
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.opening.opener import open_envelopes
from tendering.platform import Platform
from tendering.translog.models import LogEntry
from tests.opening.conftest import Bidding
from tests.opening.helpers import pass_deadline, release, sealed_bid, submit


def log_entries(platform: Platform) -> list[bytes]:
    platform.translog.sequence()
    with platform.session_factory() as session:
        return [row.entry for row in session.scalars(select(LogEntry).order_by(LogEntry.leaf_index))]


@pytest.fixture
def opened(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> Bidding:
    """The tender with a replaced bid, closed and opened by custodians 1 and 2."""
    replacement = sealed_bid(
        test_pki, tmp_path / "r", bidding.keyed, "tenderer-1", total="1.00", at=clock.now()
    )
    submit(platform, bidding.tender_id, bidding.bidders["tenderer-1"], "tenderer-1", test_pki, replacement)
    pass_deadline(platform, clock, bidding.tender_id)
    for position in (1, 2):
        release(platform, test_pki, bidding.keyed, bidding.parties.custodians, position)
    open_envelopes(platform, bidding.tender_id)
    return bidding


def edit(entries: list[bytes], kind: str, change: object) -> list[bytes]:
    """A copy of the entries with the first entry of ``kind`` changed by ``change(document)``."""
    out, done = [], False
    for raw in entries:
        document = json.loads(raw)
        if not done and document["type"] == kind:
            change(document)  # type: ignore[operator]
            done = True
            out.append(json.dumps(document).encode())
        else:
            out.append(raw)
    return out


def test_an_honest_opening_checks_out(platform: Platform, opened: Bidding) -> None:
    result = check_opening(log_entries(platform), str(opened.tender_id))
    assert result.ok, result.problems
    assert len(result.envelopes) == 3 and set(result.decided.values()) == {"opened"}


def test_a_dropped_bid_is_found(platform: Platform, opened: Bidding) -> None:
    entries = log_entries(platform)
    dropped = edit(entries, "opening.bid_disclosed", lambda d: d.update(type="x.removed"))
    result = check_opening(dropped, str(opened.tender_id))
    assert not result.ok and any(p.startswith("closing-list") for p in result.problems)


def test_an_invented_version_is_found(platform: Platform, opened: Bidding) -> None:
    def invent(document: dict[str, object]) -> None:
        versions = document["data"]["versions"]  # type: ignore[index]
        versions[-1]["envelope_sha256"] = "ab" * 32  # type: ignore[index]

    result = check_opening(
        edit(log_entries(platform), "opening.bid_disclosed", invent), str(opened.tender_id)
    )
    assert not result.ok and any(p.startswith("received-set") for p in result.problems)


def test_an_opening_before_the_deadline_is_found(platform: Platform, opened: Bidding) -> None:
    early = edit(
        log_entries(platform), "opening.started", lambda d: d.update(time="2000-01-01T00:00:00.000Z")
    )
    result = check_opening(early, str(opened.tender_id))
    assert not result.ok and any(p.startswith("after-deadline") for p in result.problems)


def test_an_envelope_decided_twice_or_not_at_all_is_found(platform: Platform, opened: Bidding) -> None:
    entries = log_entries(platform)
    decided = [e for e in entries if json.loads(e)["type"] == "opening.envelope_decided"]
    twice = check_opening([*entries, decided[0]], str(opened.tender_id))
    assert not twice.ok and any("more than once" in p for p in twice.problems)
    missing = check_opening([e for e in entries if e != decided[1]], str(opened.tender_id))
    assert not missing.ok and any(p.startswith("opened-set") for p in missing.problems)


def test_a_tender_never_closed_does_not_check(platform: Platform, bidding: Bidding) -> None:
    assert not check_opening(log_entries(platform), str(bidding.tender_id)).ok


def test_the_command_verifies_the_log_and_the_opening(
    platform: Platform,
    opened: Bidding,
    app_client: TestClient,  # type: ignore[type-arg]
) -> None:
    platform.translog.sequence()
    result = CliRunner().invoke(verify, ["--tender", str(opened.tender_id)], obj={"http_client": app_client})
    assert result.exit_code == 0, result.output
    assert "OK: opened after the deadline" in result.output
    other = CliRunner().invoke(
        verify, ["--tender", "00000000-0000-0000-0000-000000000000"], obj={"http_client": app_client}
    )
    assert other.exit_code != 0


def problems_of(entries: list[bytes], tender: str) -> tuple[str, ...]:
    result = check_opening(entries, tender)
    assert not result.ok
    return result.problems


def test_a_closed_tender_never_opened_does_not_check(
    platform: Platform, clock: ManualClock, bidding: Bidding
) -> None:
    from tendering.opening.schedule import tick

    pass_deadline(platform, clock, bidding.tender_id)
    assert tick(platform).closed == (bidding.tender_id,)
    problems = problems_of(log_entries(platform), str(bidding.tender_id))
    assert problems[-1] == "opened-set: the log holds 0 tender.opened entries of this tender, not one"
    assert problems[0].startswith("opened-set: undecided")  # and nothing was decided yet


def test_a_missing_or_repeated_opened_entry_is_found(platform: Platform, opened: Bidding) -> None:
    entries, tender = log_entries(platform), str(opened.tender_id)
    without = [e for e in entries if json.loads(e)["type"] != "tender.opened"]
    assert any("0 tender.opened" in p for p in problems_of(without, tender))
    (entry,) = [e for e in entries if json.loads(e)["type"] == "tender.opened"]
    assert any("2 tender.opened" in p for p in problems_of([*entries, entry], tender))


def test_an_opened_entry_before_the_deadline_is_found(platform: Platform, opened: Bidding) -> None:
    early = edit(log_entries(platform), "tender.opened", lambda d: d.update(time="2000-01-01T00:00:00.000Z"))
    problems = problems_of(early, str(opened.tender_id))
    assert problems == (
        "after-deadline: tender.opened is logged at 2000-01-01T00:00:00.000Z, before the deadline",
    )


def test_opened_counts_or_outcomes_that_differ_from_the_decisions_are_found(
    platform: Platform, opened: Bidding
) -> None:
    entries, tender = log_entries(platform), str(opened.tender_id)
    for kind in ("opened", "revoked", "withdrawn"):
        changed = edit(entries, "tender.opened", lambda d, k=kind: d["data"].update({k: d["data"][k] + 1}))
        assert any(
            p.startswith("opened-set: tender.opened counts") and kind in p
            for p in problems_of(changed, tender)
        )
    rehashed = edit(entries, "tender.opened", lambda d: d["data"].update(outcomes_sha256="00" * 32))
    assert problems_of(rehashed, tender) == (
        "opened-set: tender.opened's outcomes_sha256 does not hash the outcomes the log shows",
    )
    # a decision changed after the fact: the counts and the outcome hash no longer match it
    revoked = edit(entries, "opening.envelope_decided", lambda d: d["data"].update(outcome="revoked"))
    problems = problems_of(revoked, tender)
    assert any("counts 3 opened, the log shows 2" in p for p in problems)
    assert any("outcomes_sha256" in p for p in problems)


def test_a_decided_envelope_outside_the_closing_list_is_found(platform: Platform, opened: Bidding) -> None:
    swapped = edit(
        log_entries(platform),
        "opening.envelope_decided",
        lambda d: d["data"].update(envelope_sha256="cd" * 32),
    )
    problems = problems_of(swapped, str(opened.tender_id))
    assert any(p.startswith("opened-set: undecided") and "cd" * 32 in p for p in problems)


def test_bids_withdrawn_before_the_deadline_are_counted_as_withdrawn(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki, tmp_path: Path
) -> None:
    from tests.opening.helpers import enrol_tenderer, withdraw

    fourth = enrol_tenderer(platform, test_pki, "tenderer-4")
    envelope = sealed_bid(test_pki, tmp_path / "w", bidding.keyed, "tenderer-4", at=clock.now())
    submit(platform, bidding.tender_id, fourth, "tenderer-4", test_pki, envelope)
    with platform.session_factory() as session:
        from tendering.bids.models import Bid

        bid = session.scalar(
            select(Bid.id).where(Bid.tender_id == bidding.tender_id, Bid.bidder_id == fourth)
        )
    withdraw(platform, bidding.tender_id, fourth, "tenderer-4", test_pki, str(bid))
    pass_deadline(platform, clock, bidding.tender_id)
    for position in (1, 2):
        release(platform, test_pki, bidding.keyed, bidding.parties.custodians, position)
    open_envelopes(platform, bidding.tender_id)
    entries, tender = log_entries(platform), str(bidding.tender_id)
    (opened_entry,) = [json.loads(e) for e in entries if json.loads(e)["type"] == "tender.opened"]
    assert opened_entry["data"]["withdrawn"] == 1
    result = check_opening(entries, tender)
    assert result.ok, result.problems
    assert len(result.envelopes) == 3  # the withdrawn bid is not a standing envelope
    uncounted = edit(entries, "tender.opened", lambda d: d["data"].update(withdrawn=0))
    assert any("counts 0 withdrawn, the log shows 1" in p for p in problems_of(uncounted, tender))


def test_a_failed_tender_is_reported_as_not_opened(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    from tests.opening.helpers import withdraw

    withdraw(
        platform,
        bidding.tender_id,
        bidding.bidders["tenderer-1"],
        "tenderer-1",
        test_pki,
        bidding.bid_id(platform, "tenderer-1"),
    )
    pass_deadline(platform, clock, bidding.tender_id)
    from tendering.opening.schedule import tick

    tick(platform)
    problems = problems_of(log_entries(platform), str(bidding.tender_id))
    assert any("the tender failed at its closing" in p for p in problems)
