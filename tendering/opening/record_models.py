"""Tables of the opening hall and record: objections with answers, the signed opening record.

``OpeningObjection`` is one objection a bidder raised during the opening and the agency's answer
(Regs Art. 44: answered on the spot and recorded). ``OpeningRecord`` is the signed opening record of a
tender (``sealbid.opening-record.v1``): the canonical JSON bytes exactly as signed, the detached CMS
signature, and the instant it was published to everyone at once. It exists only once published: the
row is written in the same transaction that publishes it, so nothing of it is visible before.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, LargeBinary, String, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from tendering.db import Base, UTCDateTime, new_id


class OpeningObjection(Base):
    """An objection raised by a bidder during the opening, with the agency's answer."""

    __tablename__ = "opening_objections"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("opening_sessions.tender_id", ondelete="CASCADE"), index=True
    )
    bidder_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    bidder_name: Mapped[str] = mapped_column(String(300))
    bidder_uscc: Mapped[str] = mapped_column(String(18))
    text: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answer: Mapped[str | None] = mapped_column(Text)
    answered_by: Mapped[uuid.UUID | None] = mapped_column(Uuid, ForeignKey("identities.id"))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OpeningRecord(Base):
    """The signed opening record of one tender, published to all bidders at one instant."""

    __tablename__ = "opening_records"

    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("opening_sessions.tender_id", ondelete="CASCADE"), primary_key=True
    )
    #: RFC 8785 canonical JSON of the record, the bytes the signature covers.
    document: Mapped[bytes] = mapped_column(LargeBinary)
    #: SHA-256 (hex) of ``document`` (logged at publication).
    sha256: Mapped[str] = mapped_column(String(64))
    #: Detached CMS SignedData (DER) by the platform's signing certificate, time-stamped when configured.
    signature: Mapped[bytes] = mapped_column(LargeBinary)
    timestamped: Mapped[bool] = mapped_column(default=False)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The OCDS 1.1 release of the opening (bids extension), frozen at publication.
    ocds_release: Mapped[dict[str, Any]] = mapped_column(JSON)
