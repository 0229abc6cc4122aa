"""Opening record and hall: objections and answers, the signed opening record.

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tendering.db

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opening_objections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("bidder_id", sa.Uuid(), nullable=False),
        sa.Column("bidder_name", sa.String(length=300), nullable=False),
        sa.Column("bidder_uscc", sa.String(length=18), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("raised_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answer", sa.Text(), nullable=True),
        sa.Column("answered_by", sa.Uuid(), nullable=True),
        sa.Column("answered_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["answered_by"], ["identities.id"], name=op.f("fk_opening_objections_answered_by_identities")
        ),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["identities.id"], name=op.f("fk_opening_objections_bidder_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["opening_sessions.tender_id"],
            name=op.f("fk_opening_objections_tender_id_opening_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_objections")),
    )
    op.create_index(op.f("ix_opening_objections_tender_id"), "opening_objections", ["tender_id"])
    op.create_table(
        "opening_records",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("document", sa.LargeBinary(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("timestamped", sa.Boolean(), nullable=False),
        sa.Column("published_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ocds_release", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["opening_sessions.tender_id"],
            name=op.f("fk_opening_records_tender_id_opening_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_opening_records")),
    )


def downgrade() -> None:
    op.drop_table("opening_records")
    op.drop_index(op.f("ix_opening_objections_tender_id"), table_name="opening_objections")
    op.drop_table("opening_objections")
