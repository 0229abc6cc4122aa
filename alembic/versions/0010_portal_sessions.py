"""Browser sign-in for the portal: single-use hand-off links and server-side browser sessions.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tendering.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "browser_signin_links",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("next_path", sa.String(length=500), nullable=False),
        sa.Column("issued_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("used_at", tendering.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_browser_signin_links_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_signin_links")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_browser_signin_links_secret_sha256")),
    )
    op.create_index(
        op.f("ix_browser_signin_links_expires_at"), "browser_signin_links", ["expires_at"], unique=False
    )
    op.create_table(
        "browser_sessions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("secret_sha256", sa.String(length=64), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("roles", sa.String(length=200), nullable=False),
        sa.Column("created_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("last_seen_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("expires_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("ended_at", tendering.db.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["identity_id"],
            ["identities.id"],
            name=op.f("fk_browser_sessions_identity_id_identities"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_sessions")),
        sa.UniqueConstraint("secret_sha256", name=op.f("uq_browser_sessions_secret_sha256")),
    )
    op.create_index(op.f("ix_browser_sessions_expires_at"), "browser_sessions", ["expires_at"], unique=False)
    op.create_index(
        op.f("ix_browser_sessions_identity_id"), "browser_sessions", ["identity_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_browser_sessions_identity_id"), table_name="browser_sessions")
    op.drop_index(op.f("ix_browser_sessions_expires_at"), table_name="browser_sessions")
    op.drop_table("browser_sessions")
    op.drop_index(op.f("ix_browser_signin_links_expires_at"), table_name="browser_signin_links")
    op.drop_table("browser_signin_links")
