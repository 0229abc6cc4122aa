"""Bids: submissions, versions, upload sessions, receipts and submission metadata.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tendering.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

UTC_TIME = tendering.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bid_upload_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("bidder_id", sa.Uuid(), nullable=False),
        sa.Column("declared_size", sa.BigInteger(), nullable=False),
        sa.Column("declared_sha256", sa.String(length=64), nullable=False),
        sa.Column("offset", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.Column("expires_at", UTC_TIME, nullable=False),
        sa.Column("chunks", sa.JSON(), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ["bidder_id"], ["identities.id"], name=op.f("fk_bid_upload_sessions_bidder_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_bid_upload_sessions_tender_id_tenders")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_upload_sessions")),
    )
    op.create_index(op.f("ix_bid_upload_sessions_bidder_id"), "bid_upload_sessions", ["bidder_id"])
    op.create_index(op.f("ix_bid_upload_sessions_expires_at"), "bid_upload_sessions", ["expires_at"])
    op.create_index(op.f("ix_bid_upload_sessions_tender_id"), "bid_upload_sessions", ["tender_id"])
    op.create_table(
        "bids",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("bidder_id", sa.Uuid(), nullable=False),
        sa.Column("bidder_uscc", sa.String(length=18), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("current_version", sa.Integer(), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["bidder_id"], ["identities.id"], name=op.f("fk_bids_bidder_id_identities")),
        sa.ForeignKeyConstraint(["tender_id"], ["tenders.id"], name=op.f("fk_bids_tender_id_tenders")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bids")),
        sa.UniqueConstraint("tender_id", "bidder_id", name="uq_bids_tender_bidder"),
    )
    op.create_index(op.f("ix_bids_bidder_id"), "bids", ["bidder_id"])
    op.create_index(op.f("ix_bids_tender_id"), "bids", ["tender_id"])
    op.create_table(
        "bid_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("bid_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("lots", sa.JSON(), nullable=False),
        sa.Column("envelope_sha256", sa.String(length=64), nullable=True),
        sa.Column("envelope_size", sa.BigInteger(), nullable=True),
        sa.Column("statement", sa.LargeBinary(), nullable=False),
        sa.Column("statement_signature", sa.LargeBinary(), nullable=False),
        sa.Column("nonce", sa.String(length=128), nullable=False),
        sa.Column("signer_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("received_at", UTC_TIME, nullable=False),
        sa.Column("bidder_commitment", sa.String(length=64), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("log_pending_id", sa.BigInteger(), nullable=False),
        sa.Column("log_index", sa.BigInteger(), nullable=True),
        sa.Column("receipt", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["bid_id"], ["bids.id"], name=op.f("fk_bid_versions_bid_id_bids"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bid_versions")),
        sa.UniqueConstraint("bid_id", "version", name="uq_bid_versions_bid_version"),
        sa.UniqueConstraint("nonce", name="uq_bid_versions_nonce"),
    )
    op.create_index(op.f("ix_bid_versions_bid_id"), "bid_versions", ["bid_id"])
    op.create_table(
        "bid_submission_metadata",
        sa.Column("version_id", sa.Uuid(), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("client_name", sa.String(length=100), nullable=True),
        sa.Column("client_version", sa.String(length=50), nullable=True),
        sa.Column("machine_code", sa.String(length=128), nullable=True),
        sa.Column("client_time", sa.String(length=40), nullable=True),
        sa.Column("upload_started_at", UTC_TIME, nullable=True),
        sa.Column("upload_finished_at", UTC_TIME, nullable=True),
        sa.Column("chunks", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["version_id"],
            ["bid_versions.id"],
            name=op.f("fk_bid_submission_metadata_version_id_bid_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("version_id", name=op.f("pk_bid_submission_metadata")),
    )


def downgrade() -> None:
    op.drop_table("bid_submission_metadata")
    op.drop_index(op.f("ix_bid_versions_bid_id"), table_name="bid_versions")
    op.drop_table("bid_versions")
    op.drop_index(op.f("ix_bids_tender_id"), table_name="bids")
    op.drop_index(op.f("ix_bids_bidder_id"), table_name="bids")
    op.drop_table("bids")
    op.drop_index(op.f("ix_bid_upload_sessions_tender_id"), table_name="bid_upload_sessions")
    op.drop_index(op.f("ix_bid_upload_sessions_expires_at"), table_name="bid_upload_sessions")
    op.drop_index(op.f("ix_bid_upload_sessions_bidder_id"), table_name="bid_upload_sessions")
    op.drop_table("bid_upload_sessions")
