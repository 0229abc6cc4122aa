"""Tables of what happens around a published tender: notices, documents, downloads, questions.

Download records, question authors and notice deliveries say who obtained the documents, which the
Bidding Law (Art. 22) keeps confidential: they are read only by the organisation concerned and, later,
by monitors; the public log sees them only as salted commitments.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tendering.db import Base, UTCDateTime, new_id


class TenderNotice(Base):
    """A published clarification (澄清) or amendment (修改) notice, or a cancellation notice."""

    __tablename__ = "tender_notices"
    __table_args__ = (UniqueConstraint("tender_id", "number", name="uq_tender_notices_tender_number"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), index=True
    )
    #: 1, 2, ... per tender, in publication order.
    number: Mapped[int] = mapped_column(Integer)
    #: clarification, amendment or cancellation.
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    previous_bid_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    new_bid_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    content_sha256: Mapped[str] = mapped_column(String(64))


class NoticeDelivery(Base):
    """A notice sent to an organisation that obtained the tender documents (confidential)."""

    __tablename__ = "tender_notice_deliveries"
    __table_args__ = (
        UniqueConstraint("notice_id", "organisation_id", name="uq_tender_notice_deliveries_notice_org"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    notice_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tender_notices.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)
    delivered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TenderDocument(Base):
    """One version of a tender document, stored in the blob store by its SHA-256."""

    __tablename__ = "tender_documents"
    __table_args__ = (
        UniqueConstraint("tender_id", "name", "version", name="uq_tender_documents_tender_name_version"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(BigInteger)
    media_type: Mapped[str] = mapped_column(String(127))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    uploaded_by: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    #: When tenderers may obtain it: at publication (uploaded in the draft) or with a notice.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tender_notices.id"))


class DocumentDownload(Base):
    """A tenderer obtained a document: organisation, certificate, address, time (confidential)."""

    __tablename__ = "tender_document_downloads"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    document_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tender_documents.id", ondelete="CASCADE"), index=True
    )
    tender_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("tenders.id", ondelete="CASCADE"))
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"), index=True)
    certificate_fingerprint: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(100))
    downloaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Opens the public log's commitment to this record (see ``tendering.tenders.events``).
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))


class ClarificationQuestion(Base):
    """A tenderer's request for clarification; the agency sees the text, never the author."""

    __tablename__ = "tender_questions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    text: Mapped[str] = mapped_column(Text)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    notice_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("tender_notices.id"))
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))
