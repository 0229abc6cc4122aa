"""verify-draw: a fair draw MATCHES; a tampered secret, eligible set, order, replacement or log is caught."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select, update

from api.cli import main
from experts import draw_math
from experts.committee import settle
from experts.draw_public import reveal_secret
from experts.pool_models import ExpertAssignment, ExtractionEligibleSet
from experts.verify_draw import EXIT_LOCAL, EXIT_TAMPERED, VerifyError, verify_draw
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.translog.models import LogEntry
from tests.experts.pool_helpers import Drawn, assignments, system
from tests.tenders.conftest import Parties
from tests.tenders.helpers import authority

pytestmark = pytest.mark.usefixtures("hold_confirmations")  # the tests settle by hand

Client = TestClient[Litestar]


def _reveal(platform: Platform, clock: ManualClock, parties: Parties, drawn: Drawn) -> str:
    clock.advance(timedelta(days=26))
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
    outsider = next(a for a in rows if a.rank == 0)
    with platform.transaction() as session:
        session.execute(update(ExpertAssignment).where(ExpertAssignment.id == replacement.id).values(rank=9))
    verdict = verify_draw(app_client, drawn.request_id)
    assert any(d.startswith("replacement A0101 rank 9") for d in verdict.differences)
    assert outsider.rank == 0


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


def test_before_the_reveal_the_secret_is_needed(app_client: Client, drawn: Drawn) -> None:
    with pytest.raises(VerifyError) as caught:
        verify_draw(app_client, drawn.request_id)
    assert caught.value.exit_code == EXIT_LOCAL
    assert "not revealed" in str(caught.value)


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
    bad = runner.invoke(main, [*args, "--secret", "11" * 32])
    assert bad.exit_code == EXIT_TAMPERED
    assert "DIFFERS" in bad.output
