"""Expert confirmations: voice calls, SMS codes, provider webhooks and their outcomes.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tendering.db

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    when = tendering.db.UTCDateTime(timezone=True)
    op.create_table(
        "expert_confirmations",
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("phone_index", sa.Integer(), nullable=False),
        sa.Column("phone_count", sa.Integer(), nullable=False),
        sa.Column("calls_on_number", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(length=10), nullable=False),
        sa.Column("code_salt", sa.String(length=64), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", when, nullable=True),
        sa.Column("wrong_codes", sa.Integer(), nullable=False),
        sa.Column("due_at", when, nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("created_at", when, nullable=False),
        sa.Column("updated_at", when, nullable=False),
        sa.Column("settled_at", when, nullable=True),
        sa.PrimaryKeyConstraint("assignment_id", name=op.f("pk_expert_confirmations")),
    )
    op.create_index(op.f("ix_expert_confirmations_due_at"), "expert_confirmations", ["due_at"])
    op.create_table(
        "expert_contact_attempts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=True),
        sa.Column("phone_index", sa.Integer(), nullable=False),
        sa.Column("phone_number", sa.String(length=32), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("digits", sa.String(length=16), nullable=True),
        sa.Column("prompts", sa.Integer(), nullable=False),
        sa.Column("created_at", when, nullable=False),
        sa.Column("finished_at", when, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_contact_attempts")),
        sa.UniqueConstraint("assignment_id", "step", name="uq_expert_contact_attempts_assignment_step"),
        sa.UniqueConstraint("provider", "provider_id", name="uq_expert_contact_attempts_provider_id"),
    )
    op.create_index(
        op.f("ix_expert_contact_attempts_assignment_id"), "expert_contact_attempts", ["assignment_id"]
    )
    op.create_index(
        op.f("ix_expert_contact_attempts_phone_number"), "expert_contact_attempts", ["phone_number"]
    )
    op.create_table(
        "expert_telephony_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("event_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("provider_id", sa.String(length=64), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=True),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.Column("received_at", when, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_telephony_events")),
        sa.UniqueConstraint("provider", "event_key", name="uq_expert_telephony_events_provider_key"),
    )
    op.create_index(
        op.f("ix_expert_telephony_events_assignment_id"), "expert_telephony_events", ["assignment_id"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_expert_telephony_events_assignment_id"), table_name="expert_telephony_events")
    op.drop_table("expert_telephony_events")
    op.drop_index(op.f("ix_expert_contact_attempts_phone_number"), table_name="expert_contact_attempts")
    op.drop_index(op.f("ix_expert_contact_attempts_assignment_id"), table_name="expert_contact_attempts")
    op.drop_table("expert_contact_attempts")
    op.drop_index(op.f("ix_expert_confirmations_due_at"), table_name="expert_confirmations")
    op.drop_table("expert_confirmations")
