"""Crash safety: an opening interrupted between envelopes resumes without opening any envelope twice,
without losing one, and without the key or a share anywhere on disk."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from crypto.ceremony import CeremonyError
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.opening import opener
from tendering.opening.models import OpeningOutcome, OpeningSession
from tendering.opening.opener import open_envelopes
from tendering.opening.vault import vault_of
from tendering.platform import Platform, build_platform
from tendering.settings import Settings
from tests.opening.conftest import Bidding
from tests.opening.helpers import custodian_share, pass_deadline, release
from tests.opening.test_closing import entries


class ProcessDied(BaseException):
    """Stands for the process being killed (not an Exception: nothing may catch it on the way)."""


@pytest.fixture
def restarted(settings: Settings, clock: ManualClock, test_pki: BuiltPki) -> Iterator[Platform]:
    """A second platform on the same database and blob store: the process after a restart."""
    fresh = build_platform(settings, clock=clock)
    fresh.certificates.use_dev_pki(test_pki)
    yield fresh
    fresh.close()


def secrets_of(pki: BuiltPki, bidding: Bidding) -> list[bytes]:
    """The opening key's scalar and every custodian share, as bytes and as hex."""
    scalar = bidding.keyed.opening_key(pki).private_numbers().private_value.to_bytes(32, "big")
    values = [scalar] + [custodian_share(pki, bidding.keyed, i).value.to_bytes(32, "big") for i in (1, 2, 3)]
    return values + [v.hex().encode() for v in values]


def assert_nothing_secret_on_disk(root: Path, secrets: list[bytes]) -> None:
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(secret in data for secret in secrets), path


def test_an_opening_killed_between_envelopes_resumes_after_custodians_release_again(
    platform: Platform,
    restarted: Platform,
    clock: ManualClock,
    bidding: Bidding,
    test_pki: BuiltPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    real_open_one = opener._open_one
    opened: list[str] = []

    def dies_after_the_first(p: Platform, row: OpeningOutcome, key: Any, workdir: Path) -> dict[str, Any]:
        if opened:
            raise ProcessDied
        opened.append(row.envelope_sha256)
        return real_open_one(p, row, key, workdir)

    monkeypatch.setattr(opener, "_open_one", dies_after_the_first)
    for position in (1, 2):
        release(platform, test_pki, bidding.keyed, bidding.parties.custodians, position)
    with pytest.raises(ProcessDied):
        open_envelopes(platform, bidding.tender_id)
    monkeypatch.setattr(opener, "_open_one", real_open_one)

    with restarted.session_factory() as session:
        rows = session.scalars(
            select(OpeningOutcome).where(OpeningOutcome.tender_id == bidding.tender_id)
        ).all()
        state = session.get(OpeningSession, bidding.tender_id)
    assert state is not None and state.state == "opening"
    assert [r.envelope_sha256 for r in rows if r.outcome] == opened  # exactly one decided before the crash
    assert_nothing_secret_on_disk(tmp_path, secrets_of(test_pki, bidding))

    # the restarted process holds no share: the opening cannot go on until custodians release again
    with pytest.raises(CeremonyError):
        open_envelopes(restarted, bidding.tender_id)
    again = release(restarted, test_pki, bidding.keyed, bidding.parties.custodians, 1)
    assert not again.created  # recorded once; re-held in this process's memory
    release(restarted, test_pki, bidding.keyed, bidding.parties.custodians, 3)
    progress = open_envelopes(restarted, bidding.tender_id)
    assert (progress.state, progress.decided, progress.undecided) == ("opened", 3, 0)

    decided = entries(restarted, str(bidding.tender_id), "opening.envelope_decided")
    hashes = [e["data"]["envelope_sha256"] for e in decided]  # type: ignore[index]
    assert sorted(hashes) == sorted(set(hashes)) and len(hashes) == 3  # each decided exactly once
    assert len(entries(restarted, str(bidding.tender_id), "opening.started")) == 1
    assert vault_of(restarted).held(bidding.tender_id) == ()
    assert_nothing_secret_on_disk(tmp_path, secrets_of(test_pki, bidding))


def test_a_concurrent_second_run_never_decides_an_envelope_twice(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    for position in (1, 2):
        release(platform, test_pki, bidding.keyed, bidding.parties.custodians, position)
    open_envelopes(platform, bidding.tender_id)
    with platform.session_factory() as session:
        before = {r.id: (r.outcome, r.decided_at) for r in session.scalars(select(OpeningOutcome))}
        row = session.scalars(select(OpeningOutcome)).first()
    assert row is not None
    assert not opener.record(platform, row.id, {"outcome": "revoked", "reason_code": "x", "reason": "x"})
    with platform.session_factory() as session:
        after = {r.id: (r.outcome, r.decided_at) for r in session.scalars(select(OpeningOutcome))}
    assert after == before
    decided = entries(platform, str(bidding.tender_id), "opening.envelope_decided")
    assert len(decided) == 3
    assert json.dumps(decided).count('"revoked"') == 0
