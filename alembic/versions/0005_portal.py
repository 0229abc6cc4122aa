"""Portal full-text search over tenders (Chinese-capable on both databases).

SQLite: an FTS5 table with the trigram tokenizer, external content ``tenders`` (by rowid), kept in step by
triggers. PostgreSQL: the pg_trgm extension and a GIN trigram index per searched column
(``tendering.search.fulltext.SEARCH_INDEXES``).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

COLUMNS = "title, project_name, project_code, description"
NEW = "new.title, new.project_name, new.project_code, new.description"
OLD = "old.title, old.project_name, old.project_code, old.description"
SEARCH_COLUMNS = ("title", "project_name", "project_code", "description")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        op.execute(
            f"CREATE VIRTUAL TABLE tender_search USING fts5({COLUMNS}, "
            "content='tenders', content_rowid='rowid', tokenize='trigram')"
        )
        op.execute(
            f"CREATE TRIGGER tender_search_ai AFTER INSERT ON tenders BEGIN "
            f"INSERT INTO tender_search(rowid, {COLUMNS}) VALUES (new.rowid, {NEW}); END"
        )
        op.execute(
            f"CREATE TRIGGER tender_search_ad AFTER DELETE ON tenders BEGIN "
            f"INSERT INTO tender_search(tender_search, rowid, {COLUMNS}) VALUES ('delete', old.rowid, {OLD}); END"
        )
        op.execute(
            f"CREATE TRIGGER tender_search_au AFTER UPDATE OF {COLUMNS} ON tenders BEGIN "
            f"INSERT INTO tender_search(tender_search, rowid, {COLUMNS}) VALUES ('delete', old.rowid, {OLD}); "
            f"INSERT INTO tender_search(rowid, {COLUMNS}) VALUES (new.rowid, {NEW}); END"
        )
        op.execute("INSERT INTO tender_search(tender_search) VALUES ('rebuild')")
    elif dialect == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        for column in SEARCH_COLUMNS:
            op.execute(f"CREATE INDEX ix_tenders_{column}_trgm ON tenders USING gin ({column} gin_trgm_ops)")


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        for trigger in ("tender_search_ai", "tender_search_ad", "tender_search_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS tender_search")
    elif dialect == "postgresql":
        for column in SEARCH_COLUMNS:
            op.execute(f"DROP INDEX IF EXISTS ix_tenders_{column}_trgm")
