"""Outcomes of the bidder-decryption layer decided by recorded facts (Measures Art. 31), at the level of
:mod:`tendering.opening.decryption`: a stored layer the platform cannot read is withdrawn whoever
finds it (download, key, window end), a bad signature inside a decrypted layer is revoked, and a key
that arrives after the window's end recorded the envelope reports that recorded outcome."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import cms
from litestar.testing import TestClient

from api.client.decrypt_commands import decryption_statement, layer_key
from api.client.login_commands import Credential
from crypto.cms import seal_bytes, sign_attached, sign_detached
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.errors import NotFound
from tendering.opening import decryption
from tendering.opening.models import OpeningSession
from tendering.opening.schedule import tick
from tendering.platform import Platform
from tests.bids.fixtures import KeyedTender, Parties
from tests.identity.conftest import token_for
from tests.opening.conftest import Bidding
from tests.opening.helpers import package
from tests.opening.test_closing import entries
from tests.opening.test_decrypt import PASSWORD, layered, make_layered, rows, run_decrypt  # noqa: F401
from tests.submission.helpers import signer_of, uscc_of
from tests.tenders.helpers import state_of


def damage(platform: Platform, sha256: str, *, remove: bool = False) -> None:
    """The platform loses (or corrupts) a stored blob."""
    path = platform.blobs._path(sha256)  # type: ignore[attr-defined]
    if remove:
        path.unlink()
    else:
        path.write_bytes(b"overwritten by a broken disk")


def decisions_of(platform: Platform, bidding: Bidding, name: str) -> list[dict[str, Any]]:
    envelope = hashlib.sha256(bidding.envelopes[name]).hexdigest()
    found = entries(platform, str(bidding.tender_id), "opening.envelope_decided")
    return [e["data"] for e in found if e["data"]["envelope_sha256"] == envelope]  # type: ignore[index]


def key_for(platform: Platform, pki: BuiltPki, bidding: Bidding, name: str, tmp_path: Path) -> dict[str, Any]:
    """What ``sealbid bid decrypt`` sends for ``name``'s layer (computed from the intact stored layer)."""
    middle = rows(platform, bidding)[name].middle_sha256
    assert middle is not None
    layer = tmp_path / f"{name}.p7m"
    with platform.blobs.open(middle) as stored:
        layer.write_bytes(stored.read())
    encryption = pki.encryption(name)
    statement = decryption_statement(bidding.tender_id, uscc_of(pki, name), middle, platform.clock.now())
    return {
        "bidder_id": bidding.bidders[name],
        "statement": statement,
        "signature": sign_detached(statement, signer_of(pki, name)),
        "cek": layer_key(layer, Credential(encryption.private_key, encryption.certificate, ())),  # type: ignore[arg-type]
    }


def test_a_layer_the_platform_lost_is_withdrawn_at_the_download_and_the_others_go_on(
    platform: Platform,
    layered: Bidding,  # noqa: F811
    app_client: TestClient,  # type: ignore[type-arg]
    test_pki: BuiltPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    middle = rows(platform, layered)["tenderer-1"].middle_sha256
    assert middle is not None
    damage(platform, middle, remove=True)
    app_client.headers.update(token_for(app_client, test_pki.signing("tenderer-1")))
    answer = app_client.get(f"/bids/tenders/{layered.tender_id}/opening/layer")
    assert (answer.status_code, answer.json()["code"]) == (404, "envelope-missing")
    lost = rows(platform, layered)["tenderer-1"]
    assert (lost.outcome, lost.reason_code, lost.decryption) == (
        "withdrawn",
        "envelope-missing",
        "other_failed",
    )
    assert lost.reason  # the recorded sentence says why
    (logged,) = decisions_of(platform, layered, "tenderer-1")
    assert (logged["outcome"], logged["decryption"]) == ("withdrawn", "other_failed")

    monkeypatch.setenv("P12", PASSWORD)
    result = run_decrypt(app_client, test_pki, tmp_path, layered, "tenderer-2")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert rows(platform, layered)["tenderer-2"].outcome == "opened"
    assert state_of(platform, layered.tender_id) == "opened"  # nothing left undecided


def test_a_layer_altered_after_the_download_is_the_platforms_fault_not_a_refused_key(
    platform: Platform,
    layered: Bidding,  # noqa: F811
    test_pki: BuiltPki,
    tmp_path: Path,
) -> None:
    sent = key_for(platform, test_pki, layered, "tenderer-1", tmp_path)
    middle = rows(platform, layered)["tenderer-1"].middle_sha256
    assert middle is not None
    damage(platform, middle)
    with pytest.raises(NotFound) as refused:
        decryption.decrypt_layer(platform, layered.tender_id, **sent)
    assert refused.value.code == "envelope-missing"
    row = rows(platform, layered)["tenderer-1"]
    assert (row.outcome, row.reason_code, row.decryption) == ("withdrawn", "envelope-missing", "other_failed")
    assert entries(platform, str(layered.tender_id), "opening.bidder_key_refused") == []


def test_at_the_window_end_a_silent_bidder_is_revoked_but_an_unreadable_layer_is_withdrawn(
    platform: Platform,
    clock: ManualClock,
    layered: Bidding,  # noqa: F811
) -> None:
    middle = rows(platform, layered)["tenderer-1"].middle_sha256
    assert middle is not None
    damage(platform, middle)
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, layered.tender_id)
        assert opening is not None and opening.decryption_deadline is not None
        deadline = opening.decryption_deadline
    clock.advance(deadline - clock.now())
    assert tick(platform).windows_ended == (layered.tender_id,)
    after = rows(platform, layered)
    lost, silent = after["tenderer-1"], after["tenderer-2"]
    assert (lost.outcome, lost.reason_code, lost.decryption) == (
        "withdrawn",
        "envelope-missing",
        "other_failed",
    )
    assert (silent.outcome, silent.reason_code, silent.decryption) == (
        "revoked",
        "bidder-layer-not-decrypted",
        "bidder_failed",
    )
    assert state_of(platform, layered.tender_id) == "opened"


