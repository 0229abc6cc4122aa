"""An opening in progress, made directly in the database (as the opening would leave it), for the hall
and record tests.

Import the fixtures you use into your test module::

    from tests.opening.hall_fixtures import app_client, dev, hall_tender, parties, test_pki  # noqa: F401

``hall_tender`` is a published tender whose deadline has passed: an ``OpeningSession`` in state
``closed`` and one undecided ``OpeningOutcome`` per tenderer (three bids). Helpers move it on:
:func:`release_share` (a custodian's accepted share, as the opening keeps it),
:func:`decide` (an envelope's outcome with a price form), :func:`finish` (state ``opened``).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select

from tendering.bids.models import Bid, BidState
from tendering.clock import ManualClock
from tendering.identity.models import Organisation
from tendering.opening.models import (
    Decryption,
    OpeningOutcome,
    OpeningSession,
    OpeningState,
    Outcome,
    ShareRelease,
)
from tendering.opening.outcomes import decide as decide_code
from tendering.platform import Platform
from tendering.tenders import service
from tendering.tenders.models import Tender
from tendering.tenders.schedule import tick
from tests.identity.conftest import app_client, dev, test_pki
from tests.tenders.conftest import Parties, parties
from tests.tenders.helpers import agency, authority, draft, state_of

__all__ = [
    "HallTender",
    "app_client",
    "decide",
    "dev",
    "finish",
    "hall_tender",
    "parties",
    "price_form",
    "published_tender",
    "release_share",
    "test_pki",
]

TENDERER_NAMES = ("tenderer-1", "tenderer-2", "tenderer-3")


@dataclass
class HallTender:
    """A closed tender with three envelopes waiting to be opened."""

    tender_id: uuid.UUID
    lot_id: uuid.UUID
    #: tenderer identity id -> its outcome row id
    outcomes: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    #: tenderer identity id -> (name, USCC)
    bidders: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)


def price_form(amount: str, *, lot_id: uuid.UUID | None = None, bond: str | None = None) -> dict[str, Any]:
    """What the opening stores from an opened manifest (``tendering.opening.summaries.price_summary``)."""
    declared = {"bid_bond": bond} if bond else {}
    form: dict[str, Any] = {
        "total_price": amount,
        "currency": "CNY",
        "duration_days": 180,
        "quality": "合格",
        "declared": declared,
    }
    if lot_id is not None:
        form["lot_id"] = str(lot_id)
    return {"lot_ids": [str(lot_id)] if lot_id else [], "prices": [form], "files": 3}


def _close(
    platform: Platform, tender_id: uuid.UUID, tenderers: tuple[uuid.UUID, ...], now: datetime
) -> HallTender:
    with platform.transaction() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        lot_id = tender.lots[0].id
        hall = HallTender(tender_id, lot_id)
        envelopes: list[str] = []
        rows: list[OpeningOutcome] = []
        for bidder_id in tenderers:
            organisation = session.scalar(select(Organisation).where(Organisation.identity_id == bidder_id))
            assert organisation is not None
            bid = Bid(
                tender_id=tender_id,
                bidder_id=bidder_id,
                bidder_uscc=organisation.uscc,
                lots=[1],
                state=BidState.ACTIVE,
                current_version=1,
                salt=secrets.token_bytes(32),
                created_at=now - timedelta(days=1),
                updated_at=now - timedelta(days=1),
            )
            session.add(bid)
            session.flush()
            envelope = hashlib.sha256(f"envelope of {bidder_id}".encode()).hexdigest()
            envelopes.append(envelope)
            rows.append(
                OpeningOutcome(
                    tender_id=tender_id,
                    bid_id=bid.id,
                    version=1,
                    envelope_sha256=envelope,
                    bidder_id=bidder_id,
                    bidder_uscc=organisation.uscc,
                    bidder_name=organisation.name,
                    decryption=Decryption.NOT_REQUIRED,
                    price_form={},
                    signature={},
                )
            )
            hall.bidders[bidder_id] = (organisation.name, organisation.uscc)
        session.add(
            OpeningSession(
                tender_id=tender_id,
                state=OpeningState.CLOSED,
                closed_at=now,
                envelope_count=len(rows),
                envelope_list_sha256=hashlib.sha256("\n".join(sorted(envelopes)).encode()).hexdigest(),
            )
        )
        session.flush()
        session.add_all(rows)
        session.flush()
        hall.outcomes = {row.bidder_id: row.id for row in rows}
    return hall


def published_tender(platform: Platform, clock: ManualClock, parties: Parties) -> uuid.UUID:
    """A published tender, like ``tests.tenders.helpers.published`` but indifferent to who runs the
    publishing tick (the app's in-process maintenance may run it first)."""
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    service.approve(platform, tender_id, actor=authority(parties))
    clock.advance(timedelta(hours=1))
    tick(platform)
    assert state_of(platform, tender_id) == "published"
    return tender_id


@pytest.fixture
def hall_tender(platform: Platform, clock: ManualClock, parties: Parties) -> HallTender:
    """A published tender just past its deadline, closed with three undecided envelopes."""
    tender_id = published_tender(platform, clock, parties)
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        deadline = tender.bid_deadline
    clock.set(deadline + timedelta(seconds=5))
    return _close(platform, tender_id, parties.tenderers, clock.now())


def release_share(platform: Platform, tender_id: uuid.UUID, index: int) -> None:
    """Custodian ``index``'s share is accepted (the row the opening keeps; a repeat changes nothing)."""
    with platform.transaction() as session:
        tender = session.get(Tender, tender_id)
        assert tender is not None
        custodian_id = sorted(tender.custodians, key=lambda c: c.position)[index - 1].identity_id
        known = session.scalar(
            select(ShareRelease.id).where(
                ShareRelease.tender_id == tender_id, ShareRelease.share_index == index
            )
        )
        if known is not None:
            return
        statement = f"release {index} of {tender_id}".encode()
        session.add(
            ShareRelease(
                tender_id=tender_id,
                share_index=index,
                custodian_id=custodian_id,
                statement=statement,
                signature=b"test",
                statement_sha256=hashlib.sha256(statement).hexdigest(),
                signer_fingerprint="0" * 64,
                received_at=platform.clock.now(),
            )
        )


#: A real reason code of each outcome (``tendering.opening.outcomes``), when a test names none.
DEFAULT_REASONS: dict[str, str] = {
    Outcome.OPENED: "opened",
    Outcome.REVOKED: "signature-invalid",
    Outcome.WITHDRAWN: "envelope-missing",
}


def decide(
    platform: Platform,
    outcome_id: uuid.UUID,
    outcome: Outcome,
    *,
    amount: str | None = None,
    lot_id: uuid.UUID | None = None,
    bond: str | None = None,
    decryption: Decryption = Decryption.NOT_REQUIRED,
    reason_code: str | None = None,
) -> None:
    """Record an envelope's outcome as the opening does (price form only for opened envelopes), with a
    real reason code of that outcome and its recorded sentence."""
    with platform.transaction() as session:
        row = session.get(OpeningOutcome, outcome_id)
        assert row is not None
        row.outcome = outcome
        code = reason_code or DEFAULT_REASONS[outcome]
        decision = decide_code(None if code == "opened" else code)
        assert decision.outcome == outcome, f"{code} is a reason for {decision.outcome}, not {outcome}"
        row.reason_code, row.reason = decision.reason_code, decision.reason
        row.decryption = decryption
        if amount is not None:
            assert Decimal(amount) >= 0
            row.price_form = price_form(amount, lot_id=lot_id, bond=bond)
        row.decided_at = platform.clock.now()


def finish(platform: Platform, tender_id: uuid.UUID) -> None:
    """Every envelope is decided: the opening session ends (state ``opened``)."""
    with platform.transaction() as session:
        opening = session.get(OpeningSession, tender_id)
        assert opening is not None
        opening.state = OpeningState.OPENED
        opening.opening_started_at = opening.opening_started_at or platform.clock.now()
        opening.finished_at = platform.clock.now()
