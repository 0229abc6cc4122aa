"""Opening keys: a tender's opening certificate and the custodians' encrypted shares.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tendering.db

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tender_opening_keys",
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_der", sa.LargeBinary(), nullable=False),
        sa.Column("certificate_sha256", sa.String(length=64), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("share_count", sa.Integer(), nullable=False),
        sa.Column("lead_custodian_id", sa.Uuid(), nullable=False),
        sa.Column("bundle_sha256", sa.String(length=64), nullable=False),
        sa.Column("signature_sha256", sa.String(length=64), nullable=False),
        sa.Column("registered_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_custodian_id"],
            ["identities.id"],
            name=op.f("fk_tender_opening_keys_lead_custodian_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_opening_keys_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tender_id", name=op.f("pk_tender_opening_keys")),
        sa.UniqueConstraint("certificate_sha256", name=op.f("uq_tender_opening_keys_certificate_sha256")),
    )
    op.create_table(
        "tender_key_shares",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("share_index", sa.Integer(), nullable=False),
        sa.Column("custodian_id", sa.Uuid(), nullable=False),
        sa.Column("custodian_certificate_sha256", sa.String(length=64), nullable=False),
        sa.Column("encrypted_share", sa.LargeBinary(), nullable=False),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["custodian_id"], ["identities.id"], name=op.f("fk_tender_key_shares_custodian_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tender_opening_keys.tender_id"],
            name=op.f("fk_tender_key_shares_tender_id_tender_opening_keys"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_key_shares")),
        sa.UniqueConstraint("tender_id", "custodian_id", name="uq_tender_key_shares_tender_custodian"),
        sa.UniqueConstraint("tender_id", "share_index", name="uq_tender_key_shares_tender_index"),
    )
    op.create_index(op.f("ix_tender_key_shares_tender_id"), "tender_key_shares", ["tender_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_tender_key_shares_tender_id"), table_name="tender_key_shares")
    op.drop_table("tender_key_shares")
    op.drop_table("tender_opening_keys")
