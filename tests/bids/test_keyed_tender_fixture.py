"""The shared ``keyed_tender`` fixture gives a tender whose bids can be sealed and opened."""

from __future__ import annotations

from crypto.cms import open_envelope_bytes, seal_bytes
from crypto.pki import BuiltPki
from tendering.bids.opening_keys import require_opening_key
from tendering.platform import Platform
from tests.bids.fixtures import KeyedTender


def test_keyed_tender_takes_bids_and_its_key_opens_them(
    platform: Platform, keyed_tender: KeyedTender, test_pki: BuiltPki
) -> None:
    with platform.transaction() as session:
        key = require_opening_key(session, keyed_tender.tender_id)
        assert (key.threshold, key.share_count) == (2, 3)
        assert key.certificate_sha256 == keyed_tender.registration.opening_certificate_sha256
    envelope = seal_bytes(b"a sealed bid", [keyed_tender.opening_certificate])
    for custodians in ((1, 2), (2, 3), (1, 3)):
        private_key = keyed_tender.opening_key(test_pki, custodians)
        plaintext, _ = open_envelope_bytes(envelope, keyed_tender.opening_certificate, private_key)
        assert plaintext == b"a sealed bid"
