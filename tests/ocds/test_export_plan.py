"""On PostgreSQL a bulk export page is a range scan of ``(public_changed_at, id)`` that stops at its
limit: no per-tender subquery, no sort of every published tender before the LIMIT."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Select, text

from tendering.platform import Platform
from tendering.search.source import changed_statement
from tests.portal.dbseed import T0, organisation

TENDERS = 20_000


@pytest.fixture
def many(platform: Platform) -> Iterator[Platform]:
    if platform.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (SEALBID_TEST_DATABASE_URL)")
    agency = organisation(platform, "湖北招标代理有限公司", "91420100MA4K000000", "agency")
    tenderee = organisation(platform, "武汉市城建局", "11420100MB1234567X")
    with platform.engine.begin() as conn:
        conn.execute(
            text(
                """
                INSERT INTO tenders (id, state, version, agency_id, tenderee_id, title, project_name,
                  project_code, description, procedure, category, region, time_zone,
                  qualification_requirements, evaluation_method, committee_size, tenderee_representatives,
                  publication_time, document_period_end, clarification_deadline, bid_deadline,
                  evaluation_date, publicity_days, opening_threshold, bidder_decryption, content_sha256,
                  created_at, updated_at, published_at, public_changed_at)
                SELECT gen_random_uuid(), 'published', 1, :agency, :tenderee, 'T' || n, 'P' || n,
                  'C' || n, '', 'open_works', 'works', '420100', 'Asia/Shanghai', '[]',
                  'lowest_evaluated_price', 5, 0, at, at, at, at, at, 3, 2, false, repeat('0', 64),
                  at, at, at, at + (n % 7) * interval '1 day'
                FROM (SELECT n, CAST(:t0 AS timestamptz) + n * interval '1 minute' AS at
                      FROM generate_series(1, :count) AS n) AS s
                """
            ),
            {"agency": agency, "tenderee": tenderee, "t0": T0, "count": TENDERS},
        )
        conn.execute(text("ANALYZE tenders"))
    yield platform


def _plan(platform: Platform, statement: Select[Any]) -> dict[str, Any]:
    compiled = statement.compile(dialect=platform.engine.dialect)
    with platform.engine.connect() as conn:
        raw = conn.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled}", compiled.params).scalar_one()
    document = json.loads(raw) if isinstance(raw, str) else raw
    plan: dict[str, Any] = document[0]["Plan"]
    return plan


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _nodes(child)


CURSOR = (T0 + timedelta(days=5), uuid.UUID("ffffffff-0000-0000-0000-000000000000"))


@pytest.mark.parametrize(("since", "after"), [(None, None), (T0 + timedelta(days=3), None), (T0, CURSOR)])
def test_an_export_page_is_an_index_range_scan_without_a_sort(
    many: Platform, since: datetime | None, after: tuple[datetime, uuid.UUID] | None
) -> None:
    plan = _plan(many, changed_statement(since, None, after=after, limit=101))
    nodes = list(_nodes(plan))
    kinds = [node["Node Type"] for node in nodes]
    assert kinds[0] == "Limit", kinds
    assert "Sort" not in kinds and "Incremental Sort" not in kinds, kinds
    scans = [node for node in nodes if node["Node Type"] in ("Index Scan", "Index Only Scan")]
    assert [scan["Index Name"] for scan in scans] == ["ix_tenders_public_changed_at_id"], kinds
    assert "SubPlan" not in json.dumps(plan)  # no per-tender subquery
