"""The bidder-decryption layer: bidders decrypt their own layer in the window; failures follow Art. 31."""

from __future__ import annotations

import base64
import secrets
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from litestar.testing import TestClient
from sqlalchemy import select, update

from api.client.decrypt_commands import decrypt
from crypto.cms import sign_detached
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.opening.models import OpeningOutcome, OpeningSession
from tendering.opening.opener import open_envelopes
from tendering.opening.record import published_record
from tendering.opening.schedule import tick
from tendering.platform import Platform
from tendering.tenders.models import Tender
from tests.bids.fixtures import KeyedTender, Parties
from tests.identity.conftest import token_for
from tests.opening.conftest import Bidding
from tests.opening.helpers import pass_deadline, release, sealed_bid, submit
from tests.submission.helpers import signer_of, uscc_of
from tests.tenders.helpers import state_of

PASSWORD = "decrypt-test"


def make_layered(
    platform: Platform,
    keyed_tender: KeyedTender,
    parties: Parties,
    test_pki: BuiltPki,
    tmp_path: Path,
    clock: ManualClock,
    envelopes: dict[str, bytes] | None = None,
) -> Bidding:
    """A tender asking for bidder decryption: tenderer-1 and -2 add their own layer, tenderer-3 does not
    (``envelopes`` replaces some of them); the platform layer is removed (two custodians released)."""
    with platform.transaction() as session:
        session.execute(
            update(Tender).where(Tender.id == keyed_tender.tender_id).values(bidder_decryption=True)
        )
    names = ("tenderer-1", "tenderer-2", "tenderer-3")
    bidding = Bidding(keyed_tender, parties, dict(zip(names, parties.tenderers, strict=True)))
    for name in names:
        envelope = (envelopes or {}).get(name) or sealed_bid(
            test_pki, tmp_path, keyed_tender, name, bidder_layer=name != "tenderer-3", at=clock.now()
        )
        bidding.envelopes[name] = envelope
        submit(platform, keyed_tender.tender_id, bidding.bidders[name], name, test_pki, envelope)
    pass_deadline(platform, clock, keyed_tender.tender_id)
    for position in (1, 2):
        release(platform, test_pki, keyed_tender, parties.custodians, position)
    progress = open_envelopes(platform, keyed_tender.tender_id)
    assert (progress.state, progress.decided, progress.waiting_for_bidders) == ("bidder_decryption", 1, 2)
    return bidding


@pytest.fixture
def layered(
    platform: Platform,
    keyed_tender: KeyedTender,
    parties: Parties,
    test_pki: BuiltPki,
    tmp_path: Path,
    clock: ManualClock,
) -> Bidding:
    """The bidder-decryption tender of :func:`make_layered`, with every envelope as its bidder sealed it."""
    return make_layered(platform, keyed_tender, parties, test_pki, tmp_path, clock)


def rows(platform: Platform, bidding: Bidding) -> dict[str, OpeningOutcome]:
    with platform.session_factory() as session:
        found = session.scalars(
            select(OpeningOutcome).where(OpeningOutcome.tender_id == bidding.tender_id)
        ).all()
    by_bidder = {row.bidder_id: row for row in found}
    return {name: by_bidder[bidder] for name, bidder in bidding.bidders.items()}


def run_decrypt(client: TestClient, pki: BuiltPki, tmp_path: Path, bidding: Bidding, name: str) -> object:  # type: ignore[type-arg]
    client.headers.update(token_for(client, pki.signing(name)))
    enc, sign = tmp_path / f"{name}-enc.p12", tmp_path / f"{name}-sign.p12"
    enc.write_bytes(pki.to_pkcs12(f"{name}-enc", PASSWORD.encode()))
    sign.write_bytes(pki.to_pkcs12(f"{name}-sign", PASSWORD.encode()))
    return CliRunner().invoke(
        decrypt,
        ["--tender", str(bidding.tender_id), "--enc-p12", str(enc), "--p12", str(sign),
         "--enc-password-env", "P12", "--password-env", "P12"],
        obj={"http_client": client},
    )  # fmt: skip


def test_bidders_decrypt_their_own_layer_and_a_silent_bidder_is_revoked_at_the_window_end(
    platform: Platform,
    clock: ManualClock,
    layered: Bidding,
    app_client: TestClient,  # type: ignore[type-arg]
    test_pki: BuiltPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("P12", PASSWORD)
    before = rows(platform, layered)
    assert before["tenderer-3"].outcome == "opened" and before["tenderer-3"].decryption == "not_required"
    assert before["tenderer-1"].outcome is None and before["tenderer-1"].middle_sha256
    assert state_of(platform, layered.tender_id) == "closed"

    result = run_decrypt(app_client, test_pki, tmp_path, layered, "tenderer-1")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "opened" in result.output  # type: ignore[attr-defined]
    after = rows(platform, layered)["tenderer-1"]
    assert (after.outcome, after.decryption) == ("opened", "decrypted")
    assert after.price_form["bidder_uscc"] == uscc_of(test_pki, "tenderer-1")
    # the summary names the bid's own envelope and layer, not the wrapping the check went through
    assert after.signature["envelope_sha256"] == before["tenderer-1"].envelope_sha256
    assert after.signature["envelope_size"] == len(layered.envelopes["tenderer-1"])
    assert after.signature["middle_sha256"] == before["tenderer-1"].middle_sha256

    # tenderer-3 has nothing left to decrypt; tenderer-2 stays silent
    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-3")))
    assert app_client.get(f"/bids/tenders/{layered.tender_id}/opening/layer").status_code == 409
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, layered.tender_id)
        assert opening is not None and opening.decryption_deadline is not None
        deadline = opening.decryption_deadline
    clock.advance(deadline - clock.now() + timedelta(seconds=1))
    ticked = tick(platform)
    assert ticked.windows_ended == (layered.tender_id,)
    assert ticked.records_published == ()  # published by the opening itself when the window ended
    with platform.session_factory() as session:
        assert published_record(session, layered.tender_id) is not None
    silent = rows(platform, layered)["tenderer-2"]
    assert (silent.outcome, silent.reason_code, silent.decryption) == (
        "revoked",
        "bidder-layer-not-decrypted",
        "bidder_failed",
    )
    assert state_of(platform, layered.tender_id) == "opened"
    late = run_decrypt(app_client, test_pki, tmp_path, layered, "tenderer-2")
    assert late.exit_code != 0  # type: ignore[attr-defined]


