"""Opening: the opening session of a tender, custodians' share releases, each envelope's outcome.

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tendering.db

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "opening_sessions",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("closed_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("envelope_count", sa.Integer(), nullable=False),
        sa.Column("envelope_list_sha256", sa.String(length=64), nullable=False),
        sa.Column("opening_started_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decryption_deadline", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_opening_sessions_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_opening_sessions")),
    )
    op.create_table(
        "opening_outcomes",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("bid_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("envelope_sha256", sa.String(length=64), nullable=False),
        sa.Column("bidder_id", sa.Uuid(), nullable=False),
        sa.Column("bidder_uscc", sa.String(length=18), nullable=False),
        sa.Column("bidder_name", sa.String(length=300), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("decryption", sa.String(length=16), nullable=False),
        sa.Column("price_form", sa.JSON(), nullable=False),
        sa.Column("signature", sa.JSON(), nullable=False),
        sa.Column("decided_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.Column("middle_sha256", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(["bid_id"], ["bids.id"], name=op.f("fk_opening_outcomes_bid_id_bids")),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["identities.id"], name=op.f("fk_opening_outcomes_bidder_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["opening_sessions.tender_id"],
            name=op.f("fk_opening_outcomes_tender_id_opening_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_outcomes")),
        sa.UniqueConstraint("tender_id", "bid_id", name="uq_opening_outcomes_tender_bid"),
    )
    op.create_index(op.f("ix_opening_outcomes_tender_id"), "opening_outcomes", ["tender_id"])
    op.create_table(
        "opening_share_releases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("share_index", sa.Integer(), nullable=False),
        sa.Column("custodian_id", sa.Uuid(), nullable=False),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("signature", sa.LargeBinary(), nullable=False),
        sa.Column("statement_sha256", sa.String(length=64), nullable=False),
        sa.Column("signer_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["custodian_id"],
            ["identities.id"],
            name=op.f("fk_opening_share_releases_custodian_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["opening_sessions.tender_id"],
            name=op.f("fk_opening_share_releases_tender_id_opening_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_share_releases")),
        sa.UniqueConstraint("tender_id", "share_index", name="uq_opening_share_releases_index"),
    )
    op.create_index(op.f("ix_opening_share_releases_tender_id"), "opening_share_releases", ["tender_id"])
    op.create_table(
        "opening_share_rejections",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("share_index", sa.Integer(), nullable=False),
        sa.Column("custodian_id", sa.Uuid(), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("statement_sha256", sa.String(length=64), nullable=False),
        sa.Column("received_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["custodian_id"],
            ["identities.id"],
            name=op.f("fk_opening_share_rejections_custodian_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["opening_sessions.tender_id"],
            name=op.f("fk_opening_share_rejections_tender_id_opening_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opening_share_rejections")),
    )
    op.create_index(op.f("ix_opening_share_rejections_tender_id"), "opening_share_rejections", ["tender_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_opening_share_rejections_tender_id"), table_name="opening_share_rejections")
    op.drop_table("opening_share_rejections")
    op.drop_index(op.f("ix_opening_share_releases_tender_id"), table_name="opening_share_releases")
    op.drop_table("opening_share_releases")
    op.drop_index(op.f("ix_opening_outcomes_tender_id"), table_name="opening_outcomes")
    op.drop_table("opening_outcomes")
    op.drop_table("opening_sessions")
