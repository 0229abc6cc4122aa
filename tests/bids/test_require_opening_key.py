"""A tender without a registered opening key cannot take bids."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from tendering.bids.opening_key_models import TenderOpeningKey
from tendering.bids.opening_keys import OPENING_KEY_MISSING, require_opening_key
from tendering.clock import ManualClock
from tendering.errors import Conflict
from tendering.platform import Platform
from tests.bids.fixtures import Parties
from tests.tenders.helpers import published


def test_missing_opening_key_is_a_conflict_with_a_stable_code(
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
) -> None:
    tender_id = published(platform, clock, parties)
    with platform.transaction() as session, pytest.raises(Conflict) as caught:
        require_opening_key(session, tender_id)
    assert caught.value.code == OPENING_KEY_MISSING
    assert "opening key" in caught.value.detail


def test_unknown_tender_has_no_opening_key(platform: Platform) -> None:
    with platform.transaction() as session, pytest.raises(Conflict) as caught:
        require_opening_key(session, uuid.uuid4())
    assert caught.value.code == OPENING_KEY_MISSING


def test_registered_opening_key_is_returned(
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
) -> None:
    tender_id = published(platform, clock, parties)
    with platform.transaction() as session:
        session.add(
            TenderOpeningKey(
                tender_id=tender_id,
                certificate_der=b"0",
                certificate_sha256="ab" * 32,
                threshold=2,
                share_count=3,
                lead_custodian_id=parties.custodians[0],
                bundle_sha256="cd" * 32,
                signature_sha256="ef" * 32,
                registered_at=clock.now() + timedelta(seconds=1),
            )
        )
    with platform.transaction() as session:
        key = require_opening_key(session, tender_id)
        assert key.threshold == 2
        assert key.certificate_sha256 == "ab" * 32
