"""Receipts time-stamped by an RFC 3161 TSA over HTTP (``settings.bids.tsa_url``), and a TSA that is down.

The TSA is the test PKI's time-stamping authority served on 127.0.0.1 (``tsa_server`` in
tests/conftest.py), on the platform's clock. The receipt is verified offline, and with ``openssl ts
-verify`` when the openssl command is there. When the TSA is down the documented behaviour holds: the
bid is stored and logged, the finalisation answers ``503 receipt-unavailable`` naming the bid and
version, and the receipt is built on a later fetch once the TSA answers again.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient
from sqlalchemy import func, select

from crypto.pki import BuiltPki, TimeStampingAuthority
from crypto.receipt import ReceiptBundle, verify_receipt
from tendering.bids.models import BidVersion
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.settings import Settings
from tests.conftest import HttpTsa
from tests.submission.conftest import OpenTender
from tests.submission.helpers import Bidder, sealed, submit
from tests.tenders.conftest import log_types


@pytest.fixture
def http_tsa(
    tsa_server: Callable[[TimeStampingAuthority], HttpTsa], test_pki: BuiltPki, clock: ManualClock
) -> HttpTsa:
    """The test PKI's TSA over HTTP, on the test clock."""
    return tsa_server(test_pki.tsa(clock=clock.now))


@pytest.fixture
def settings(settings: Settings, http_tsa: HttpTsa) -> Settings:
    """Receipts are time-stamped by the HTTP TSA."""
    bids = settings.bids.model_copy(update={"tsa_url": http_tsa.url, "tsa_timeout_seconds": 5.0})
    return settings.model_copy(update={"bids": bids})


def _verified(platform: Platform, pki: BuiltPki, document: dict[str, Any], envelope: bytes) -> ReceiptBundle:
    bundle = ReceiptBundle.from_document(document)
    verdict = verify_receipt(
        bundle,
        ca_certificates=[*pki.roots, *pki.intermediates],
        log_key=platform.translog.verifier_key(),
        envelope=io.BytesIO(envelope),
    )
    assert verdict.ok, verdict.checks
    assert verdict.check("timestamp").ok  # type: ignore[union-attr]
    return bundle


def test_a_receipt_is_time_stamped_over_http_and_verifies_offline(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    test_pki: BuiltPki,
    http_tsa: HttpTsa,
    tender: OpenTender,
    bidders: list[Bidder],
    tmp_path: Path,
) -> None:
    envelope = sealed(tender.opening, b"stamped over http")
    answer = submit(app_client, bidders[0], tender.id, envelope)
    assert answer.status_code == 201, answer.text
    assert len(http_tsa.requests) == 1  # the token came through the HTTP exchange
    bundle = _verified(platform, test_pki, answer.json(), envelope)
    receipt = json.loads(bundle.receipt)
    if shutil.which("openssl") is None:
        pytest.skip("no openssl command to cross-check the token")
    (tmp_path / "receipt.json").write_bytes(bundle.receipt)
    (tmp_path / "token.der").write_bytes(bundle.timestamp_token)
    (tmp_path / "ca.pem").write_bytes(
        b"".join(c.public_bytes(Encoding.PEM) for c in [*test_pki.roots, *test_pki.intermediates])
    )
    at = int(platform.clock.now().timestamp())
    checked = _openssl_ts_verify(tmp_path, at)
    assert checked.returncode == 0 and "Verification: OK" in checked.stdout, checked.stdout + checked.stderr
    (tmp_path / "receipt.json").write_bytes(bundle.receipt.replace(receipt["bid"].encode(), b"x" * 36))
    assert _openssl_ts_verify(tmp_path, at).returncode != 0  # the token is over exactly these bytes


def _openssl_ts_verify(directory: Path, at: int) -> subprocess.CompletedProcess[str]:
    command = ["openssl", "ts", "-verify", "-data", "receipt.json", "-in", "token.der", "-token_in"]
    return subprocess.run(
        [*command, "-CAfile", "ca.pem", "-attime", str(at)],
        cwd=directory,
        capture_output=True,
        text=True,
        check=False,
    )


def test_with_the_tsa_down_the_bid_stands_and_the_receipt_comes_later(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    test_pki: BuiltPki,
    http_tsa: HttpTsa,
    tender: OpenTender,
    bidders: list[Bidder],
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening, b"stamped later")
    http_tsa.down = True
    answer = submit(app_client, bidder, tender.id, envelope)
    assert answer.status_code == 503, answer.text
    problem = answer.json()
    assert problem["code"] == "receipt-unavailable" and "stored and logged" in problem["detail"]
    assert problem["version"] == 1 and http_tsa.requests
    bid_id = problem["bid"]
    # nothing is lost: the envelope is stored, the version recorded and logged, just not receipted
    assert platform.blobs.exists(hashlib.sha256(envelope).hexdigest())
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(BidVersion)) == 1
        assert session.scalar(select(BidVersion.receipt)) is None
    assert log_types(platform).count("bid.version") == 1
    listed = app_client.get(f"/bids?tender={tender.id}", headers=bidder.headers)
    assert [b["id"] for b in listed.json()] == [bid_id]
    receipt_path = f"/bids/{bid_id}/versions/1/receipt"
    still_down = app_client.get(receipt_path, headers=bidder.headers)
    assert still_down.status_code == 503 and still_down.json()["code"] == "receipt-unavailable"
    http_tsa.down = False
    fetched = app_client.get(receipt_path, headers=bidder.headers)
    assert fetched.status_code == 200, fetched.text
    bundle = _verified(platform, test_pki, fetched.json(), envelope)
    assert json.loads(bundle.receipt)["bid"] == bid_id
    again = app_client.get(receipt_path, headers=bidder.headers)
    assert again.json() == fetched.json()  # built once, then kept
    assert base64.b64decode(fetched.json()["timestamp_token"]) == bundle.timestamp_token
