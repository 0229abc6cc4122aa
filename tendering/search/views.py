"""The public view of a published tender: exactly what the portal, the feed and OCDS may show.

These frozen values are read from the tender domain (``tendering.search.source``) and carry nothing
confidential (no list of who obtained the documents, no bidders: Law Art. 22). Money is ``Decimal``
with a currency; times are aware UTC datetimes, shown in the tender's time zone.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Literal

NoticeKind = Literal["tender", "amendment", "cancellation"]


@dataclass(frozen=True)
class Money:
    """An amount in a currency (ISO 4217)."""

    amount: Decimal
    currency: str = "CNY"


@dataclass(frozen=True)
class PartyView:
    """An organisation named in an announcement."""

    id: uuid.UUID
    name: str
    credit_code: str | None = None


@dataclass(frozen=True)
class LotView:
    """One lot (标段)."""

    id: uuid.UUID
    number: int
    title: str
    estimate: Money | None = None
    ceiling: Money | None = None
    bond: Money | None = None


@dataclass(frozen=True)
class DocumentView:
    """One published tender document version."""

    id: uuid.UUID
    name: str
    size: int
    sha256: str
    version: int = 1
    media_type: str = "application/octet-stream"
    published: datetime | None = None


@dataclass(frozen=True)
class NoticeView:
    """A published change: the announcement itself, a clarification/amendment, or the cancellation."""

    id: uuid.UUID
    kind: NoticeKind
    published: datetime
    title: str
    body: str = ""


@dataclass(frozen=True)
class Timetable:
    """The announced dates."""

    document_start: datetime | None = None
    document_end: datetime | None = None
    clarification_deadline: datetime | None = None
    bid_deadline: datetime | None = None
    evaluation: datetime | None = None


@dataclass(frozen=True)
class TenderView:
    """A published tender as the public sees it."""

    id: uuid.UUID
    reference: str
    title: str
    project: str
    description: str
    category: str  # works | goods | services
    region: str  # GB/T 2260 division code, e.g. 420100
    procedure: str
    status: str  # published | cancelled | closed | ...
    tenderee: PartyView
    agency: PartyView | None
    published: datetime
    timetable: Timetable
    #: The tender's stored time zone (None: shown in the platform's ``Settings.default_time_zone``).
    time_zone: str | None = None
    lots: tuple[LotView, ...] = ()
    documents: tuple[DocumentView, ...] = ()
    notices: tuple[NoticeView, ...] = field(default_factory=tuple)
    cancel_reason: str | None = None
    #: When the public view last changed as the database records it (``tenders.public_changed_at``:
    #: also the failure and the opening record, which add no notice); None for views built elsewhere.
    updated: datetime | None = None

    @property
    def amendments(self) -> tuple[NoticeView, ...]:
        """The clarifications and amendments, oldest first."""
        return tuple(notice for notice in self.notices if notice.kind == "amendment")

    @property
    def last_changed(self) -> datetime:
        """When the public view last changed (the latest notice)."""
        return max([self.published, *(notice.published for notice in self.notices)])

    @property
    def changed_at(self) -> datetime:
        """The position of this tender in the change order: :attr:`updated`, else :attr:`last_changed`."""
        return self.updated or self.last_changed