def test_a_wrong_key_is_refused_and_changes_nothing(
    platform: Platform,
    layered: Bidding,
    app_client: TestClient,
    test_pki: BuiltPki,  # type: ignore[type-arg]
) -> None:
    from crypto.receipt import canonical
    from tendering.opening.decryption import DECRYPTION_TYPE

    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-2")))
    layer = app_client.get(f"/bids/tenders/{layered.tender_id}/opening/layer")
    assert layer.status_code == 200
    import hashlib

    statement = canonical(
        {
            "type": DECRYPTION_TYPE,
            "tender": str(layered.tender_id),
            "bidder_uscc": uscc_of(test_pki, "tenderer-2"),
            "middle_sha256": hashlib.sha256(layer.content).hexdigest(),
            "nonce": secrets.token_hex(16),
            "client_time": "2026-01-30T02:00:00Z",
        }
    )
    body = {
        "statement": base64.b64encode(statement).decode(),
        "signature": base64.b64encode(sign_detached(statement, signer_of(test_pki, "tenderer-2"))).decode(),
        "key": base64.b64encode(secrets.token_bytes(32)).decode(),
    }
    refused = app_client.post(f"/bids/tenders/{layered.tender_id}/opening/layer-key", json=body)
    assert refused.status_code == 400 and refused.json()["code"] == "bidder-key-refused"
    assert rows(platform, layered)["tenderer-2"].outcome is None
    # another bidder cannot use tenderer-2's statement
    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-1")))
    foreign = app_client.post(f"/bids/tenders/{layered.tender_id}/opening/layer-key", json=body)
    assert foreign.status_code in (400, 403)
    assert rows(platform, layered)["tenderer-1"].outcome is None


def test_the_layer_is_streamed_in_bounded_chunks_and_only_to_its_own_bidder(
    platform: Platform,
    layered: Bidding,
    app_client: TestClient,  # type: ignore[type-arg]
    test_pki: BuiltPki,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import hashlib

    from api.opening import LAYER_CHUNK
    from tests.opening.helpers import enrol_tenderer

    own = rows(platform, layered)["tenderer-1"]
    assert own.middle_sha256 is not None
    with platform.blobs.open(own.middle_sha256) as stored:
        expected = stored.read()
    reads: list[int] = []
    real_open = platform.blobs.open

    class Bounded:
        """The stored layer, refusing any read that is not a bounded chunk."""

        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def read(self, size: int = -1) -> bytes:
            assert 0 < size <= max(LAYER_CHUNK, 1 << 20), f"read({size}): the whole layer in memory"
            reads.append(size)
            return bytes(self.inner.read(size))

        def __enter__(self) -> Bounded:
            return self

        def __exit__(self, *exc: object) -> None:
            self.inner.close()

        def __getattr__(self, name: str) -> Any:
            return getattr(self.inner, name)

    monkeypatch.setattr(platform.blobs, "open", lambda sha256: Bounded(real_open(sha256)))
    url = f"/bids/tenders/{layered.tender_id}/opening/layer"
    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-1")))
    answer = app_client.get(url)
    assert answer.status_code == 200, answer.text
    assert answer.content == expected and hashlib.sha256(answer.content).hexdigest() == own.middle_sha256
    assert answer.headers["content-length"] == str(len(expected))
    assert answer.headers["content-type"].startswith("application/pkcs7-mime")
    assert answer.headers["cache-control"] == "no-store"
    assert reads  # it came through the bounded reads

    # the wrong people get nothing: a bidder without a layer, a tenderer without a bid, a custodian,
    # no login at all
    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-3")))
    assert app_client.get(url).json()["code"] == "nothing-to-decrypt"
    enrol_tenderer(platform, test_pki, "tenderer-4")
    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-4")))
    stranger = app_client.get(url)
    assert (stranger.status_code, stranger.json()["code"]) == (404, "envelope-unknown")
    app_client.headers.update(token_for(app_client, test_pki.signing("custodian-1")))
    assert app_client.get(url).status_code == 403
    del app_client.headers["authorization"]
    assert app_client.get(url).status_code == 401
