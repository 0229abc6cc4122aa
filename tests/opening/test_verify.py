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
