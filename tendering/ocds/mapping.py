"""Map the public view of a tender to OCDS 1.1 releases, records and packages.

Every published change is one release: the announcement (tag ``tender``), each clarification or
amendment (``tenderAmendment``) and the cancellation (``tenderCancellation``). The release ``id`` is the
notice id, so releases are stable across exports. Lots follow the OCDS lots extension shape
(``tender.lots``), which the core schema admits as additional properties.

Limitation, said plainly: the domain keeps the current state of a tender, not every past version, so a
release carries the current lots, timetable and documents, with the amendments published up to its date.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from tendering.ocds.opening import BIDS_EXTENSION, with_opening
from tendering.search.views import Money, NoticeView, PartyView, TenderView

OCDS_VERSION: Final[str] = "1.1"
DEFAULT_OCID_PREFIX: Final[str] = "ocds-sealbid"
LOTS_EXTENSION: Final[str] = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"
)
_TAGS: Final[dict[str, str]] = {
    "tender": "tender",
    "amendment": "tenderAmendment",
    "cancellation": "tenderCancellation",
}
_METHODS: Final[dict[str, str]] = {"open": "open", "invited": "selective"}
_STATUS: Final[dict[str, str]] = {
    "published": "active",
    "amended": "active",
    "closed": "complete",
    "awarded": "complete",
    "failed": "unsuccessful",
    "cancelled": "cancelled",
}


def ocds_datetime(moment: datetime) -> str:
    """An RFC 3339 UTC timestamp as OCDS wants it."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def ocid(tender: TenderView, prefix: str = DEFAULT_OCID_PREFIX) -> str:
    """The Open Contracting ID of a tender (prefix plus its opaque id)."""
    return f"{prefix}-{tender.id}"


def _money(money: Money | None) -> dict[str, Any] | None:
    if money is None:
        return None
    return {"amount": float(money.amount), "currency": money.currency}


def _party(party: PartyView, roles: list[str]) -> dict[str, Any]:
    document: dict[str, Any] = {"id": str(party.id), "name": party.name, "roles": roles}
    if party.credit_code:
        document["identifier"] = {"scheme": "CN-USCC", "id": party.credit_code, "legalName": party.name}
    return document


def _parties(tender: TenderView) -> list[dict[str, Any]]:
    if tender.agency is None or tender.agency.id == tender.tenderee.id:
        return [_party(tender.tenderee, ["buyer", "procuringEntity"])]
    return [_party(tender.tenderee, ["buyer"]), _party(tender.agency, ["procuringEntity"])]


def _period(start: datetime | None, end: datetime | None) -> dict[str, str]:
    period = {}
    if start:
        period["startDate"] = ocds_datetime(start)
    if end:
        period["endDate"] = ocds_datetime(end)
    return period


def _total(tender: TenderView) -> dict[str, Any] | None:
    estimates = [lot.estimate for lot in tender.lots if lot.estimate]
    currencies = {money.currency for money in estimates}
    if not estimates or len(currencies) != 1 or len(estimates) != len(tender.lots):
        return None
    total = sum((money.amount for money in estimates), Decimal(0))
    return _money(Money(total, currencies.pop()))


