"""Platform tables: the task outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tendering.db

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "task_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("actor", sa.String(length=120), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", tendering.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", tendering.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_outbox")),
    )
    op.create_index(op.f("ix_task_outbox_sent_at"), "task_outbox", ["sent_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_task_outbox_sent_at"), table_name="task_outbox")
    op.drop_table("task_outbox")
