"""The opening record's content (``sealbid.opening-record.v1``), built from the recorded facts.

Everything in the record comes from rows: the tender and its lots, the opening session (closing time,
envelope count and the hash of the envelope list), each envelope's :class:`OpeningOutcome` (bidder, the
price form as declared in the opened manifest, decryption and outcome with its reason), the custodians
whose shares were accepted (from the transparency log), and the objections with their answers. The
format is specified in ``docs/opening-record.md``.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from tendering.errors import Conflict, NotFound
from tendering.identity.models import Identity
from tendering.opening.models import OpeningOutcome, OpeningSession, OpeningState, ShareRelease
from tendering.opening.record_models import OpeningObjection
from tendering.tenders.models import Tender
from tendering.tenders.spec import utc_text

RECORD_TYPE: Final = "sealbid.opening-record.v1"
#: Where the bond status in the record comes from: the bidder's own declaration, not a bank check.
BOND_SOURCE: Final = "declared-in-price-form"
_BOND_KEYS: Final = ("bond", "bid_bond", "bond_status", "保证金")


def released_custodians(session: Session, tender_id: uuid.UUID) -> list[int]:
    """Positions of the custodians whose shares the opening accepted (``opening_share_releases``)."""
    return sorted(
        session.scalars(select(ShareRelease.share_index).where(ShareRelease.tender_id == tender_id)).all()
    )


def price_forms(price_form: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The per-lot price forms of an opened manifest's price data (one flat form, or a list of them)."""
    for key in ("prices", "forms", "price_forms"):
        value = price_form.get(key)
        if isinstance(value, list) and value and all(isinstance(item, Mapping) for item in value):
            return [dict(item) for item in value]
    return [dict(price_form)] if price_form else []


def _decimal_text(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return format(number, "f") if number.is_finite() else None


def bond_status(form: Mapping[str, Any]) -> dict[str, Any]:
    """The bid bond as the bidder declared it in its price form (never verified here; ``source`` says so)."""
    declared = form.get("declared")
    places: list[Mapping[str, Any]] = [form, declared] if isinstance(declared, Mapping) else [form]
    for place in places:
        for key in _BOND_KEYS:
            if key in place and place[key] not in (None, ""):
                return {"status": "declared", "declared": str(place[key]), "source": BOND_SOURCE}
    return {"status": "not-declared", "declared": None, "source": BOND_SOURCE}


def _lot_entry(form: Mapping[str, Any]) -> dict[str, Any]:
    declared = form.get("declared")
    return {
        "lot": form.get("lot_id", form.get("lot")),
        "price": {"amount": _decimal_text(form.get("total_price")), "currency": form.get("currency")},
        "duration_days": form.get("duration_days"),
        "quality": form.get("quality"),
        "bond": bond_status(form),
        "declared": dict(declared) if isinstance(declared, Mapping) else {},
    }


def bid_entry(outcome: OpeningOutcome) -> dict[str, Any]:
    """One envelope in the record: bidder, what it declared (when opened), decryption and outcome."""
    return {
        "bid": str(outcome.bid_id),
        "version": outcome.version,
        "envelope_sha256": outcome.envelope_sha256,
        "bidder": {"id": str(outcome.bidder_id), "name": outcome.bidder_name, "uscc": outcome.bidder_uscc},
        "lots": [_lot_entry(form) for form in price_forms(outcome.price_form or {})],
        "decryption": outcome.decryption,
        "outcome": outcome.outcome,
        "reason_code": outcome.reason_code,
        "reason": outcome.reason,
        "decided_at": utc_text(outcome.decided_at) if outcome.decided_at else None,
    }


def objection_entry(objection: OpeningObjection) -> dict[str, Any]:
    """One objection and its answer, as the record and the hall show them."""
    return {
        "id": str(objection.id),
        "bidder": {"name": objection.bidder_name, "uscc": objection.bidder_uscc},
        "text": objection.text,
        "raised_at": utc_text(objection.raised_at),
        "answer": objection.answer,
        "answered_at": utc_text(objection.answered_at) if objection.answered_at else None,
    }


def outcomes_of(session: Session, tender_id: uuid.UUID) -> Sequence[OpeningOutcome]:
    """The envelopes of a tender's opening in a stable order (bidder USCC, then bid id)."""
    return session.scalars(
        select(OpeningOutcome)
        .where(OpeningOutcome.tender_id == tender_id)
        .order_by(OpeningOutcome.bidder_uscc, OpeningOutcome.bid_id)
    ).all()


def objections_of(session: Session, tender_id: uuid.UUID) -> Sequence[OpeningObjection]:
    """The objections raised in a tender's opening, oldest first."""
    return session.scalars(
        select(OpeningObjection)
        .where(OpeningObjection.tender_id == tender_id)
        .order_by(OpeningObjection.raised_at, OpeningObjection.id)
    ).all()


def _name(session: Session, identity_id: uuid.UUID) -> str | None:
    identity = session.get(Identity, identity_id)
    return identity.display_name if identity else None


def record_document(session: Session, tender_id: uuid.UUID, published_at: datetime) -> dict[str, Any]:
    """The opening record of a finished opening (Conflict if an envelope is still undecided)."""
    tender = session.get(Tender, tender_id)
    opening = session.get(OpeningSession, tender_id)
    if tender is None or opening is None:
        raise NotFound("this tender has no opening", code="opening-not-found")
    outcomes = outcomes_of(session, tender_id)
    undecided = [o for o in outcomes if o.outcome is None]
    if opening.state != OpeningState.OPENED or opening.finished_at is None or undecided:
        raise Conflict(
            f"the opening is not finished ({len(undecided)} envelope(s) undecided)",
            code="opening-not-finished",
        )
    return {
        "type": RECORD_TYPE,
        "tender": {
            "id": str(tender.id),
            "title": tender.title,
            "project_name": tender.project_name,
            "project_code": tender.project_code,
            "procedure": tender.procedure,
            "agency": {"id": str(tender.agency_id), "name": _name(session, tender.agency_id)},
            "tenderee": {"id": str(tender.tenderee_id), "name": _name(session, tender.tenderee_id)},
            "time_zone": tender.time_zone,
        },
        "lots": [
            {
                "id": str(lot.id),
                "number": lot.number,
                "name": lot.name,
                "currency": lot.currency,
                "estimated_price": format(lot.estimated_price, "f"),
                "ceiling_price": format(lot.ceiling_price, "f") if lot.ceiling_price is not None else None,
                "bid_bond": format(lot.bid_bond, "f") if lot.bid_bond is not None else None,
            }
            for lot in sorted(tender.lots, key=lambda lot: lot.number)
        ],
        "bid_deadline": utc_text(tender.bid_deadline),
        "opening": {
            "closed_at": utc_text(opening.closed_at),
            "started_at": utc_text(opening.opening_started_at) if opening.opening_started_at else None,
            "decryption_deadline": (
                utc_text(opening.decryption_deadline) if opening.decryption_deadline else None
            ),
            "finished_at": utc_text(opening.finished_at),
        },
        "envelopes": {"count": opening.envelope_count, "list_sha256": opening.envelope_list_sha256},
        "custodians": {
            "threshold": tender.opening_threshold,
            "appointed": len(tender.custodians),
            "released": released_custodians(session, tender_id),
        },
        "bids": [bid_entry(outcome) for outcome in outcomes],
        "objections": [objection_entry(objection) for objection in objections_of(session, tender_id)],
        "published_at": utc_text(published_at),
    }
