"""verify-draw: a fair draw MATCHES; a tampered secret, eligible set, order, replacement or log is caught."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update

from api.cli import main
from experts import draw_math, draw_records
from experts.committee import settle
from experts.draw_public import reveal_due, reveal_secret
from experts.pool_models import Expert, ExpertAssignment, ExtractionEligibleSet, ExtractionRequest
from experts.verify_draw import DIFFERS, EXIT_TAMPERED, NOT_REVEALED, VerifyError, verify_draw
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.translog.entries import LogActor, LogEvent
from tendering.translog.models import LogCheckpoint, LogEntry
from tests.experts.pool_helpers import Drawn, assignments, end_tender, system
from tests.tenders.conftest import Parties
from tests.tenders.helpers import authority

pytestmark = pytest.mark.usefixtures("hold_confirmations")  # the tests settle by hand

Client = TestClient[Litestar]


def _reveal(platform: Platform, clock: ManualClock, parties: Parties, drawn: Drawn) -> str:
    clock.advance(timedelta(days=26))
    end_tender(platform, parties, drawn.tender_id)  # the result: the sweep reveals the secret
    assert reveal_due(platform) == [drawn.request_id]
    with platform.transaction() as session:
        return reveal_secret(session, platform, drawn.request_id, actor=authority(parties))


@pytest.fixture
def revealed(platform: Platform, clock: ManualClock, parties: Parties, drawn: Drawn) -> str:
    """The drawn committee with one decline beyond the reserves (a replacement from the order)."""
    members = [a for a in assignments(platform, drawn.request_id) if a.role == "member"]
    pending = [members[0].id]
    for _ in range(3):  # two reserves promoted, then one expert from further down the order
        with platform.transaction() as session:
            result = settle(session, platform, pending[-1], "declined", actor=system(), evidence={})
        assert result.replacement_id is not None
        pending.append(result.replacement_id)
    return _reveal(platform, clock, parties, drawn)


def test_a_fair_draw_matches(app_client: Client, drawn: Drawn, revealed: str) -> None:
    verdict = verify_draw(app_client, drawn.request_id)
    assert verdict.matches, verdict.differences
    assert "selection hash" in verdict.checked
    assert any(item.startswith("replacement A0101 rank 6") for item in verdict.checked)


def test_a_wrong_secret_differs(app_client: Client, drawn: Drawn, revealed: str) -> None:
    verdict = verify_draw(app_client, drawn.request_id, secret_hex="00" * 32)
    assert not verdict.matches
    joined = "\n".join(verdict.differences)
    assert "SHA-256(secret)" in joined
    assert "revealed secret" in joined


def test_a_tampered_eligible_set_differs(
    platform: Platform, app_client: Client, drawn: Drawn, revealed: str
) -> None:
    with platform.transaction() as session:
        row = session.scalars(select(ExtractionEligibleSet)).one()
        ids = draw_math.unpack_ids(bytes(row.expert_ids))
        row.expert_ids = draw_math.pack_ids([*ids[1:], uuid.uuid4()])
    verdict = verify_draw(app_client, drawn.request_id)
    assert any(d.startswith("eligible set hash") for d in verdict.differences)


def test_a_swapped_member_differs(
    platform: Platform, app_client: Client, drawn: Drawn, revealed: str
) -> None:
    rows = assignments(platform, drawn.request_id)
    with platform.transaction() as session:  # rank 1 and 2 trade experts: the order was not followed
        session.execute(update(ExpertAssignment).where(ExpertAssignment.id == rows[1].id).values(rank=99))
        session.execute(update(ExpertAssignment).where(ExpertAssignment.id == rows[2].id).values(rank=1))
        session.execute(update(ExpertAssignment).where(ExpertAssignment.id == rows[1].id).values(rank=2))
    verdict = verify_draw(app_client, drawn.request_id)
    assert {d.split(":")[0] for d in verdict.differences} >= {"A0101 rank 1", "A0101 rank 2"}


def test_a_replacement_out_of_order_differs(
    platform: Platform, app_client: Client, drawn: Drawn, revealed: str
) -> None:
    rows = assignments(platform, drawn.request_id)
    replacement = next(a for a in rows if a.rank == 6)
    with platform.transaction() as session:
        session.execute(update(ExpertAssignment).where(ExpertAssignment.id == replacement.id).values(rank=9))
    verdict = verify_draw(app_client, drawn.request_id)
    assert any(d.startswith("replacement A0101 rank 9") for d in verdict.differences)
    # Only the moved replacement differs: the initial members and reserves are still in their places.
    assert {f"A0101 rank {rank}" for rank in range(6)} <= set(verdict.checked)
    assert not any(d.startswith("A0101 rank ") for d in verdict.differences)


def _sequence(platform: Platform, request_id: uuid.UUID) -> list[uuid.UUID]:
    with platform.session_factory() as session:
        request = session.get(ExtractionRequest, request_id)
        assert request is not None
        return draw_records.sequences(session, platform.settings, request)[0]


def test_a_silent_skip_in_the_order_differs(
    platform: Platform, app_client: Client, drawn: Drawn, revealed: str
) -> None:
    sequence = _sequence(platform, drawn.request_id)
    replacement = next(a for a in assignments(platform, drawn.request_id) if a.rank == 6)
    with platform.transaction() as session:  # rank 9's expert, at rank 9: ranks 6-8 passed over unlogged
        session.execute(
            update(ExpertAssignment)
            .where(ExpertAssignment.id == replacement.id)
            .values(rank=9, expert_id=sequence[9])
        )
    verdict = verify_draw(app_client, drawn.request_id)
    assert "replacement A0101 rank 9" in verdict.checked  # the expert is the order's rank 9 ...
    assert verdict.outcome == DIFFERS  # ... but nothing says why ranks 6, 7 and 8 were skipped
    assert any("ranks [6, 7, 8] passed over" in d for d in verdict.differences), verdict.differences


def test_a_skip_with_a_logged_reason_matches(
    platform: Platform, clock: ManualClock, parties: Parties, app_client: Client, drawn: Drawn
) -> None:
    sequence = _sequence(platform, drawn.request_id)
    with platform.transaction() as session:  # rank 6 is suspended before the replacements reach it
        session.execute(update(Expert).where(Expert.id == sequence[6]).values(status="suspended"))
    members = [a for a in assignments(platform, drawn.request_id) if a.role == "member"]
    pending = members[0].id
    for _ in range(3):  # reserves 4 and 5 promoted, then rank 6 is passed over for rank 7
        with platform.transaction() as session:
            result = settle(session, platform, pending, "declined", actor=system(), evidence={})
        assert result.replacement_id is not None
        pending = result.replacement_id
    taken = {a.id: a for a in assignments(platform, drawn.request_id)}[pending]
    assert (taken.rank, taken.expert_id) == (7, sequence[7])
    platform.translog.sequence()
    with platform.session_factory() as session:
        skipped = [
            json.loads(bytes(e))
            for e in session.scalars(select(LogEntry.entry))
            if b"experts.candidate_skipped" in bytes(e)
        ]
    assert [(e["data"]["specialty"], e["data"]["rank"], e["data"]["rule"]) for e in skipped] == [
        ("A0101", 6, "status")
    ]
    assert str(sequence[6]) not in json.dumps(skipped)  # no expert id, no name in the public entry
    _reveal(platform, clock, parties, drawn)
    verdict = verify_draw(app_client, drawn.request_id)
    assert verdict.matches, verdict.differences
    assert "A0101: every rank below the replacement at rank 7 is accounted for" in verdict.checked


def test_a_rewritten_log_entry_is_tamper_evidence(
    platform: Platform, app_client: Client, drawn: Drawn, revealed: str
) -> None:
    with platform.transaction() as session:
        entry = next(
            e for e in session.scalars(select(LogEntry)) if b'"experts.draw_committed"' in bytes(e.entry)
        )
        entry.entry = bytes(entry.entry).replace(b'"count":4', b'"count":5')
    with pytest.raises(VerifyError) as caught:
        verify_draw(app_client, drawn.request_id)
    assert caught.value.exit_code == EXIT_TAMPERED


def test_before_the_reveal_the_log_is_checked_and_the_verdict_says_not_revealed(
    app_client: Client, drawn: Drawn
) -> None:
    verdict = verify_draw(app_client, drawn.request_id)
    assert verdict.outcome == NOT_REVEALED
    assert not verdict.matches and not verdict.differences
    assert {
        "seed checkpoint is the first after the commitment",
        "logged commitment = record",
        "logged eligible hash = record",
        "logged seed checkpoint",
    } <= set(verdict.checked)
    wrong = verify_draw(app_client, drawn.request_id, secret_hex="00" * 32)  # a guessed secret
    assert wrong.outcome == DIFFERS
    assert any(d.startswith("SHA-256(secret)") for d in wrong.differences)


def test_a_seed_checkpoint_that_was_not_the_first_after_the_commitment_differs(
    platform: Platform, app_client: Client, drawn: Drawn, revealed: str
) -> None:
    with platform.transaction() as session:  # make sure a checkpoint later than the seed exists
        platform.translog.submit(session, LogEvent("test.marker", LogActor.system()))
    platform.translog.sequence()
    with platform.session_factory() as session:
        request = session.get(ExtractionRequest, drawn.request_id)
        assert request is not None and request.commitment_index is not None
        later = session.scalar(
            select(LogCheckpoint)
            .where(LogCheckpoint.size > request.checkpoint_size)
            .order_by(LogCheckpoint.size)
            .limit(1)
        )
        assert later is not None
        commitment_index = request.commitment_index
    # The server claims a later checkpoint seeded the draw (one it could have waited for to pick a seed).
    original = app_client.get(f"/public/expert-draws/{drawn.request_id}").json()
    forged = {
        **original,
        "checkpoint": {"size": later.size, "root": bytes(later.root).hex(), "note": later.note},
    }
    verdict = verify_draw(_Forging(app_client, drawn.request_id, forged), drawn.request_id)
    assert any(
        d.startswith("seed checkpoint is not the first after the commitment") for d in verdict.differences
    ), verdict.differences
    assert f"already covered entry {commitment_index}" in "\n".join(verdict.differences)


class _Forging:
    """A client that answers the draw record with ``forged`` and passes everything else through."""

    def __init__(self, client: Client, request_id: uuid.UUID, forged: dict[str, Any]) -> None:
        self.client, self.path, self.forged = client, f"/public/expert-draws/{request_id}", forged

    def get(self, path: str, params: Any = None) -> Any:
        if path == self.path:
            return httpx.Response(200, json=self.forged)
        return self.client.get(path, params=params)


@contextlib.contextmanager
def _through(app_client: Client, *_: Any, **__: Any) -> Iterator[Client]:
    yield app_client


def test_the_command_says_matches_or_differs(
    app_client: Client, drawn: Drawn, revealed: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("api.client.draw_commands.httpx.Client", lambda *a, **k: _through(app_client))
    runner = CliRunner()
    args = ["experts", "verify-draw", "--server", "http://testserver", "--request", str(drawn.request_id)]
    ok = runner.invoke(main, args)
    assert ok.exit_code == 0, ok.output
    assert "MATCHES" in ok.output
    assert ok.output.strip().splitlines()[-1].startswith("MATCHES")
    bad = runner.invoke(main, [*args, "--secret", "11" * 32])
    assert bad.exit_code == EXIT_TAMPERED
    assert "DIFFERS" in bad.output


def test_the_command_says_not_yet_revealed_before_the_result(
    app_client: Client, drawn: Drawn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("api.client.draw_commands.httpx.Client", lambda *a, **k: _through(app_client))
    args = ["experts", "verify-draw", "--server", "http://testserver", "--request", str(drawn.request_id)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1].startswith("NOT YET REVEALED")
    assert "MATCHES" not in result.output and "DIFFERS" not in result.output
