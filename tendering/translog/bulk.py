"""Bulk writes for the sequencer's hot path, one statement per table and batch where the database allows.

On PostgreSQL a batch is sent as one array per column, in psycopg's binary format (``%(name)b``: no
text escaping of every byte string), and unpacked server-side with ``unnest``: one short statement
with a handful of parameters whatever the batch size, instead of a statement per row or one with
thousands of placeholders. Elsewhere (SQLite) a plain executemany is already cheap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any, Final

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

_CHUNK: Final = 400
"""Ids per ``IN (...)`` statement outside PostgreSQL; keeps the bound parameters modest."""


@cache
def _pg_unnest(table: Table, columns: tuple[str, ...], returning: tuple[str, ...]) -> str:
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    casts = ", ".join(f"CAST(%({c})b AS {table.c[c].type.compile(dialect=dialect)}[])" for c in columns)
    names = ", ".join(columns)
    sql = f"INSERT INTO {table.name} ({names}) SELECT * FROM unnest({casts})"  # noqa: S608 - names from metadata
    return sql + (f" RETURNING {', '.join(returning)}" if returning else "")


def _is_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def bulk_insert(
    session: Session, table: Table, rows: Sequence[Mapping[str, Any]], returning: tuple[str, ...] = ()
) -> list[tuple[Any, ...]]:
    """Insert ``rows`` (dicts with the same keys) into ``table``; return the ``returning`` columns.

    The returned rows are in no particular order: callers match them up by a unique column.
    """
    if not rows:
        return []
    columns = tuple(rows[0])
    if _is_postgresql(session):
        arrays = {c: [row[c] for row in rows] for c in columns}
        result = session.connection().exec_driver_sql(_pg_unnest(table, columns, returning), arrays)
        return [tuple(r) for r in result] if returning else []
    statement = table.insert()
    if returning:
        statement = statement.returning(*(table.c[c] for c in returning))
        return [tuple(r) for r in session.connection().execute(statement, list(rows))]
    session.connection().execute(statement, list(rows))
    return []


def delete_ids(session: Session, table: Table, column: str, ids: Sequence[int]) -> None:
    """Delete the rows whose ``column`` is one of ``ids`` (exactly those: never a range)."""
    if not ids:
        return
    if _is_postgresql(session):
        sql = f"DELETE FROM {table.name} WHERE {column} = ANY(CAST(%(ids)b AS BIGINT[]))"  # noqa: S608
        session.connection().exec_driver_sql(sql, {"ids": list(ids)})
        return
    for start in range(0, len(ids), _CHUNK):
        session.connection().execute(table.delete().where(table.c[column].in_(ids[start : start + _CHUNK])))