def _tender_section(tender: TenderView, notice: NoticeView, base_url: str) -> dict[str, Any]:
    known = [n for n in tender.notices if n.published <= notice.published]
    cancelled = any(n.kind == "cancellation" for n in known)
    status = "cancelled" if cancelled else _STATUS.get(tender.status, "active")
    if not cancelled and tender.status == "cancelled":
        status = "active"
    procuring = tender.agency or tender.tenderee
    section: dict[str, Any] = {
        "id": str(tender.id),
        "title": tender.title,
        "description": tender.description,
        "status": status,
        "procuringEntity": {"id": str(procuring.id), "name": procuring.name},
        "procurementMethod": _METHODS.get(tender.procedure.split("_", 1)[0], "open"),
        "procurementMethodDetails": tender.procedure,
        "mainProcurementCategory": tender.category,
        "submissionMethod": ["electronicSubmission"],
        "tenderPeriod": _period(tender.published, tender.timetable.bid_deadline),
        "enquiryPeriod": _period(tender.published, tender.timetable.clarification_deadline),
        "lots": [
            {
                "id": str(lot.id),
                "title": lot.title,
                **({"value": _money(lot.estimate)} if lot.estimate else {}),
            }
            for lot in tender.lots
        ],
        "documents": [
            {
                "id": f"{document.id}",
                "documentType": "biddingDocuments",
                "title": document.name,
                "url": f"{base_url}/announcements/{tender.id}#documents",
                "format": document.media_type,
                **({"datePublished": ocds_datetime(document.published)} if document.published else {}),
            }
            for document in tender.documents
        ],
    }
    total = _total(tender)
    if total:
        section["value"] = total
    amendments = [n for n in known if n.kind in ("amendment", "cancellation")]
    if amendments:
        section["amendments"] = [
            {"id": str(n.id), "date": ocds_datetime(n.published), "description": n.title, "rationale": n.body}
            for n in amendments
        ]
    return section


def release(
    tender: TenderView, notice: NoticeView, *, base_url: str, prefix: str = DEFAULT_OCID_PREFIX
) -> dict[str, Any]:
    """The OCDS release for one published notice of ``tender``."""
    return {
        "ocid": ocid(tender, prefix),
        "id": str(notice.id),
        "date": ocds_datetime(notice.published),
        "tag": [_TAGS[notice.kind]],
        "initiationType": "tender",
        "language": "zh",
        "parties": _parties(tender),
        "buyer": {"id": str(tender.tenderee.id), "name": tender.tenderee.name},
        "tender": _tender_section(tender, notice, base_url),
    }


def releases(
    tender: TenderView,
    *,
    base_url: str,
    prefix: str = DEFAULT_OCID_PREFIX,
    extra: Sequence[dict[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Every release of ``tender``, oldest first; ``extra``: later releases kept elsewhere (the opening)."""
    ordered = sorted(tender.notices, key=lambda notice: (notice.published, str(notice.id)))
    return [release(tender, notice, base_url=base_url, prefix=prefix) for notice in ordered] + list(extra)


def _publisher(name: str) -> dict[str, Any]:
    return {"name": name}


def release_package(
    items: Iterable[dict[str, Any]], *, uri: str, published: datetime, publisher: str
) -> dict[str, Any]:
    """A release package around ``items`` (already built releases)."""
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [LOTS_EXTENSION, BIDS_EXTENSION],
        "publishedDate": ocds_datetime(published),
        "publisher": _publisher(publisher),
        "releases": list(items),
    }


def compiled_release(items: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The current state: the newest release re-tagged ``compiled`` (releases carry the full state)."""
    newest = dict(items[-1])
    newest["id"] = f"{newest['ocid']}-compiled"
    newest["tag"] = ["compiled"]
    return newest


def record_package(
    tender: TenderView,
    *,
    uri: str,
    base_url: str,
    published: datetime,
    publisher: str,
    prefix: str = DEFAULT_OCID_PREFIX,
    extra: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """The record package of one tender: all its releases embedded, plus the compiled release
    (``extra``: the opening release, whose bids the compiled release also carries)."""
    notices = releases(tender, base_url=base_url, prefix=prefix)
    items = notices + list(extra)
    record: dict[str, Any] = {"ocid": ocid(tender, prefix), "releases": items}
    if notices:
        compiled = compiled_release(notices)
        for opening in extra:
            compiled = with_opening(compiled, opening)
        record["compiledRelease"] = compiled
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [LOTS_EXTENSION, BIDS_EXTENSION],
        "publishedDate": ocds_datetime(published),
        "publisher": _publisher(publisher),
        "records": [record],
    }
