"""Where receipts are signed and time-stamped: configured services, or the development PKI's."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.hazmat.primitives.serialization import BestAvailableEncryption, pkcs12
from pyhanko.sign.timestamps import HTTPTimeStamper

from crypto.pki import BuiltPki
from tendering.bids.receipts import receipt_signer, receipt_timestamper
from tendering.clock import ManualClock
from tendering.errors import Unavailable
from tendering.identity.checker import DevPki
from tendering.platform import Platform, build_platform
from tendering.settings import Settings


def test_the_development_pki_signs_and_stamps_by_default(
    platform: Platform, dev: DevPki, test_pki: BuiltPki
) -> None:
    signer = receipt_signer(platform)
    assert signer.certificate == test_pki.credential("platform-signing").certificate
    assert receipt_timestamper(platform) is not None


def test_configured_signer_and_tsa_are_used(settings: Settings, test_pki: BuiltPki, tmp_path: Path) -> None:
    credential = test_pki.credential("platform-signing")
    p12 = tmp_path / "receipts.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"receipts",
            credential.private_key,  # type: ignore[arg-type]
            credential.certificate,
            None,
            BestAvailableEncryption(b"secret"),
        )
    )
    password = tmp_path / "password"
    password.write_bytes(b"secret\n")
    bids = settings.bids.model_copy(
        update={
            "receipt_signer_p12": p12,
            "receipt_signer_password_file": password,
            "tsa_url": "http://tsa.invalid/",
        }
    )
    configured = build_platform(settings.model_copy(update={"bids": bids}), clock=ManualClock())
    try:
        assert receipt_signer(configured).certificate == credential.certificate
        stamper = receipt_timestamper(configured)
        assert isinstance(stamper._stamper, HTTPTimeStamper)
    finally:
        configured.close()


def test_without_any_signer_the_receipt_is_unavailable(settings: Settings) -> None:
    bare = build_platform(settings.model_copy(update={"dev_pki": False}), clock=ManualClock())
    try:
        with pytest.raises(Unavailable) as caught:
            receipt_signer(bare)
        assert caught.value.code == "receipt-signer-missing"
        with pytest.raises(Unavailable):
            receipt_timestamper(bare)
    finally:
        bare.close()
