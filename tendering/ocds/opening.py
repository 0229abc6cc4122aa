"""The OCDS 1.1 release of a bid opening, with the bids extension (``bids.details``, ``bids.statistics``).

Built once from the signed opening record (``sealbid.opening-record.v1``) when it is published and kept
with it, so the release always says what the record says. Tag ``tenderUpdate``: the opening adds to the
tender stage; the release ``id`` is ``opening-record-<tender id>`` so it is stable across exports.

Bid status mapping (OCDS ``bidStatus`` codelist): an opened envelope is ``valid`` (it was accepted at
the opening; evaluation comes later), a revoked one (撤销, the bidder's own fault, Measures Art. 31) is
``disqualified``, a withdrawn one (撤回) is ``withdrawn``. Tenderers are listed in ``parties`` with the
role ``tenderer`` and their unified social credit code as identifier (scheme ``CN-USCC``).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tendering.opening.record_models import OpeningRecord

BIDS_EXTENSION: Final[str] = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_bid_extension/v1.1.5/extension.json"
)
OPENING_TAG: Final[str] = "tenderUpdate"
BID_STATUS: Final[dict[str, str]] = {"opened": "valid", "revoked": "disqualified", "withdrawn": "withdrawn"}
_OCID_PREFIX: Final[str] = "ocds-sealbid"


def release_id(tender_id: str) -> str:
    """The stable release id of a tender's opening."""
    return f"opening-record-{tender_id}"


def _ocds_time(text: str) -> str:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _bid_value(lots: Iterable[Mapping[str, Any]]) -> tuple[Decimal, str] | None:
    amounts: list[Decimal] = []
    currencies: set[str] = set()
    for lot in lots:
        price = lot.get("price") or {}
        amount, currency = price.get("amount"), price.get("currency")
        if not isinstance(amount, str) or not isinstance(currency, str) or not currency:
            return None
        amounts.append(Decimal(amount))
        currencies.add(currency)
    if not amounts or len(currencies) != 1:
        return None
    return sum(amounts, Decimal(0)), currencies.pop()


def _tenderer_party(bidder: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": str(bidder.get("id") or f"CN-USCC-{bidder['uscc']}"),
        "name": bidder["name"],
        "identifier": {"scheme": "CN-USCC", "id": bidder["uscc"], "legalName": bidder["name"]},
        "roles": ["tenderer"],
    }


def _parties(record: Mapping[str, Any]) -> list[dict[str, Any]]:
    tender = record["tender"]
    tenderee, agency = tender["tenderee"], tender["agency"]
    parties: dict[str, dict[str, Any]] = {}
    for who, roles in ((tenderee, ["buyer"]), (agency, ["procuringEntity"])):
        blank = {"id": who["id"], "name": who["name"] or who["id"], "roles": []}
        party = parties.setdefault(who["id"], blank)
        party["roles"] += [role for role in roles if role not in party["roles"]]
    for bid in record["bids"]:
        tenderer = _tenderer_party(bid["bidder"])
        party = parties.setdefault(tenderer["id"], tenderer)
        if "tenderer" not in party["roles"]:
            party["roles"] = [*party["roles"], "tenderer"]
    return list(parties.values())


def _detail(bid: Mapping[str, Any], lot_ids: Mapping[str, str], date: str) -> dict[str, Any]:
    bidder = _tenderer_party(bid["bidder"])
    detail: dict[str, Any] = {
        "id": bid["bid"],
        "date": date,
        "status": BID_STATUS.get(bid["outcome"] or "", "pending"),
        "tenderers": [{"id": bidder["id"], "name": bidder["name"]}],
    }
    value = _bid_value(bid["lots"])
    if value is not None and bid["outcome"] == "opened":
        detail["value"] = {"amount": float(value[0]), "currency": value[1]}
    related = sorted({lot_ids[str(lot.get("lot"))] for lot in bid["lots"] if str(lot.get("lot")) in lot_ids})
    if related:
        detail["relatedLots"] = related
    return detail


