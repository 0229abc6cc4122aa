"""When a tender's public view last changed: ``tenders.public_changed_at`` and its (time, id) index.

The OCDS bulk export and the sitemap walk published tenders in ``(public_changed_at, id)`` order, a
range scan of ``ix_tenders_public_changed_at_id`` that stops after one page. Existing published tenders
get the time of their newest notice, else their publication; later than that, the publication of their
opening record or (for a failed tender) its failure.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tendering.db

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

BACKFILL = (
    # the newest notice, else the publication
    "UPDATE tenders SET public_changed_at = COALESCE("
    "(SELECT max(n.published_at) FROM tender_notices n WHERE n.tender_id = tenders.id), published_at) "
    "WHERE published_at IS NOT NULL",
    # the opening record, where it came later
    "UPDATE tenders SET public_changed_at = "
    "(SELECT r.published_at FROM opening_records r WHERE r.tender_id = tenders.id) "
    "WHERE published_at IS NOT NULL AND EXISTS (SELECT 1 FROM opening_records r "
    "WHERE r.tender_id = tenders.id AND r.published_at > tenders.public_changed_at)",
    # the failure (流标), which writes no notice
    "UPDATE tenders SET public_changed_at = closed_at "
    "WHERE published_at IS NOT NULL AND state = 'failed' AND closed_at > public_changed_at",
)


def upgrade() -> None:
    # A plain ADD COLUMN (no batch copy on SQLite: the full-text triggers on tenders stay as they are).
    op.add_column("tenders", sa.Column("public_changed_at", tendering.db.UTCDateTime(timezone=True)))
    for statement in BACKFILL:
        op.execute(statement)
    op.create_index("ix_tenders_public_changed_at_id", "tenders", ["public_changed_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tenders_public_changed_at_id", table_name="tenders")
    op.drop_column("tenders", "public_changed_at")
