"""Fixtures of the opening tests: a keyed tender with real sealed bids from the test PKI's tenderers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import select

from crypto.pki import BuiltPki
from tendering.bids.models import Bid
from tendering.platform import Platform
from tests.bids.fixtures import KeyedTender, Parties, app_client, dev, keyed_tender, parties, test_pki  # noqa: F401 - fixtures
from tests.opening.helpers import sealed_bid, submit


@dataclass
class Bidding:
    """A keyed tender and the bids submitted to it, by tenderer name."""

    keyed: KeyedTender
    parties: Parties
    bidders: dict[str, uuid.UUID]
    envelopes: dict[str, bytes] = field(default_factory=dict)
    receipts: dict[str, dict[str, object]] = field(default_factory=dict)

    @property
    def tender_id(self) -> uuid.UUID:
        return self.keyed.tender_id

    def bid_id(self, platform: Platform, name: str) -> str:
        with platform.session_factory() as session:
            bid = session.scalar(
                select(Bid.id).where(Bid.tender_id == self.tender_id, Bid.bidder_id == self.bidders[name])
            )
        assert bid is not None
        return str(bid)


@pytest.fixture
def bidding(
    platform: Platform,
    keyed_tender: KeyedTender,  # noqa: F811
    parties: Parties,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    tmp_path: Path,
) -> Bidding:
    """The keyed tender with one real, valid bid from each of tenderer-1..3 (clock before the deadline)."""
    names = ("tenderer-1", "tenderer-2", "tenderer-3")
    result = Bidding(keyed_tender, parties, dict(zip(names, parties.tenderers, strict=True)))
    for name, total in zip(names, ("11800000.00", "11650000.50", "11990000.00"), strict=True):
        envelope = sealed_bid(test_pki, tmp_path, keyed_tender, name, total=total, at=platform.clock.now())
        result.envelopes[name] = envelope
        result.receipts[name] = submit(
            platform, keyed_tender.tender_id, result.bidders[name], name, test_pki, envelope
        )
    return result
