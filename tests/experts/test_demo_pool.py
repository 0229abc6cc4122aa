"""The demo pool: valid experts through the audited path, stable per seed, and drawable."""

from __future__ import annotations

from sqlalchemy import func, select

from experts import pool
from experts.demo_pool import load_demo_pool
from experts.pool_csv import export_rows, parse_csv
from experts.pool_models import Expert, ExpertAudit
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.experts.pool_helpers import assignments, draw_for
from tests.tenders.conftest import Parties
from tests.tenders.helpers import published


def test_the_demo_pool_is_valid_stable_and_drawable(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    with platform.transaction() as session:
        ids = load_demo_pool(session, platform, count=120)
    assert len(set(ids)) == 120
    with platform.session_factory() as session:
        rows = [",".join(f'"{c}"' for c in r) for r in export_rows(session)]
        statuses = dict(session.execute(select(Expert.status, func.count()).group_by(Expert.status)).all())
        audits = session.scalar(select(func.count()).select_from(ExpertAudit))
    good, errors, count = parse_csv("\n".join(rows).encode(), max_rows=1000)
    assert (len(good), errors, count) == (120, [], 120)  # every generated expert passes validation
    assert statuses["active"] > 100
    with platform.transaction() as session:
        assert load_demo_pool(session, platform, count=120) == ids
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(ExpertAudit)) == audits
    assert pool.normalise_phone("13800138000") == "+8613800138000"
    tender_id = published(platform, clock, parties)
    request_id = draw_for(platform, clock, tender_id, parties, lines=[("A", 4, 2)])
    assert [a.role for a in assignments(platform, request_id)].count("member") == 4
