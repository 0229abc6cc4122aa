"""Read models of tenders: frozen values with a ``document()`` JSON shape, for the API and the portal.

Times in documents come twice: ``..._utc`` style UTC text under the plain name, and the same instant in
the tender's time zone under ``local`` (for display). Amounts are decimal strings.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tendering.tenders.procedures import ProcedureRules
from tendering.tenders.spec import TenderSpec, local_text, spec_document, utc_text


def _when(when: datetime | None, zone: str) -> dict[str, str] | None:
    return None if when is None else {"utc": utc_text(when), "local": local_text(when, zone)}


@dataclass(frozen=True)
class OrgRef:
    """An organisation as tenders name it."""

    id: uuid.UUID
    uscc: str
    name: str

    def document(self) -> dict[str, str]:
        """As JSON."""
        return {"id": str(self.id), "uscc": self.uscc, "name": self.name}


@dataclass(frozen=True)
class TenderSummary:
    """One line of a tender list."""

    id: uuid.UUID
    state: str
    title: str
    project_name: str
    project_code: str
    procedure: str
    category: str
    region: str
    time_zone: str
    agency: OrgRef
    tenderee: OrgRef
    publication_time: datetime
    published_at: datetime | None
    bid_deadline: datetime
    submitted_at: datetime | None
    lot_count: int
    #: When the public view last changed (None before publication).
    public_changed_at: datetime | None = None

    def document(self) -> dict[str, Any]:
        """As JSON."""
        zone = self.time_zone
        return {
            "id": str(self.id),
            "state": self.state,
            "title": self.title,
            "project_name": self.project_name,
            "project_code": self.project_code,
            "procedure": self.procedure,
            "category": self.category,
            "region": self.region,
            "time_zone": zone,
            "agency": self.agency.document(),
            "tenderee": self.tenderee.document(),
            "publication_time": _when(self.publication_time, zone),
            "published_at": _when(self.published_at, zone),
            "bid_deadline": _when(self.bid_deadline, zone),
            "submitted_at": _when(self.submitted_at, zone),
            "lot_count": self.lot_count,
        }


@dataclass(frozen=True)
class DocumentView:
    """One version of a tender document (metadata only)."""

    id: uuid.UUID
    name: str
    version: int
    sha256: str
    size: int
    media_type: str
    uploaded_at: datetime
    released_at: datetime | None
    notice_id: uuid.UUID | None
    current: bool

    def document(self, zone: str) -> dict[str, Any]:
        """As JSON."""
        return {
            "id": str(self.id),
            "name": self.name,
            "version": self.version,
            "sha256": self.sha256,
            "size": self.size,
            "media_type": self.media_type,
            "uploaded_at": _when(self.uploaded_at, zone),
            "released_at": _when(self.released_at, zone),
            "notice_id": str(self.notice_id) if self.notice_id else None,
            "current": self.current,
        }


@dataclass(frozen=True)
class NoticeView:
    """A published clarification, amendment or cancellation notice."""

    id: uuid.UUID
    tender_id: uuid.UUID
    number: int
    kind: str
    title: str
    body: str
    published_at: datetime
    previous_bid_deadline: datetime | None
    new_bid_deadline: datetime | None
    content_sha256: str
    questions: tuple[str, ...]
    documents: tuple[uuid.UUID, ...]

    def document(self, zone: str) -> dict[str, Any]:
        """As JSON."""
        return {
            "id": str(self.id),
            "tender_id": str(self.tender_id),
            "number": self.number,
            "kind": self.kind,
            "title": self.title,
            "body": self.body,
            "published_at": _when(self.published_at, zone),
            "previous_bid_deadline": _when(self.previous_bid_deadline, zone),
            "new_bid_deadline": _when(self.new_bid_deadline, zone),
            "content_sha256": self.content_sha256,
            "questions_answered": list(self.questions),
            "documents": [str(d) for d in self.documents],
        }


@dataclass(frozen=True)
class TimelineEntry:
    """A workflow step of a tender."""

    action: str
    state: str
    at: datetime
    actor_role: str
    content_sha256: str
    reasons: tuple[str, ...]
    public: bool

    def document(self, zone: str) -> dict[str, Any]:
        """As JSON."""
        return {
            "action": self.action,
            "state": self.state,
            "at": _when(self.at, zone),
            "actor_role": self.actor_role,
            "content_sha256": self.content_sha256,
            "reasons": list(self.reasons),
        }


@dataclass(frozen=True)
class TenderDetail:
    """Everything about a tender that its audience may see.

    ``audience`` is ``public`` (a published tender: unreleased documents, custodian identities and
    internal steps left out), ``agency`` (the owner) or ``authority``.
    """

    summary: TenderSummary
    spec: TenderSpec
    rules: ProcedureRules
    content_sha256: str
    version: int
    documents: tuple[DocumentView, ...]
    notices: tuple[NoticeView, ...]
    timeline: tuple[TimelineEntry, ...]
    end_code: str | None
    end_reason: str | None
    audience: str

    def document(self) -> dict[str, Any]:
        """As JSON for the audience it was read for."""
        zone = self.summary.time_zone
        content = spec_document(self.spec)
        timetable = {name: _when(when, zone) for name, when in self.spec.timetable.times().items()}
        timetable["publicity_days"] = self.spec.timetable.publicity_days  # type: ignore[assignment]
        timetable["opening_time"] = timetable["bid_deadline"]
        content["timetable"] = timetable
        if self.audience == "public":
            opening = content["opening"]
            opening["custodian_count"] = len(opening.pop("custodians"))
        return {
            **self.summary.document(),
            "version": self.version,
            "content": content,
            "content_sha256": self.content_sha256,
            "rules": {
                "procedure": self.rules.procedure,
                "name": dict(self.rules.name),
                "jurisdictions": list(self.rules.jurisdictions),
                "min_bids": self.rules.min_bids,
                "bid_bond_max_percent": str(self.rules.bid_bond_max_percent),
                "amendment_min_days_before_deadline": self.rules.amendment_min_days_before_deadline,
            },
            "documents": [d.document(zone) for d in self.documents],
            "notices": [n.document(zone) for n in self.notices],
            "timeline": [t.document(zone) for t in self.timeline],
            "end": {"code": self.end_code, "reason": self.end_reason} if self.end_code else None,
        }
