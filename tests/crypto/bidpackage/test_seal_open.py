"""Sealing a bid on the bidder's side and opening it as the opening (issue 5) will: every outcome."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from crypto.bidpackage import BidSealError, PackageError, open_bid, seal_bid
from crypto.bidpackage.opening import BidVerdict, aopen_bid
from crypto.cms import PyhankoTimeStamper, Signer, peek_envelope, seal, sign_attached
from crypto.pki import BuiltPki, CertVerdict, Purpose
from tests.crypto.bidpackage.helpers import (
    TENDER,
    Opening,
    build_sample,
    make_opening,
    rezip,
    signer_of,
    uscc_of,
)


@pytest.fixture(scope="module")
def opening(tmp_path_factory: pytest.TempPathFactory) -> Opening:
    return make_opening(tmp_path_factory.mktemp("opening"))


@pytest.fixture
def check(dev: BuiltPki):  # type: ignore[no-untyped-def]
    checker = dev.checker()

    def validate(cert: x509.Certificate, at: datetime | None) -> CertVerdict:
        return checker.validate(cert, purpose=Purpose.SIGNING, at=at)

    return validate


def _seal(
    dev: BuiltPki, tmp_path: Path, opening: Opening, tenderer: str = "tenderer-1", **kw: object
) -> bytes:
    package, _ = build_sample(tmp_path, uscc_of(dev, tenderer))
    out = io.BytesIO()
    seal_bid(
        io.BytesIO(package),
        out,
        signer_of(dev, tenderer),
        opening_certificate=opening.certificate,
        **kw,  # type: ignore[arg-type]
    )
    return out.getvalue()


def _open(sealed: bytes, opening: Opening, check: object, **kw: object) -> BidVerdict:
    return open_bid(io.BytesIO(sealed), opening.certificate, opening.key, check_certificate=check, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("tenderer", ["tenderer-1", "tenderer-5"])  # P-256 and RSA signers
def test_sealed_bid_opens_and_verifies_completely(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object, tenderer: str
) -> None:
    package, manifest = build_sample(tmp_path, uscc_of(dev, tenderer))
    out = io.BytesIO()
    sealed = seal_bid(
        io.BytesIO(package),
        out,
        signer_of(dev, tenderer),
        opening_certificate=opening.certificate,
        timestamper=PyhankoTimeStamper(dev.tsa().timestamper()),
    )
    envelope = out.getvalue()
    assert sealed.envelope_size == len(envelope) and sealed.timestamped and not sealed.bidder_layer
    assert peek_envelope(envelope).is_addressed_to(opening.certificate)
    kept = tmp_path / "kept.zip"
    verdict = _open(envelope, opening, check, package_destination=kept, expected_tender_id=TENDER)
    assert verdict.ok, verdict.reasons
    assert verdict.code is None and verdict.envelope_opened and not verdict.bidder_layer
    assert verdict.envelope_sha256 == sealed.envelope_sha256
    assert verdict.manifest == manifest and verdict.signer_uscc == manifest.bidder_uscc
    assert verdict.timestamp_valid and verdict.signature is not None
    assert verdict.signature.trusted and verdict.signature.trust_time_source == "timestamp"
    assert kept.read_bytes() == package and verdict.package_size == len(package)


def test_bidder_layer_needs_the_bidders_key(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object
) -> None:
    bidder = dev.encryption("tenderer-2")
    envelope = _seal(dev, tmp_path, opening, "tenderer-2", bidder_encryption_certificate=bidder.certificate)
    locked = _open(envelope, opening, check)
    assert (locked.ok, locked.code, locked.envelope_opened, locked.bidder_layer) == (
        False,
        "bidder-layer-locked",
        True,
        True,
    )
    opened = _open(
        envelope, opening, check, bidder_certificate=bidder.certificate, bidder_key=bidder.private_key
    )
    assert opened.ok and opened.bidder_layer, opened.reasons
    other = dev.encryption("tenderer-3")
    wrong = _open(
        envelope, opening, check, bidder_certificate=other.certificate, bidder_key=other.private_key
    )
    assert wrong.code == "bidder-layer-not-opened"


def test_wrong_opening_key_and_other_certificate(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object
) -> None:
    envelope = _seal(dev, tmp_path, opening)
    impostor = ec.generate_private_key(ec.SECP256R1())
    wrong_key = open_bid(io.BytesIO(envelope), opening.certificate, impostor, check_certificate=check)  # type: ignore[arg-type]
    assert (wrong_key.code, wrong_key.envelope_opened) == ("envelope-not-opened", False)
    other = make_opening(tmp_path / "other")
    not_addressed = _open(envelope, other, check)
    assert not_addressed.code == "envelope-not-addressed"


def test_tampered_ciphertext_is_detected(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object
) -> None:
    envelope = bytearray(_seal(dev, tmp_path, opening))
    envelope[len(envelope) // 2] ^= 0x01
    verdict = _open(bytes(envelope), opening, check)
    assert verdict.code == "envelope-not-opened" and "altered" in verdict.reasons[0]
    assert _open(bytes(envelope[:-5]), opening, check).code == "envelope-not-opened"


def test_signature_by_another_bidder_than_the_manifest(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object
) -> None:
    package, manifest = build_sample(tmp_path, uscc_of(dev, "tenderer-1"))
    with pytest.raises(BidSealError) as refused:
        seal_bid(
            io.BytesIO(package),
            io.BytesIO(),
            signer_of(dev, "tenderer-2"),
            opening_certificate=opening.certificate,
        )
    assert refused.value.code == "bidder-mismatch"
    # A hand-made envelope (not our tool) with that combination is caught at the opening.
    forged = io.BytesIO()
    seal(sign_attached(package, signer_of(dev, "tenderer-2")), forged, [opening.certificate])
    verdict = _open(forged.getvalue(), opening, check)
    assert verdict.code == "bidder-mismatch" and verdict.signer_uscc == uscc_of(dev, "tenderer-2")
    assert verdict.manifest == manifest and not verdict.ok


def test_manifest_hash_mismatch_is_a_package_failure(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object
) -> None:
    package, manifest = build_sample(tmp_path, uscc_of(dev, "tenderer-1"))
    altered = rezip(package, {"files/" + manifest.files[0].name: b"a different drawing"})
    forged = io.BytesIO()
    seal(sign_attached(altered, signer_of(dev, "tenderer-1")), forged, [opening.certificate])
    verdict = _open(forged.getvalue(), opening, check, package_destination=tmp_path / "never.zip")
    assert (verdict.code, verdict.package_error) == ("package-invalid", "package-file-mismatch")
    assert verdict.signature is not None and verdict.signature.intact  # signed, but not a valid package
    assert not (tmp_path / "never.zip").exists()


def test_unsigned_bid_and_untrusted_signer(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object
) -> None:
    package, _ = build_sample(tmp_path, uscc_of(dev, "tenderer-1"))
    unsigned = io.BytesIO()
    seal(package, unsigned, [opening.certificate])
    assert _open(unsigned.getvalue(), opening, check).code == "not-signed"
    envelope = _seal(dev, tmp_path / "b", opening)

    def distrust(cert: x509.Certificate, at: datetime | None) -> CertVerdict:
        return dev.checker(roots=["dev-ca"]).validate(cert, purpose=Purpose.ENCRYPTION, at=at)

    verdict = _open(envelope, opening, distrust)
    assert verdict.code == "signer-untrusted" and not verdict.ok
    assert verdict.manifest is not None  # still read, so the opening can record what was offered


def test_tender_mismatch_and_other_tenders_opening_certificate(
    dev: BuiltPki, tmp_path: Path, opening: Opening, check: object
) -> None:
    envelope = _seal(dev, tmp_path, opening)
    assert _open(envelope, opening, check, expected_tender_id="another").code == "tender-mismatch"
    other = make_opening(tmp_path / "o", tender_id="T-2026-0099")
    package, _ = build_sample(tmp_path / "p", uscc_of(dev, "tenderer-1"))
    with pytest.raises(BidSealError) as refused:
        seal_bid(
            io.BytesIO(package),
            io.BytesIO(),
            signer_of(dev, "tenderer-1"),
            opening_certificate=other.certificate,
        )
    assert refused.value.code == "opening-certificate-other-tender"


def test_a_broken_package_is_not_sealed(dev: BuiltPki, tmp_path: Path, opening: Opening) -> None:
    sink = io.BytesIO()
    with pytest.raises(PackageError):
        seal_bid(
            io.BytesIO(b"PK\x03\x04 not really"),
            sink,
            signer_of(dev, "tenderer-1"),
            opening_certificate=opening.certificate,
        )
    assert sink.getvalue() == b""


async def test_async_opening_with_an_async_checker(dev: BuiltPki, tmp_path: Path, opening: Opening) -> None:
    envelope = _seal(dev, tmp_path, opening)
    checker = dev.checker()

    async def check(cert: x509.Certificate, at: datetime | None) -> CertVerdict:
        return await checker.avalidate(cert, purpose=Purpose.SIGNING, at=at)

    verdict = await aopen_bid(io.BytesIO(envelope), opening.certificate, opening.key, check_certificate=check)
    assert verdict.ok, verdict.reasons


def test_random_envelopes_give_a_verdict_not_an_exception(opening: Opening, check: object) -> None:
    import random

    rng = random.Random(4)
    for size in (0, 1, 10, 100, 1000):
        verdict = _open(rng.randbytes(size), opening, check)
        assert verdict.code == "envelope-not-opened"


def test_certificates_that_would_fail_at_the_opening_are_refused(
    dev: BuiltPki, tmp_path: Path, opening: Opening
) -> None:
    package, _ = build_sample(tmp_path, uscc_of(dev, "tenderer-2"))

    def refused(signer: Signer, **kw: object) -> str:
        sink = io.BytesIO()
        with pytest.raises(BidSealError) as caught:
            seal_bid(io.BytesIO(package), sink, signer, opening_certificate=opening.certificate, **kw)  # type: ignore[arg-type]
        assert sink.getvalue() == b""
        return caught.value.code

    encryption = dev.encryption("tenderer-2")
    wrong_half = Signer(encryption.certificate, encryption.private_key)
    assert refused(wrong_half) == "not-a-signing-certificate"
    signer = signer_of(dev, "tenderer-2")
    other = dev.encryption("tenderer-3").certificate
    assert refused(signer, bidder_encryption_certificate=other) == "bidder-layer-not-own"
    own_signing = dev.signing("tenderer-2").certificate
    assert refused(signer, bidder_encryption_certificate=own_signing) == "not-an-encryption-certificate"
    later = datetime.now(UTC) + timedelta(days=20 * 365)
    assert refused(signer, signing_time=later) == "certificate-not-valid"
