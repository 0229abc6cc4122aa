"""Crash safety of the bidder-decryption layer with a real kill: the process checking a bidder's layer
key is SIGKILLed after the decrypted package was checked and before the outcome is recorded.

The subprocess (``tests/opening/crash_child.py``, stop ``decrypting``) receives tenderer-1's signed
layer key over its stdin, decrypts the layer into its scratch directory and stops there; the test
kills it. The envelope is still undecided, so the bidder simply sends its key again. The test then
proves the result equals an uninterrupted run's (on a copy taken before the key arrived), each
envelope decided once, and that neither the opening key, a share, a bidder's layer key (CEK) nor a
bid's plaintext other than an opened package kept in the blob store is on disk or in the database.
"""

from __future__ import annotations

import base64
import secrets
import signal
from collections import Counter
from pathlib import Path

import pytest

from api.client.opening_verify import check_opening
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.opening import decryption
from tendering.opening.models import OpeningSession
from tendering.platform import Platform, build_platform
from tendering.settings import Settings
from tests.bids.fixtures import KeyedTender, Parties
from tests.opening.helpers import sealed_bid
from tests.opening.test_crash_kill import (
    PKI_PASSWORD,
    CrashTender,
    _overrides,
    _sha,
    copy_of,
    database_files,
    log_documents,
    marked_package,
    of_tender,
    run_and_kill,
    saved_pki,  # noqa: F401 - fixture
    secrets_found,
    snapshot,
)
from tests.opening.test_decrypt import make_layered, rows
from tests.opening.test_decrypt_outcomes import key_for
from tests.submission.helpers import uscc_of

NAMES = ("tenderer-1", "tenderer-2", "tenderer-3")


@pytest.fixture
def marked_layers(
    platform: Platform,
    clock: ManualClock,
    keyed_tender: KeyedTender,
    parties: Parties,
    test_pki: BuiltPki,
    tmp_path: Path,
) -> CrashTender:
    """tenderer-1 and -2 with their own layer, tenderer-3 without; platform layer removed; markers."""
    envelopes, markers = {}, {}
    for position, name in enumerate(NAMES, start=1):
        markers[name] = f"PLAINTEXT-MARKER-{name}-".encode() + secrets.token_hex(16).encode()
        data = marked_package(
            tmp_path / "packages" / name,
            keyed_tender.tender_id,
            uscc_of(test_pki, name),
            markers[name],
            f"{12_000_000 + position * 1000}.00",
        )
        envelopes[name] = sealed_bid(
            test_pki,
            tmp_path / "packages",
            keyed_tender,
            name,
            bidder_layer=name != "tenderer-3",
            package_bytes=data,
            at=clock.now(),
        )
    bidding = make_layered(platform, keyed_tender, parties, test_pki, tmp_path, clock, envelopes=envelopes)
    return CrashTender(keyed_tender, parties, bidding.bidders, bidding.envelopes, markers)


def test_a_process_killed_while_checking_a_layer_key_leaves_nothing_and_the_bidder_sends_it_again(
    platform: Platform,
    settings: Settings,
    clock: ManualClock,
    marked_layers: CrashTender,
    test_pki: BuiltPki,
    saved_pki: Path,  # noqa: F811
    tmp_path: Path,
) -> None:
    tender = marked_layers
    from tests.opening.conftest import Bidding

    bidding = Bidding(tender.keyed, tender.parties, tender.bidders, tender.envelopes)
    (tmp_path / "keys").mkdir()
    sent = {name: key_for(platform, test_pki, bidding, name, tmp_path / "keys") for name in NAMES[:2]}

    with copy_of(platform, settings, tmp_path / "reference") as copied:
        reference = build_platform(copied, clock=clock)
        try:
            reference.certificates.use_dev_pki(test_pki)
            for name in NAMES[:2]:
                assert decryption.decrypt_layer(reference, tender.tender_id, **sent[name]) == "opened"
            expected = snapshot(reference, tender.tender_id)
        finally:
            reference.close()

    first = sent["tenderer-1"]
    job = {
        "settings": _overrides(settings),
        "now": clock.now().isoformat(),
        "pki": str(saved_pki),
        "pki_password": PKI_PASSWORD,
        "tender": str(tender.tender_id),
        "releases": [],
        "stop": "decrypting",
        "after": 0,
        "decrypt": {
            "bidder": str(first["bidder_id"]),
            "statement": base64.b64encode(first["statement"]).decode(),
            "signature": base64.b64encode(first["signature"]).decode(),
            "cek": base64.b64encode(first["cek"]).decode(),
        },
    }
    child_tmp = tmp_path / "child-tmp"
    assert run_and_kill(job, child_tmp, tmp_path / "child.err") == -signal.SIGKILL
    assert rows(platform, bidding)["tenderer-1"].outcome is None  # killed before the outcome was recorded
    with platform.session_factory() as session:
        state = session.get(OpeningSession, tender.tender_id)
        assert state is not None and state.state == "bidder_decryption"

    for name in NAMES[:2]:  # the bidder's tool sends its key again; the other bidder decrypts too
        assert decryption.decrypt_layer(platform, tender.tender_id, **sent[name]) == "opened"
    result = snapshot(platform, tender.tender_id)
    entries = log_documents(platform)
    decided = Counter(
        d["data"]["envelope_sha256"] for d in of_tender(entries, tender.tender_id, "opening.envelope_decided")
    )
    assert decided == dict.fromkeys((_sha(e) for e in tender.envelopes.values()), 1)
    assert result == expected
    assert check_opening(entries, str(tender.tender_id)).ok
    ceks = tuple(sent[name]["cek"] for name in NAMES[:2])
    roots = [settings.data_dir, child_tmp, *database_files(settings)]
    assert secrets_found(platform, test_pki, tender, roots, extra=ceks) == []