def _statistics(record: Mapping[str, Any], date: str) -> list[dict[str, Any]]:
    bids = record["bids"]
    counts = {
        "bids": len(bids),
        "validBids": sum(1 for bid in bids if bid["outcome"] == "opened"),
        "disqualifiedBids": sum(1 for bid in bids if bid["outcome"] == "revoked"),
    }
    statistics: list[dict[str, Any]] = [
        {"id": str(number), "measure": measure, "value": value, "date": date}
        for number, (measure, value) in enumerate(counts.items(), start=1)
    ]
    values = [_bid_value(bid["lots"]) for bid in bids if bid["outcome"] == "opened"]
    priced = [value for value in values if value is not None]
    if priced and len({currency for _, currency in priced}) == 1:
        currency = priced[0][1]
        for measure, amount in (
            ("lowestValidBidValue", min(v for v, _ in priced)),
            ("highestValidBidValue", max(v for v, _ in priced)),
        ):
            statistics.append(
                {
                    "id": str(len(statistics) + 1),
                    "measure": measure,
                    "value": float(amount),
                    "currency": currency,
                    "date": date,
                }
            )
    return statistics


def opening_release(record: Mapping[str, Any], *, prefix: str = _OCID_PREFIX) -> dict[str, Any]:
    """The OCDS release of the opening described by ``record`` (the opening record's fields)."""
    tender = record["tender"]
    date = _ocds_time(record["published_at"])
    # a price form names its lot by number (the manifest) or by id; OCDS relates bids to lot ids
    lot_ids = {
        str(key): str(lot["id"])
        for lot in record["lots"]
        if lot.get("id")
        for key in (lot["id"], lot["number"])
    }
    buyer = tender["tenderee"]
    return {
        "ocid": f"{prefix}-{tender['id']}",
        "id": release_id(tender["id"]),
        "date": date,
        "tag": [OPENING_TAG],
        "initiationType": "tender",
        "language": "zh",
        "parties": _parties(record),
        "buyer": {"id": buyer["id"], "name": buyer["name"] or buyer["id"]},
        "tender": {
            "id": tender["id"],
            "title": tender["title"],
            "status": "active",
            "tenderPeriod": {"endDate": _ocds_time(record["bid_deadline"])},
            "numberOfTenderers": len({bid["bidder"]["uscc"] for bid in record["bids"]}),
            "tenderers": [
                {"id": party["id"], "name": party["name"]}
                for party in _parties(record)
                if "tenderer" in party["roles"]
            ],
        },
        "bids": {
            "statistics": _statistics(record, date),
            "details": [_detail(bid, lot_ids, date) for bid in record["bids"]],
        },
    }


def published_opening_releases(
    session_factory: Callable[[], Session], tender_ids: Iterable[uuid.UUID], *, prefix: str = _OCID_PREFIX
) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """The opening releases of those tenders whose opening record is published, by tender id, under
    the OCID ``prefix`` (``Settings.ocid_prefix``; the release kept with the record names the prefix of
    its day, the served one always the configured prefix)."""
    wanted = list(tender_ids)
    if not wanted:
        return {}
    with session_factory() as session:
        query = select(OpeningRecord.tender_id, OpeningRecord.ocds_release)
        rows = session.execute(query.where(OpeningRecord.tender_id.in_(wanted))).all()
    return {tender_id: [{**release, "ocid": f"{prefix}-{tender_id}"}] for tender_id, release in rows}


def with_opening(compiled: dict[str, Any], opening: Mapping[str, Any]) -> dict[str, Any]:
    """The compiled release of a tender with the opening's bids and tenderers added."""
    merged = dict(compiled)
    known = {party["id"] for party in merged.get("parties", [])}
    merged["parties"] = [
        *merged.get("parties", []),
        *(party for party in opening.get("parties", []) if party["id"] not in known),
    ]
    merged["bids"] = opening["bids"]
    tender = dict(merged.get("tender", {}))
    for key in ("numberOfTenderers", "tenderers"):
        if key in opening.get("tender", {}):
            tender[key] = opening["tender"][key]
    merged["tender"] = tender
    merged["date"] = max(str(merged.get("date", "")), str(opening["date"]))
    return merged
