"""Full-text search over tenders that works for Chinese, on SQLite and on PostgreSQL.

Chinese has no spaces between words, so word tokenizers do not help; both databases index character
trigrams instead, and a search term matches as a substring (``道路`` finds ``城南道路改造``):

* SQLite: an FTS5 table ``tender_search`` with the ``trigram`` tokenizer over the tender columns, kept in
  step with ``tenders`` by triggers (migration 0005). Terms of three characters or more use the index
  (``MATCH``); shorter terms (``道路``) cannot form a trigram and fall back to a ``LIKE`` over the same
  columns, which is exact but scans.
* PostgreSQL: a ``pg_trgm`` GIN index per searched column; ``ILIKE '%term%'`` on each, ORed, uses them
  (a BitmapOr) for terms of three characters or more and stays exact (a scan) for shorter ones.

Either way the answer is the same exact substring semantics; the index only makes it fast.
"""

from __future__ import annotations

from typing import Any, Final

from sqlalchemy import Boolean, ColumnElement, Index, Select, literal_column, or_, select, table
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from tendering.tenders.models import Tender

#: The columns searched, in index order (migration 0005 indexes the same ones).
SEARCH_COLUMNS: Final[tuple[str, ...]] = ("title", "project_name", "project_code", "description")
FTS_TABLE: Final[str] = "tender_search"


def search_columns() -> list[ColumnElement[str]]:
    """The searched tender columns (a term matches when one of them contains it)."""
    return [getattr(Tender, name).expression for name in SEARCH_COLUMNS]


def fts_phrase(term: str) -> str:
    """An FTS5 query matching ``term`` literally (a quoted phrase; quotes doubled)."""
    return '"' + term.replace('"', '""') + '"'


class TenderContains(ColumnElement[bool]):
    """SQL condition: the tender's searched text contains ``term`` (case-insensitive for Latin letters)."""

    type = Boolean()
    inherit_cache = False

    def __init__(self, term: str) -> None:
        self.term = term


def matches(term: str) -> ColumnElement[bool]:
    """The condition for one search term (a query ANDs one per term)."""
    return TenderContains(term)


@compiles(TenderContains)
def _compile_default(element: TenderContains, compiler: SQLCompiler, **kw: Any) -> str:
    condition = or_(*(column.contains(element.term, autoescape=True) for column in search_columns()))
    return f"({compiler.process(condition, **kw)})"  # the OR stays one term inside the caller's AND


@compiles(TenderContains, "postgresql")
def _compile_postgresql(element: TenderContains, compiler: SQLCompiler, **kw: Any) -> str:
    escaped = element.term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    condition = or_(*(column.ilike(f"%{escaped}%", escape="\\") for column in search_columns()))
    return f"({compiler.process(condition, **kw)})"  # the OR stays one term inside the caller's AND


@compiles(TenderContains, "sqlite")
def _compile_sqlite(element: TenderContains, compiler: SQLCompiler, **kw: Any) -> str:
    if len(element.term) < 3:
        return _compile_default(element, compiler, **kw)
    fts = table(FTS_TABLE, literal_column("rowid"))
    hits: Select[Any] = (
        select(literal_column("rowid"))
        .select_from(fts)
        .where(literal_column(FTS_TABLE).op("MATCH")(fts_phrase(element.term)))
    )
    return compiler.process(literal_column("tenders.rowid").in_(hits), **kw)


#: The PostgreSQL trigram indexes, one per searched column (migration 0005 creates them; declared here
#: so that ``alembic check`` knows them). ``ILIKE`` over the columns ORed becomes a BitmapOr of these.
SEARCH_INDEXES = tuple(
    Index(
        f"ix_tenders_{name}_trgm",
        getattr(Tender, name),
        postgresql_using="gin",
        postgresql_ops={name: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")
    for name in SEARCH_COLUMNS
)
