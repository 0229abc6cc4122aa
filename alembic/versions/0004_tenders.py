"""Tenders: tenders, lots, criteria, custodians, workflow history, notices, documents, downloads,
questions, organisation profiles and shareholders, supervision steps and warnings.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import tendering.db
import tendering.tenders.money

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tenders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("state", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("tenderee_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("project_name", sa.String(length=300), nullable=False),
        sa.Column("project_code", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("procedure", sa.String(length=64), nullable=False),
        sa.Column("category", sa.String(length=16), nullable=False),
        sa.Column("region", sa.String(length=6), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=False),
        sa.Column("qualification_requirements", sa.JSON(), nullable=False),
        sa.Column("evaluation_method", sa.String(length=32), nullable=False),
        sa.Column("committee_size", sa.Integer(), nullable=False),
        sa.Column("tenderee_representatives", sa.Integer(), nullable=False),
        sa.Column("publication_time", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("document_period_start", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("document_period_end", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("clarification_deadline", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("bid_deadline", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("evaluation_date", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("publicity_days", sa.Integer(), nullable=False),
        sa.Column("opening_threshold", sa.Integer(), nullable=False),
        sa.Column("bidder_decryption", sa.Boolean(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("approved_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.Text(), nullable=True),
        sa.Column("end_code", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["identities.id"], name=op.f("fk_tenders_agency_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["tenderee_id"], ["identities.id"], name=op.f("fk_tenders_tenderee_id_identities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tenders")),
    )
    op.create_index(op.f("ix_tenders_agency_id"), "tenders", ["agency_id"], unique=False)
    op.create_index(op.f("ix_tenders_bid_deadline"), "tenders", ["bid_deadline"], unique=False)
    op.create_index(op.f("ix_tenders_category"), "tenders", ["category"], unique=False)
    op.create_index("ix_tenders_published_at", "tenders", ["published_at"], unique=False)
    op.create_index(op.f("ix_tenders_region"), "tenders", ["region"], unique=False)
    op.create_index(op.f("ix_tenders_state"), "tenders", ["state"], unique=False)
    op.create_index(
        "ix_tenders_state_publication_time", "tenders", ["state", "publication_time"], unique=False
    )
    op.create_index(op.f("ix_tenders_tenderee_id"), "tenders", ["tenderee_id"], unique=False)

    op.create_table(
        "organisation_profiles",
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("legal_representative", sa.String(length=100), nullable=False),
        sa.Column("legal_representative_id_hmac", sa.String(length=64), nullable=True),
        sa.Column("region", sa.String(length=6), nullable=True),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("updated_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisations.identity_id"],
            name=op.f("fk_organisation_profiles_organisation_id_organisations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organisation_id", name=op.f("pk_organisation_profiles")),
    )
    op.create_index(
        op.f("ix_organisation_profiles_legal_representative_id_hmac"),
        "organisation_profiles",
        ["legal_representative_id_hmac"],
        unique=False,
    )

    op.create_table(
        "supervision_steps",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("step", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.Column("responsible", sa.String(length=16), nullable=False),
        sa.Column("started_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("warn_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("confidential", sa.Boolean(), nullable=False),
        sa.Column("closed_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["identities.id"], name=op.f("fk_supervision_steps_agency_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_supervision_steps_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_steps")),
    )
    op.create_index(op.f("ix_supervision_steps_agency_id"), "supervision_steps", ["agency_id"], unique=False)
    op.create_index(
        "ix_supervision_steps_status_warn_at", "supervision_steps", ["status", "warn_at"], unique=False
    )
    op.create_index(op.f("ix_supervision_steps_tender_id"), "supervision_steps", ["tender_id"], unique=False)
    op.create_index(
        "ix_supervision_steps_tender_step_subject",
        "supervision_steps",
        ["tender_id", "step", "subject"],
        unique=False,
    )

    op.create_table(
        "tender_criteria",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("weight", tendering.tenders.money.ExactDecimal(precision=5, scale=2), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_criteria_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_criteria")),
    )
    op.create_index(op.f("ix_tender_criteria_tender_id"), "tender_criteria", ["tender_id"], unique=False)

    op.create_table(
        "tender_custodians",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("identity_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["identity_id"], ["identities.id"], name=op.f("fk_tender_custodians_identity_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_custodians_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_custodians")),
        sa.UniqueConstraint("tender_id", "identity_id", name="uq_tender_custodians_tender_identity"),
    )
    op.create_index(
        op.f("ix_tender_custodians_identity_id"), "tender_custodians", ["identity_id"], unique=False
    )

    op.create_table(
        "tender_lots",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column(
            "estimated_price", tendering.tenders.money.ExactDecimal(precision=18, scale=2), nullable=False
        ),
        sa.Column(
            "ceiling_price", tendering.tenders.money.ExactDecimal(precision=18, scale=2), nullable=True
        ),
        sa.Column("bid_bond", tendering.tenders.money.ExactDecimal(precision=18, scale=2), nullable=True),
        sa.Column("qualification", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"], ["tenders.id"], name=op.f("fk_tender_lots_tender_id_tenders"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_lots")),
        sa.UniqueConstraint("tender_id", "number", name="uq_tender_lots_tender_number"),
    )
    op.create_table(
        "tender_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("published_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("previous_bid_deadline", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("new_bid_deadline", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_notices_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_notices")),
        sa.UniqueConstraint("tender_id", "number", name="uq_tender_notices_tender_number"),
    )
    op.create_index(op.f("ix_tender_notices_tender_id"), "tender_notices", ["tender_id"], unique=False)

    op.create_table(
        "tender_transitions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_state", sa.String(length=32), nullable=True),
        sa.Column("to_state", sa.String(length=32), nullable=False),
        sa.Column("at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_role", sa.String(length=32), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_transitions_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_transitions")),
        sa.UniqueConstraint("tender_id", "sequence", name="uq_tender_transitions_tender_sequence"),
    )

    op.create_table(
        "organisation_shareholders",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("uscc", sa.String(length=18), nullable=True),
        sa.Column("person_id_hmac", sa.String(length=64), nullable=True),
        sa.Column(
            "share_percent", tendering.tenders.money.ExactDecimal(precision=5, scale=2), nullable=False
        ),
        sa.Column("controlling", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation_profiles.organisation_id"],
            name=op.f("fk_organisation_shareholders_organisation_id_organisation_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_organisation_shareholders")),
    )
    op.create_index(
        op.f("ix_organisation_shareholders_organisation_id"),
        "organisation_shareholders",
        ["organisation_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_organisation_shareholders_person_id_hmac"),
        "organisation_shareholders",
        ["person_id_hmac"],
        unique=False,
    )
    op.create_index(
        op.f("ix_organisation_shareholders_uscc"), "organisation_shareholders", ["uscc"], unique=False
    )

    op.create_table(
        "supervision_warnings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("step_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("agency_id", sa.Uuid(), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("raised_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("resolution", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["agency_id"], ["identities.id"], name=op.f("fk_supervision_warnings_agency_id_identities")
        ),
        sa.ForeignKeyConstraint(
            ["step_id"],
            ["supervision_steps.id"],
            name=op.f("fk_supervision_warnings_step_id_supervision_steps"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_supervision_warnings_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supervision_warnings")),
        sa.UniqueConstraint("step_id", "level", name="uq_supervision_warnings_step_level"),
    )
    op.create_index(
        "ix_supervision_warnings_open", "supervision_warnings", ["resolved_at", "agency_id"], unique=False
    )
    op.create_index(
        op.f("ix_supervision_warnings_step_id"), "supervision_warnings", ["step_id"], unique=False
    )
    op.create_index(
        op.f("ix_supervision_warnings_tender_id"), "supervision_warnings", ["tender_id"], unique=False
    )

    op.create_table(
        "tender_documents",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("media_type", sa.String(length=127), nullable=False),
        sa.Column("uploaded_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("uploaded_by", sa.Uuid(), nullable=False),
        sa.Column("released_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notice_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["tender_notices.id"], name=op.f("fk_tender_documents_notice_id_tender_notices")
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_documents_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by"], ["identities.id"], name=op.f("fk_tender_documents_uploaded_by_identities")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_documents")),
        sa.UniqueConstraint("tender_id", "name", "version", name="uq_tender_documents_tender_name_version"),
    )
    op.create_index(op.f("ix_tender_documents_tender_id"), "tender_documents", ["tender_id"], unique=False)

    op.create_table(
        "tender_notice_deliveries",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("notice_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("delivered_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"],
            ["tender_notices.id"],
            name=op.f("fk_tender_notice_deliveries_notice_id_tender_notices"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identities.id"],
            name=op.f("fk_tender_notice_deliveries_organisation_id_identities"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_notice_deliveries")),
        sa.UniqueConstraint("notice_id", "organisation_id", name="uq_tender_notice_deliveries_notice_org"),
    )
    op.create_index(
        op.f("ix_tender_notice_deliveries_notice_id"), "tender_notice_deliveries", ["notice_id"], unique=False
    )
    op.create_index(
        op.f("ix_tender_notice_deliveries_organisation_id"),
        "tender_notice_deliveries",
        ["organisation_id"],
        unique=False,
    )

    op.create_table(
        "tender_questions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("asked_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", tendering.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("notice_id", sa.Uuid(), nullable=True),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["tender_notices.id"], name=op.f("fk_tender_questions_notice_id_tender_notices")
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identities.id"],
            name=op.f("fk_tender_questions_organisation_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_questions_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_questions")),
    )
    op.create_index(op.f("ix_tender_questions_tender_id"), "tender_questions", ["tender_id"], unique=False)

    op.create_table(
        "tender_document_downloads",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("document_id", sa.Uuid(), nullable=False),
        sa.Column("tender_id", sa.Uuid(), nullable=False),
        sa.Column("organisation_id", sa.Uuid(), nullable=False),
        sa.Column("certificate_fingerprint", sa.String(length=64), nullable=False),
        sa.Column("address", sa.String(length=100), nullable=True),
        sa.Column("downloaded_at", tendering.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("salt", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["tender_documents.id"],
            name=op.f("fk_tender_document_downloads_document_id_tender_documents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["identities.id"],
            name=op.f("fk_tender_document_downloads_organisation_id_identities"),
        ),
        sa.ForeignKeyConstraint(
            ["tender_id"],
            ["tenders.id"],
            name=op.f("fk_tender_document_downloads_tender_id_tenders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tender_document_downloads")),
    )
    op.create_index(
        op.f("ix_tender_document_downloads_document_id"),
        "tender_document_downloads",
        ["document_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_tender_document_downloads_organisation_id"),
        "tender_document_downloads",
        ["organisation_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        op.f("ix_tender_document_downloads_organisation_id"), table_name="tender_document_downloads"
    )
    op.drop_index(op.f("ix_tender_document_downloads_document_id"), table_name="tender_document_downloads")

    op.drop_table("tender_document_downloads")
    op.drop_index(op.f("ix_tender_questions_tender_id"), table_name="tender_questions")

    op.drop_table("tender_questions")
    op.drop_index(op.f("ix_tender_notice_deliveries_organisation_id"), table_name="tender_notice_deliveries")
    op.drop_index(op.f("ix_tender_notice_deliveries_notice_id"), table_name="tender_notice_deliveries")

    op.drop_table("tender_notice_deliveries")
    op.drop_index(op.f("ix_tender_documents_tender_id"), table_name="tender_documents")

    op.drop_table("tender_documents")
    op.drop_index(op.f("ix_supervision_warnings_tender_id"), table_name="supervision_warnings")
    op.drop_index(op.f("ix_supervision_warnings_step_id"), table_name="supervision_warnings")
    op.drop_index("ix_supervision_warnings_open", table_name="supervision_warnings")

    op.drop_table("supervision_warnings")
    op.drop_index(op.f("ix_organisation_shareholders_uscc"), table_name="organisation_shareholders")
    op.drop_index(op.f("ix_organisation_shareholders_person_id_hmac"), table_name="organisation_shareholders")
    op.drop_index(
        op.f("ix_organisation_shareholders_organisation_id"), table_name="organisation_shareholders"
    )

    op.drop_table("organisation_shareholders")

    op.drop_table("tender_transitions")
    op.drop_index(op.f("ix_tender_notices_tender_id"), table_name="tender_notices")

    op.drop_table("tender_notices")
    op.drop_table("tender_lots")
    op.drop_index(op.f("ix_tender_custodians_identity_id"), table_name="tender_custodians")

    op.drop_table("tender_custodians")
    op.drop_index(op.f("ix_tender_criteria_tender_id"), table_name="tender_criteria")

    op.drop_table("tender_criteria")
    op.drop_index("ix_supervision_steps_tender_step_subject", table_name="supervision_steps")
    op.drop_index(op.f("ix_supervision_steps_tender_id"), table_name="supervision_steps")
    op.drop_index("ix_supervision_steps_status_warn_at", table_name="supervision_steps")
    op.drop_index(op.f("ix_supervision_steps_agency_id"), table_name="supervision_steps")

    op.drop_table("supervision_steps")
    op.drop_index(
        op.f("ix_organisation_profiles_legal_representative_id_hmac"), table_name="organisation_profiles"
    )

    op.drop_table("organisation_profiles")
    op.drop_index(op.f("ix_tenders_tenderee_id"), table_name="tenders")
    op.drop_index("ix_tenders_state_publication_time", table_name="tenders")
    op.drop_index(op.f("ix_tenders_state"), table_name="tenders")
    op.drop_index(op.f("ix_tenders_region"), table_name="tenders")
    op.drop_index("ix_tenders_published_at", table_name="tenders")
    op.drop_index(op.f("ix_tenders_category"), table_name="tenders")
    op.drop_index(op.f("ix_tenders_bid_deadline"), table_name="tenders")
    op.drop_index(op.f("ix_tenders_agency_id"), table_name="tenders")

    op.drop_table("tenders")
