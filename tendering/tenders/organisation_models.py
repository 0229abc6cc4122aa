"""Organisation profiles: legal representative and shareholders (for related-party checks, Regs Art. 34).

The identity registry names an organisation by its USCC; what the tendering domain needs beyond that
lives here, one profile per organisation, declared by the organisation itself. Personal id numbers are
never stored: only an HMAC-SHA256 of the normalised number under a platform key (id numbers are too
predictable for a bare hash), enough to match the same person across organisations.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, ForeignKey, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column, relationship

from tendering.db import Base, UTCDateTime, new_id
from tendering.tenders.money import ExactDecimal


class OrganisationProfile(Base):
    """The tendering profile of a registered organisation."""

    __tablename__ = "organisation_profiles"

    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisations.identity_id", ondelete="CASCADE"), primary_key=True
    )
    legal_representative: Mapped[str] = mapped_column(String(100))
    #: HMAC-SHA256 (hex) of the legal representative's normalised personal id number.
    legal_representative_id_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    #: GB/T 2260 division code of the registered address.
    region: Mapped[str | None] = mapped_column(String(6))
    address: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    shareholders: Mapped[list[Shareholder]] = relationship(
        order_by="Shareholder.position", cascade="all, delete-orphan"
    )


class Shareholder(Base):
    """A shareholder of an organisation: another organisation (by USCC) or a person (by id HMAC)."""

    __tablename__ = "organisation_shareholders"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    organisation_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("organisation_profiles.organisation_id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(300))
    #: The shareholder's USCC when it is an organisation.
    uscc: Mapped[str | None] = mapped_column(String(18), index=True)
    #: HMAC-SHA256 (hex) of a natural person's normalised id number.
    person_id_hmac: Mapped[str | None] = mapped_column(String(64), index=True)
    share_percent: Mapped[Decimal] = mapped_column(ExactDecimal(5, 2))
    controlling: Mapped[bool] = mapped_column(Boolean, default=False)
