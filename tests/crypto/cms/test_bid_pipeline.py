"""The whole sealed-bid life cycle on sealbid's own dev PKI (crypto.pki): key ceremony, signing with a
time-stamp from the in-process TSA, sealing to the opening certificate, share release, opening, and
verification with the CertificateChecker - all streamed through files."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from crypto.cms import (
    PyhankoTimeStamper,
    Signer,
    asign_attached_to,
    averify_signed,
    open_envelope_bytes,
    open_envelope_to_path,
    peek_envelope,
    seal,
    seal_bytes,
    sign_detached,
)
from crypto.pki import BuiltPki, CertVerdict, Purpose, build_pki, dev_pki_spec
from crypto.shamir import Share, combine_and_check, commit_share, new_salt, split_secret, verify_share
from tests.crypto.cms.testpki import _issue

NOW = datetime.now(UTC).replace(microsecond=0)
TENDER = "T-2025-0001"


@pytest.fixture(scope="module")
def dev() -> BuiltPki:
    return build_pki(dev_pki_spec("http://pki.test.invalid/pki", NOW))


@dataclass(frozen=True)
class Ceremony:
    opening_cert: x509.Certificate
    sealed_shares: dict[int, bytes]
    commitments: dict[int, bytes]


def key_ceremony(dev: BuiltPki) -> Ceremony:
    """What the lead custodian's machine does at publication (k = 2 of n = 3)."""
    ca = dev.credential("dev-ca")
    opening_key = ec.generate_private_key(ec.SECP256R1())
    opening_cert = _issue(
        "opening " + TENDER, opening_key, (ca.certificate, ca.private_key), usage=("key_agreement",)
    )
    shares = split_secret(opening_key.private_numbers().private_value, 3, 2)
    sealed, commitments = {}, {}
    for share in shares:
        salt = new_salt()
        custodian = dev.encryption(f"custodian-{share.index}")
        sealed[share.index] = seal_bytes(share.to_bytes() + salt, [custodian.certificate])
        commitments[share.index] = commit_share(TENDER, share, salt)
    del opening_key  # erased: only the shares remain
    return Ceremony(opening_cert, sealed, commitments)


async def test_bid_life_cycle(dev: BuiltPki, tmp_path: Path) -> None:
    ceremony = key_ceremony(dev)
    bidder = dev.signing("tenderer-1")
    tsa = PyhankoTimeStamper(dev.tsa().timestamper())

    # Bidder: sign the package (attached, streamed) with a time-stamp, then seal it.
    package, signed, envelope = tmp_path / "bid.zip", tmp_path / "bid.p7s", tmp_path / "bid.p7m"
    package.write_bytes(b"PK\x03\x04 drawings " * 50_000)
    signer = Signer(bidder.certificate, bidder.private_key, tuple(dev.chain(bidder.name)))
    with package.open("rb") as src, signed.open("wb") as dst:
        await asign_attached_to(src, dst, signer, timestamper=tsa, chunk_size=64 << 10)
    with signed.open("rb") as src, envelope.open("wb") as dst:
        seal(src, dst, [ceremony.opening_cert])

    # Server at submission: is it an AuthEnvelopedData addressed to this tender's opening certificate?
    info = peek_envelope(envelope.read_bytes())
    assert info.is_addressed_to(ceremony.opening_cert)
    assert not info.is_addressed_to(dev.encryption("custodian-1").certificate)

    # After the deadline: two custodians release their shares; the server checks the commitments.
    released = []
    for index in (1, 3):
        custodian = dev.encryption(f"custodian-{index}")
        plain, _ = open_envelope_bytes(
            ceremony.sealed_shares[index], custodian.certificate, custodian.private_key
        )
        share, salt = Share.from_bytes(plain[:33]), plain[33:]
        assert verify_share(ceremony.commitments[index], TENDER, share, salt)
        released.append(share)
    opening_key = combine_and_check(released, ceremony.opening_cert.public_key())  # type: ignore[arg-type]

    # Open (atomically, streamed) and verify the signature, trust checked at the time-stamp's time.
    # (crypto.pki has no time-stamping purpose yet, so the TSA certificate's trust is not checked.)
    opened_path = tmp_path / "opened.p7s"
    open_envelope_to_path(envelope, opened_path, ceremony.opening_cert, opening_key)
    checker = dev.checker()
    asked: list[datetime | None] = []

    async def check(cert: x509.Certificate, at: datetime | None) -> CertVerdict:
        asked.append(at)
        return await checker.avalidate(cert, purpose=Purpose.SIGNING, at=at)

    extracted = io.BytesIO()
    with opened_path.open("rb") as f:
        verdict = await averify_signed(f, content_sink=extracted, check_certificate=check)
    assert verdict.ok, verdict.reasons
    assert verdict.trusted and verdict.timestamp_valid
    assert verdict.trust_time_source == "timestamp" and asked == [verdict.timestamp.gen_time]  # type: ignore[union-attr]
    assert extracted.getvalue() == package.read_bytes()


async def test_revoked_signer_is_not_trusted(dev: BuiltPki) -> None:
    checker = dev.checker()
    stranger = ec.generate_private_key(ec.SECP256R1())
    ca = dev.credential("dev-ca")
    # A certificate the CA never issued through the PKI (unknown to OCSP) is not trusted.
    cert = _issue("stranger", stranger, (ca.certificate, ca.private_key), usage=("digital_signature",))
    signer = Signer(cert, stranger)

    async def check(c: x509.Certificate, at: datetime | None) -> CertVerdict:
        return await checker.avalidate(c, purpose=Purpose.SIGNING, at=at)

    verdict = await averify_signed(
        sign_detached(b"x", signer), detached_content=b"x", check_certificate=check
    )
    assert verdict.intact and verdict.trusted is False and not verdict.ok
    assert verdict.trust_message
