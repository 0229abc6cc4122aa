"""Identity registry: identities, organisations, persons, certificates, role grants, login challenges.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tendering.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "identities",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("subject_key", sa.String(length=160), nullable=False),
        sa.Column("display_name", sa.String(length=300), nullable=False),
        sa.Column("created_at", tendering.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("subject_key", name=op.f("uq_identities_subject_key")),
    )
    op.create_table(
        "login_challenges",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("audience", sa.String(length=300), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("issued_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", tendering.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_challenges")),
    )
    op.create_index(op.f("ix_login_challenges_expires_at"), "login_challenges", ["expires_at"], unique=False)
    op.create_table(
        "certificates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("der", sa.LargeBinary(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=1000), nullable=False),
        sa.Column("issuer", sa.String(length=1000), nullable=False),
        sa.Column("serial_number", sa.String(length=80), nullable=False),
        sa.Column("not_before", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("not_after", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("registered_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", tendering.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_certificates_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certificates")),
        sa.UniqueConstraint("fingerprint", name=op.f("uq_certificates_fingerprint")),
    )
    op.create_index(op.f("ix_certificates_identity_id"), "certificates", ["identity_id"], unique=False)
    op.create_table(
        "organisations",
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_organisations_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_organisations")),
        sa.UniqueConstraint("uscc", name=op.f("uq_organisations_uscc")),
    )
    op.create_table(
        "persons",
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("person_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_persons_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("identity_id", name=op.f("pk_persons")),
        sa.UniqueConstraint("person_id", name=op.f("uq_persons_person_id")),
    )
    op.create_table(
        "role_grants",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=True),
        sa.Column("grant_basis", sa.String(length=32), nullable=False),
        sa.Column("granted_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", tendering.db.UTCDateTime(), nullable=True),
        sa.Column("revoked_by", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["granted_by"], ["identities.id"], name=op.f("fk_role_grants_granted_by_identities")
        ),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_role_grants_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["revoked_by"], ["identities.id"], name=op.f("fk_role_grants_revoked_by_identities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_role_grants")),
        sa.UniqueConstraint("identity_id", "role", name="uq_role_grants_identity_role"),
    )
    op.create_index(op.f("ix_role_grants_identity_id"), "role_grants", ["identity_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_role_grants_identity_id"), table_name="role_grants")
    op.drop_table("role_grants")
    op.drop_table("persons")
    op.drop_table("organisations")
    op.drop_index(op.f("ix_certificates_identity_id"), table_name="certificates")
    op.drop_table("certificates")
    op.drop_index(op.f("ix_login_challenges_expires_at"), table_name="login_challenges")
    op.drop_table("login_challenges")
    op.drop_table("identities")
