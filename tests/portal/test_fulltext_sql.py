"""The search SQL uses the trigram indexes where a term is long enough."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite

from tendering.platform import Platform
from tendering.search.fulltext import fts_phrase, matches
from tendering.tenders.models import Tender
from tests.conftest import PG_ADMIN_URL


def _sql(term: str, dialect: object) -> str:
    statement = select(Tender.id).where(matches(term))
    return str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))  # type: ignore[arg-type]


def test_sqlite_uses_fts5_for_three_characters_or_more() -> None:
    assert "MATCH" in _sql("笔记本", sqlite.dialect())
    short = _sql("道路", sqlite.dialect())
    assert "MATCH" not in short and "LIKE" in short
    assert fts_phrase('a"b') == '"a""b"'


def test_postgresql_uses_ilike() -> None:
    sql = _sql("100%", postgresql.dialect())
    assert sql.count("ILIKE") == 4 and "100\\%" in sql


@pytest.mark.skipif(not PG_ADMIN_URL, reason="needs PostgreSQL (SEALBID_TEST_DATABASE_URL)")
def test_postgresql_plan_uses_the_trigram_index(platform: Platform) -> None:
    with platform.engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))
        statement = select(Tender.id).where(matches("笔记本电脑"))
        compiled = statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(row[0] for row in conn.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_tenders_title_trgm" in plan, plan