def badly_signed_layer(pki: BuiltPki, tmp_path: Path, keyed: KeyedTender, name: str) -> bytes:
    """``name``'s envelope with a bidder layer whose inner signature does not verify (a flipped bit)."""
    data = package(tmp_path / f"bad-{name}", keyed.tender_id, uscc_of(pki, name))
    info = cms.ContentInfo.load(sign_attached(data, signer_of(pki, name)))
    signer_info = info["content"]["signer_infos"][0]
    signature = bytearray(signer_info["signature"].native)
    signature[-1] ^= 0x01
    signer_info["signature"] = bytes(signature)
    middle = seal_bytes(info.dump(force=True), [pki.encryption(name).certificate])
    return seal_bytes(middle, [keyed.opening_certificate])


def test_a_bad_signature_inside_a_decrypted_layer_is_the_bidders_fault(
    platform: Platform,
    clock: ManualClock,
    keyed_tender: KeyedTender,
    parties: Parties,
    test_pki: BuiltPki,
    tmp_path: Path,
    app_client: TestClient,  # type: ignore[type-arg]
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = badly_signed_layer(test_pki, tmp_path, keyed_tender, "tenderer-2")
    bidding = make_layered(
        platform, keyed_tender, parties, test_pki, tmp_path, clock, envelopes={"tenderer-2": bad}
    )
    monkeypatch.setenv("P12", PASSWORD)
    result = run_decrypt(app_client, test_pki, tmp_path, bidding, "tenderer-2")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "revoked" in result.output  # type: ignore[attr-defined]
    row = rows(platform, bidding)["tenderer-2"]
    assert (row.outcome, row.reason_code, row.decryption) == ("revoked", "signature-invalid", "decrypted")
    assert row.package_sha256 is None  # a package that failed its checks is not kept
    assert row.signature["bidder_layer"] is True
    (logged,) = decisions_of(platform, bidding, "tenderer-2")
    assert (logged["outcome"], logged["reason_code"]) == ("revoked", "signature-invalid")


def test_a_key_checked_while_the_window_ended_reports_the_recorded_outcome(
    platform: Platform,
    clock: ManualClock,
    layered: Bidding,  # noqa: F811
    test_pki: BuiltPki,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent = key_for(platform, test_pki, layered, "tenderer-1", tmp_path)
    real_record_verdict = decryption.record_verdict

    def window_ends_meanwhile(*args: Any, **kwargs: Any) -> dict[str, Any]:
        fields = real_record_verdict(*args, **kwargs)
        assert fields["outcome"] == "opened"  # this key opens the layer and the bid verifies...
        with platform.session_factory() as session:
            opening = session.get(OpeningSession, layered.tender_id)
            assert opening is not None and opening.decryption_deadline is not None
            clock.advance(opening.decryption_deadline - clock.now())
        decryption.expire_windows(platform)  # ...but the window's end is recorded first
        return fields

    monkeypatch.setattr(decryption, "record_verdict", window_ends_meanwhile)
    outcome = decryption.decrypt_layer(platform, layered.tender_id, **sent)
    assert outcome == "revoked"
    row = rows(platform, layered)["tenderer-1"]
    assert (row.outcome, row.reason_code, row.decryption) == (
        "revoked",
        "bidder-layer-not-decrypted",
        "bidder_failed",
    )
    assert [d["outcome"] for d in decisions_of(platform, layered, "tenderer-1")] == [
        "revoked"
    ]  # decided once
    assert json.dumps(row.price_form) == "{}"  # nothing of the late key's result was recorded
