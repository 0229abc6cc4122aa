"""Tables for a tender's opening key: the certificate bids are sealed to, and the custodians' shares.

The key ceremony runs on the lead custodian's machine (``sealbid custodian ceremony``); the server only
ever holds the opening *certificate*, each share encrypted (CMS AuthEnvelopedData) to its custodian's
encryption certificate, and a commitment per share. No plaintext share or key is stored here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint, Uuid, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tendering.db import Base, UTCDateTime, new_id


class TenderOpeningKey(Base):
    """The opening certificate of a tender, registered by the lead custodian's signed bundle."""

    __tablename__ = "tender_opening_keys"

    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tenders.id", ondelete="CASCADE"), primary_key=True
    )
    #: DER of the opening certificate (P-256 key); bids are sealed to it.
    certificate_der: Mapped[bytes] = mapped_column(LargeBinary)
    #: SHA-256 (hex) of ``certificate_der``.
    certificate_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    #: k: how many custodian shares open the bids.
    threshold: Mapped[int] = mapped_column(Integer)
    #: n: how many shares were made.
    share_count: Mapped[int] = mapped_column(Integer)
    #: The custodian identity that ran the ceremony and signed the bundle.
    lead_custodian_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    #: SHA-256 (hex) of the signed bundle as uploaded (kept in the blob store under this digest).
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    #: SHA-256 (hex) of the lead custodian's detached CMS signature over the bundle (in the blob store).
    signature_sha256: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TenderKeyShare(Base):
    """One custodian's share of the opening key, encrypted to that custodian, and its commitment."""

    __tablename__ = "tender_key_shares"
    __table_args__ = (
        UniqueConstraint("tender_id", "share_index", name="uq_tender_key_shares_tender_index"),
        UniqueConstraint("tender_id", "custodian_id", name="uq_tender_key_shares_tender_custodian"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    tender_id: Mapped[uuid.UUID] = mapped_column(
        Uuid, ForeignKey("tender_opening_keys.tender_id", ondelete="CASCADE"), index=True
    )
    #: The Shamir x-coordinate (1..n).
    share_index: Mapped[int] = mapped_column(Integer)
    custodian_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("identities.id"))
    #: SHA-256 (hex) of the custodian's encryption certificate the share is sealed to.
    custodian_certificate_sha256: Mapped[str] = mapped_column(String(64))
    #: CMS AuthEnvelopedData (DER) to the custodian's encryption certificate.
    encrypted_share: Mapped[bytes] = mapped_column(LargeBinary)
    #: SHA-256 (hex) commitment to the share (see ``docs/ceremony.md``).
    commitment: Mapped[str] = mapped_column(String(64))


def opening_certificate(session: Session, tender_id: uuid.UUID) -> bytes | None:
    """The DER opening certificate of a tender, or None while no ceremony bundle is registered."""
    return session.scalar(
        select(TenderOpeningKey.certificate_der).where(TenderOpeningKey.tender_id == tender_id)
    )


@dataclass(frozen=True)
class CustodianCertificate:
    """A custodian of a tender with the encryption certificate its share is to be sealed to."""

    #: The share index: 1-based rank in the tender's custodian list (1 = the lead custodian).
    index: int
    identity_id: uuid.UUID
    name: str
    #: DER of the current encryption certificate; None when the custodian has none registered.
    certificate_der: bytes | None
    certificate_sha256: str | None


@dataclass(frozen=True)
class OwnShare:
    """What a custodian fetches of its own share: still encrypted to its certificate."""

    tender_id: uuid.UUID
    index: int
    threshold: int
    share_count: int
    encrypted_share: bytes
    commitment: str
    custodian_certificate_sha256: str
    opening_certificate_der: bytes
    opening_certificate_sha256: str


@dataclass(frozen=True)
class CeremonyPlan:
    """What the lead custodian's tool needs: the opening policy and whom to encrypt shares to."""

    tender_id: uuid.UUID
    title: str
    state: str
    threshold: int
    publication_time: datetime
    bid_deadline: datetime
    custodians: tuple[CustodianCertificate, ...]
    registered_certificate_sha256: str | None
    suggested_not_after: datetime


@dataclass(frozen=True)
class Registration:
    """The outcome of an upload: the registered key, and whether this upload registered it."""

    tender_id: uuid.UUID
    opening_certificate_sha256: str
    bundle_sha256: str
    threshold: int
    share_count: int
    commitments: tuple[tuple[int, str], ...]
    created: bool
