"""Custodians release their shares: only after the opening time, only their own, checked, idempotent."""

from __future__ import annotations

import dataclasses
import json

import pytest
from sqlalchemy import select

from crypto.cms import sign_detached
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound
from tendering.identity.audit import Actor
from tendering.opening.models import ShareRejection, ShareRelease
from tendering.opening.releases import release_share
from tendering.opening.vault import vault_of
from tendering.platform import Platform
from tests.opening.conftest import Bidding
from tests.opening.helpers import (
    custodian_share,
    custodian_signer,
    pass_deadline,
    release,
    release_statement,
)
from tests.opening.test_closing import entries


def test_a_share_is_refused_before_the_opening_time(
    platform: Platform, bidding: Bidding, test_pki: BuiltPki
) -> None:
    with pytest.raises(Conflict) as refused:
        release(platform, test_pki, bidding.keyed, bidding.parties.custodians, 1)
    assert refused.value.code == "opening-not-due"
    assert vault_of(platform).held(bidding.tender_id) == ()


def test_a_valid_share_is_recorded_logged_and_held_only_in_memory(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    result = release(platform, test_pki, bidding.keyed, bidding.parties.custodians, 2)
    assert (result.index, result.created, result.held, result.ready) == (2, True, (2,), False)
    share = custodian_share(test_pki, bidding.keyed, 2)
    secret = share.value.to_bytes(32, "big")
    with platform.session_factory() as session:
        rows = session.scalars(select(ShareRelease)).all()
        assert [(r.share_index, r.custodian_id) for r in rows] == [(2, bidding.parties.custodians[1])]
        assert secret not in rows[0].statement and secret.hex() not in rows[0].statement.decode()
    released = entries(platform, str(bidding.tender_id), "opening.share_released")
    assert [e["data"]["index"] for e in released] == [2]  # type: ignore[index]
    assert secret.hex() not in json.dumps(released)
    for path in platform.settings.data_dir.rglob("*"):
        if path.is_file():
            assert secret not in path.read_bytes() and secret.hex().encode() not in path.read_bytes()


def test_a_repeated_release_is_idempotent(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    release(platform, test_pki, bidding.keyed, bidding.parties.custodians, 1)
    again = release(platform, test_pki, bidding.keyed, bidding.parties.custodians, 1)
    assert not again.created and again.held == (1,)
    assert len(entries(platform, str(bidding.tender_id), "opening.share_released")) == 1


def test_a_bad_share_is_rejected_and_logged_with_who_sent_it(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    share = custodian_share(test_pki, bidding.keyed, 3)
    forged = dataclasses.replace(share, value=(share.value + 1) % (2**255))
    with pytest.raises(InvalidInput) as refused:
        release(platform, test_pki, bidding.keyed, bidding.parties.custodians, 3, share=forged)
    assert refused.value.code == "share-mismatch"
    with platform.session_factory() as session:
        rejection = session.scalars(select(ShareRejection)).one()
        assert (rejection.share_index, rejection.custodian_id) == (3, bidding.parties.custodians[2])
        assert session.scalars(select(ShareRelease)).all() == []
    logged = entries(platform, str(bidding.tender_id), "opening.share_rejected")
    assert len(logged) == 1
    assert logged[0]["data"] == {"index": 3, "code": "share-mismatch"}
    assert logged[0]["actor"]["role"] == "custodian"  # type: ignore[index]
    assert vault_of(platform).held(bidding.tender_id) == ()


def test_only_the_custodian_of_the_share_may_release_it(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    share = custodian_share(test_pki, bidding.keyed, 1)
    statement = release_statement(bidding.keyed, share)
    # custodian 2 sends custodian 1's share, signed by custodian 1's certificate
    with pytest.raises((InvalidInput, Forbidden)):
        release_share(
            platform,
            bidding.tender_id,
            statement=statement,
            signature=sign_detached(statement, custodian_signer(test_pki, 1)),
            share_document=share.to_bytes(),
            actor=Actor(bidding.parties.custodians[1], "custodian", None),
        )
    # a tenderer is no custodian of the tender
    with pytest.raises(NotFound):
        release_share(
            platform,
            bidding.tender_id,
            statement=statement,
            signature=sign_detached(statement, custodian_signer(test_pki, 1)),
            share_document=share.to_bytes(),
            actor=Actor(bidding.parties.tenderers[0], "custodian", None),
        )
    assert vault_of(platform).held(bidding.tender_id) == ()


def test_a_release_signed_by_another_certificate_is_refused(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    share = custodian_share(test_pki, bidding.keyed, 1)
    statement = release_statement(bidding.keyed, share)
    with pytest.raises(Forbidden) as refused:
        release_share(
            platform,
            bidding.tender_id,
            statement=statement,
            signature=sign_detached(statement, custodian_signer(test_pki, 2)),
            share_document=share.to_bytes(),
            actor=Actor(bidding.parties.custodians[0], "custodian", None),
        )
    assert refused.value.code == "release-signer-mismatch"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"type": "sealbid.other.v1"}, "release-malformed"),
        ({"index": 0}, "release-malformed"),
        ({"commitment": "AB" * 32}, "release-malformed"),
        ({"nonce": "short"}, "release-malformed"),
        ({"extra": 1}, "release-malformed"),
        ({"opening_certificate_sha256": "00" * 32}, "release-malformed"),
        ({"index": 2}, "release-malformed"),
    ],
)
def test_malformed_statements_are_refused(
    platform: Platform,
    clock: ManualClock,
    bidding: Bidding,
    test_pki: BuiltPki,
    overrides: dict[str, object],
    code: str,
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    share = custodian_share(test_pki, bidding.keyed, 1)
    statement = release_statement(bidding.keyed, share, **overrides)
    with pytest.raises(InvalidInput) as refused:
        release_share(
            platform,
            bidding.tender_id,
            statement=statement,
            signature=sign_detached(statement, custodian_signer(test_pki, 1)),
            share_document=share.to_bytes(),
            actor=Actor(bidding.parties.custodians[0], "custodian", None),
        )
    assert refused.value.code == code


def test_non_canonical_statement_and_garbage_share_are_refused(
    platform: Platform, clock: ManualClock, bidding: Bidding, test_pki: BuiltPki
) -> None:
    pass_deadline(platform, clock, bidding.tender_id)
    share = custodian_share(test_pki, bidding.keyed, 1)
    pretty = json.dumps(json.loads(release_statement(bidding.keyed, share)), indent=1).encode()
    actor = Actor(bidding.parties.custodians[0], "custodian", None)
    signer = custodian_signer(test_pki, 1)
    with pytest.raises(InvalidInput):
        release_share(
            platform,
            bidding.tender_id,
            statement=pretty,
            signature=sign_detached(pretty, signer),
            share_document=share.to_bytes(),
            actor=actor,
        )
    good = release_statement(bidding.keyed, share)
    with pytest.raises(InvalidInput) as refused:
        release_share(
            platform,
            bidding.tender_id,
            statement=good,
            signature=sign_detached(good, signer),
            share_document=b"{not json",
            actor=actor,
        )
    assert refused.value.code == "share-mismatch"
    with pytest.raises(InvalidInput) as refused:
        release_share(
            platform,
            bidding.tender_id,
            statement=good,
            signature=b"\x30\x03junk",
            share_document=share.to_bytes(),
            actor=actor,
        )
    assert refused.value.code == "release-signature-invalid"
