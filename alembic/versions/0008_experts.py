"""Experts: the pool, extraction requests, verifiable draws, sealed lists and confirmations.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import tendering.db

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.String(length=64), nullable=False),
        sa.Column("person_identity_id", sa.Uuid(), nullable=True),
        sa.Column("certificate_fingerprint", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("employer_uscc", sa.String(length=18), nullable=False),
        sa.Column("employer_name", sa.String(length=300), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("phones", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_identity_id"],
            ["identities.id"],
            name=op.f("fk_experts_person_identity_id_identities"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_experts")),
        sa.UniqueConstraint("number", name=op.f("uq_experts_number")),
        sa.UniqueConstraint("person_identity_id", name=op.f("uq_experts_person_identity_id")),
    )
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_experts_employer_uscc"), ["employer_uscc"], unique=False)
        batch_op.create_index("ix_experts_status_region", ["status", "region"], unique=False)

    op.create_table(
        "expert_audit",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("actor_role", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("changed_fields", sa.JSON(), nullable=False),
        sa.Column("at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_expert_audit_expert_id_experts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_audit")),
    )
    with op.batch_alter_table("expert_audit", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_audit_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "expert_participations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=True),
        sa.Column("tenderee_uscc", sa.String(length=18), nullable=False),
        sa.Column("evaluation_date", sa.Date(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_expert_participations_expert_id_experts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_expert_participations_tender_id_tenders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_participations")),
    )
    with op.batch_alter_table("expert_participations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_participations_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(
            "ix_expert_participations_tenderee_date", ["tenderee_uscc", "evaluation_date"], unique=False
        )

    op.create_table(
        "expert_unavailability",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"],
            ["experts.id"],
            name=op.f("fk_expert_unavailability_expert_id_experts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_unavailability")),
    )
    with op.batch_alter_table("expert_unavailability", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_unavailability_expert_id"), ["expert_id"], unique=False)

    op.create_table(
        "extraction_requests",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("requested_by", sa.Uuid(), nullable=True),
        sa.Column("requested_role", sa.String(length=16), nullable=False),
        sa.Column("evaluation_time", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evaluation_place", sa.String(length=300), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("exclude_same_region", sa.Boolean(), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("tenderee_uscc", sa.String(length=18), nullable=False),
        sa.Column("avoided_usccs", sa.JSON(), nullable=False),
        sa.Column("manual_avoid", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("secret_commitment", sa.String(length=64), nullable=False),
        sa.Column("sealed_secret", sa.LargeBinary(), nullable=False),
        sa.Column("eligible_hash", sa.String(length=64), nullable=False),
        sa.Column("commitment_pending_id", sa.Integer(), nullable=True),
        sa.Column("commitment_index", sa.Integer(), nullable=True),
        sa.Column("checkpoint_size", sa.Integer(), nullable=True),
        sa.Column("checkpoint_root", sa.LargeBinary(length=32), nullable=True),
        sa.Column("drawn_hash", sa.String(length=64), nullable=True),
        sa.Column("drawn_pending_id", sa.Integer(), nullable=True),
        sa.Column("reveal_pending_id", sa.Integer(), nullable=True),
        sa.Column("revealed_secret", sa.String(length=64), nullable=True),
        sa.Column("created_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("drawn_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("rechecked_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("released_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revealed_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_extraction_requests_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_extraction_requests")),
    )
    with op.batch_alter_table("extraction_requests", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_extraction_requests_tender_id"), ["tender_id"], unique=False)

    op.create_table(
        "expert_alerts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("specialty", sa.String(length=16), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("raised_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["extraction_requests.id"],
            name=op.f("fk_expert_alerts_request_id_extraction_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_alerts")),
    )
    with op.batch_alter_table("expert_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_alerts_request_id"), ["request_id"], unique=False)

    op.create_table(
        "expert_assignments",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("expert_id", sa.Uuid(), nullable=False),
        sa.Column("specialty", sa.String(length=16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("settled_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("replacement_id", sa.Uuid(), nullable=True),
        sa.Column("pool_short", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["expert_id"], ["experts.id"], name=op.f("fk_expert_assignments_expert_id_experts")
        ),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["extraction_requests.id"],
            name=op.f("fk_expert_assignments_request_id_extraction_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_assignments")),
        sa.UniqueConstraint("request_id", "expert_id", name="uq_expert_assignments_request_expert"),
        sa.UniqueConstraint(
            "request_id", "specialty", "rank", name="uq_expert_assignments_request_line_rank"
        ),
    )
    with op.batch_alter_table("expert_assignments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_expert_assignments_expert_id"), ["expert_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_expert_assignments_request_id"), ["request_id"], unique=False)

    op.create_table(
        "extraction_eligible_sets",
        sa.Column("request_id", sa.Uuid(), nullable=False),
        sa.Column("line_index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("expert_ids", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["request_id"],
            ["extraction_requests.id"],
            name=op.f("fk_extraction_eligible_sets_request_id_extraction_requests"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("request_id", "line_index", name=op.f("pk_extraction_eligible_sets")),
    )
    op.create_table(
        "expert_list_reads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("reader_id", sa.Uuid(), nullable=True),
        sa.Column("reader_role", sa.String(length=16), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["expert_assignments.id"],
            name=op.f("fk_expert_list_reads_assignment_id_expert_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_expert_list_reads")),
    )
    with op.batch_alter_table("expert_list_reads", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_expert_list_reads_assignment_id"), ["assignment_id"], unique=False
        )

    op.create_table(
        "expert_sealed_contacts",
        sa.Column("assignment_id", sa.Uuid(), nullable=False),
        sa.Column("key_id", sa.String(length=64), nullable=False),
        sa.Column("nonce", sa.LargeBinary(length=12), nullable=False),
        sa.Column("ciphertext", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["assignment_id"],
            ["expert_assignments.id"],
            name=op.f("fk_expert_sealed_contacts_assignment_id_expert_assignments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("assignment_id", name=op.f("pk_expert_sealed_contacts")),
    )


def downgrade() -> None:
    op.drop_table("expert_sealed_contacts")
    with op.batch_alter_table("expert_list_reads", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_list_reads_assignment_id"))

    op.drop_table("expert_list_reads")
    op.drop_table("extraction_eligible_sets")
    with op.batch_alter_table("expert_assignments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_assignments_request_id"))
        batch_op.drop_index(batch_op.f("ix_expert_assignments_expert_id"))

    op.drop_table("expert_assignments")
    with op.batch_alter_table("expert_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_alerts_request_id"))

    op.drop_table("expert_alerts")
    with op.batch_alter_table("extraction_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_extraction_requests_tender_id"))

    op.drop_table("extraction_requests")
    with op.batch_alter_table("expert_unavailability", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_unavailability_expert_id"))

    op.drop_table("expert_unavailability")
    with op.batch_alter_table("expert_participations", schema=None) as batch_op:
        batch_op.drop_index("ix_expert_participations_tenderee_date")
        batch_op.drop_index(batch_op.f("ix_expert_participations_expert_id"))

    op.drop_table("expert_participations")
    with op.batch_alter_table("expert_audit", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_expert_audit_expert_id"))

    op.drop_table("expert_audit")
    with op.batch_alter_table("experts", schema=None) as batch_op:
        batch_op.drop_index("ix_experts_status_region")
        batch_op.drop_index(batch_op.f("ix_experts_employer_uscc"))

    op.drop_table("experts")
