"""The record of a real opening: sealed bids from the test PKI, two custodians' shares, the opener's outcomes."""

from __future__ import annotations

import json

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.ocds.schemas import validate
from tendering.opening.opener import open_envelopes
from tendering.opening.record import publish_opening_record
from tendering.platform import Platform
from tests.opening.conftest import Bidding
from tests.opening.helpers import pass_deadline, release


def test_the_record_of_a_real_opening(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    for position in (1, 3):
        release(platform, test_pki, bidding.keyed, bidding.parties.custodians, position)
    open_envelopes(platform, bidding.tender_id)

    with platform.transaction() as session:
        record = publish_opening_record(session, platform, bidding.tender_id)
        assert record is not None
        document = json.loads(record.document)
        release_document = dict(record.ocds_release)

    assert document["custodians"]["released"] == [1, 3]
    assert document["envelopes"]["count"] == 3
    prices = sorted(bid["lots"][0]["price"]["amount"] for bid in document["bids"])
    assert prices == ["11650000.50", "11800000.00", "11990000.00"]
    assert {bid["outcome"] for bid in document["bids"]} == {"opened"}
    for bid in document["bids"]:
        lot = bid["lots"][0]
        assert lot["price"]["currency"] == "CNY"
        assert lot["duration_days"] > 0
        assert lot["quality"]
        assert lot["bond"]["source"] == "declared-in-price-form"
    statuses = [detail["status"] for detail in release_document["bids"]["details"]]
    assert statuses == ["valid", "valid", "valid"]
    (lot,) = document["lots"]
    assert {bid["lots"][0]["lot"] for bid in document["bids"]} == {
        str(lot["number"])
    }  # the manifest names numbers
    assert all(detail["relatedLots"] == [lot["id"]] for detail in release_document["bids"]["details"])
    assert validate(release_document, "release").ok
