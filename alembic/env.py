"""Alembic environment for sealbid: migrations are the only source of the schema."""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

import experts.models  # noqa: F401 - registers the expert tables on the shared metadata
from tendering.db import make_engine
from tendering.models import metadata
from tendering.settings import load_settings

config = context.config
if config.config_file_name is not None and config.attributes.get("connection") is None:
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    return url or load_settings().effective_database_url


def _include_object(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object, *, dialect: str
) -> bool:
    """Leave dialect-specific search structures out of the comparison where they do not apply.

    The portal's full-text search is an FTS5 virtual table (``tender_search`` and its shadow tables)
    on SQLite and trigram GIN indexes (``ix_*_trgm``, declared in the metadata) on PostgreSQL.
    """
    if dialect == "sqlite":
        if type_ == "table" and reflected and name is not None and name.startswith("tender_search"):
            return False
        if type_ == "index" and name is not None and name.endswith("_trgm"):
            return False
    return True


def _run(connection: Connection) -> None:
    dialect = connection.dialect.name
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=dialect == "sqlite",
        compare_type=True,
        include_object=lambda obj, name, type_, reflected, compare_to: _include_object(
            obj, name, type_, reflected, compare_to, dialect=dialect
        ),
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    """Emit SQL without a database."""
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Migrate the configured database (or the connection a caller passed in)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = make_engine(_url())
    try:
        with engine.begin() as conn:
            _run(conn)
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
