"""Concurrent uploads of the ceremony bundle: one registers, the rest agree or conflict; one log entry."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from crypto.pki import BuiltPki
from tendering.bids.opening_keys import REGISTERED_EVENT, opening_key_status, register_bundle
from tendering.clock import ManualClock
from tendering.errors import Conflict
from tendering.platform import Platform
from tests.bids.fixtures import Parties, custodian_actor, enrol_custodian_encryption, make_ceremony
from tests.tenders.conftest import log_types
from tests.tenders.helpers import published


def race(workers: int, attempt: Callable[[int], str]) -> list[str]:
    barrier = threading.Barrier(workers)

    def run(index: int) -> str:
        barrier.wait()
        return attempt(index)

    with ThreadPoolExecutor(workers) as pool:
        return sorted(pool.map(run, range(workers)))


def _tender(platform: Platform, clock: ManualClock, parties: Parties, pki: BuiltPki) -> uuid.UUID:
    enrol_custodian_encryption(platform, pki)
    return published(platform, clock, parties)


def test_different_bundles_at_once_register_exactly_one(
    platform: Platform, clock: ManualClock, parties: Parties, test_pki: BuiltPki
) -> None:
    tender = _tender(platform, clock, parties, test_pki)
    outputs = [make_ceremony(platform, test_pki, parties, tender) for _ in range(4)]

    def upload(index: int) -> str:
        output = outputs[index]
        try:
            register_bundle(platform, tender, output.bundle, output.signature, actor=custodian_actor(parties))
        except Conflict as exc:
            assert exc.code in ("opening-key-registered", "tender-changed")
            return "conflict"
        return "registered"

    assert race(4, upload) == ["conflict"] * 3 + ["registered"]
    assert log_types(platform).count(REGISTERED_EVENT) == 1


def test_the_same_bundle_at_once_is_registered_once_and_acknowledged_to_all(
    platform: Platform, clock: ManualClock, parties: Parties, test_pki: BuiltPki
) -> None:
    tender = _tender(platform, clock, parties, test_pki)
    output = make_ceremony(platform, test_pki, parties, tender)

    def upload(_: int) -> str:
        try:
            created = register_bundle(
                platform, tender, output.bundle, output.signature, actor=custodian_actor(parties)
            ).created
        except Conflict as exc:  # a lost race on the tender row itself; a retry is then idempotent
            assert exc.code == "tender-changed"
            return "retry"
        return "created" if created else "acknowledged"

    results = race(4, upload)
    assert results.count("created") == 1
    assert log_types(platform).count(REGISTERED_EVENT) == 1
    with platform.session_factory() as session:
        status = opening_key_status(session, tender)
    assert status is not None and status["threshold"] == 2 and status["share_count"] == 3
