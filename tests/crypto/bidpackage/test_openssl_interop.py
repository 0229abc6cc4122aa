"""A sealed bid, taken apart with the ``openssl cms`` command line: what a compatible opener does."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from crypto.bidpackage import seal_bid
from crypto.cms import PyhankoTimeStamper
from crypto.pki import BuiltPki
from tests.crypto.bidpackage.helpers import Opening, build_sample, make_opening, signer_of, uscc_of
from tests.crypto.cms.testpki import OPENSSL, needs_openssl

pytestmark = needs_openssl


def openssl(*args: str | Path) -> bytes:
    assert OPENSSL is not None
    result = subprocess.run([OPENSSL, *map(str, args)], capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def _pem_files(dev: BuiltPki, directory: Path, participant: str) -> tuple[Path, Path, Path]:
    """CA bundle, and the participant's encryption certificate and key, as PEM."""
    bundle = directory / "ca-bundle.pem"
    bundle.write_bytes(
        b"".join(c.public_bytes(serialization.Encoding.PEM) for c in [*dev.roots, *dev.intermediates])
    )
    enc = dev.encryption(participant)
    cert, key = directory / f"{participant}-enc.pem", directory / f"{participant}-enc.key"
    cert.write_bytes(enc.certificate.public_bytes(serialization.Encoding.PEM))
    key.write_bytes(
        enc.private_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return bundle, cert, key


def _decrypt(envelope: Path, cert: Path, key: Path, out: Path) -> Path:
    openssl(
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        envelope,
        "-inkey",
        key,
        "-recip",
        cert,
        "-out",
        out,
    )
    return out


def _verify(signed: Path, bundle: Path) -> bytes:
    # The dev certificates carry no S/MIME extendedKeyUsage, hence -purpose any (as docs/envelope.md).
    return openssl(
        "cms", "-verify", "-binary", "-inform", "DER", "-in", signed, "-CAfile", bundle, "-purpose", "any"
    )


@pytest.mark.parametrize("tenderer", ["tenderer-1", "tenderer-5"])
def test_openssl_opens_the_sealed_bid_and_accepts_the_signature(
    dev: BuiltPki, tmp_path: Path, tenderer: str
) -> None:
    opening: Opening = make_opening(tmp_path / "opening")
    package, _ = build_sample(tmp_path, uscc_of(dev, tenderer))
    (tmp_path / "bid.zip").write_bytes(package)
    sealed = tmp_path / "bid.sealed"
    with (tmp_path / "bid.zip").open("rb") as src, sealed.open("wb") as dst:
        seal_bid(
            src,
            dst,
            signer_of(dev, tenderer),
            opening_certificate=opening.certificate,
            timestamper=PyhankoTimeStamper(dev.tsa().timestamper()),
        )
    bundle, _, _ = _pem_files(dev, tmp_path, tenderer)
    signed = _decrypt(sealed, opening.cert_path, opening.key_path, tmp_path / "bid.p7s")
    assert _verify(signed, bundle) == package


def test_openssl_opens_the_bidder_layer_with_the_bidders_key(dev: BuiltPki, tmp_path: Path) -> None:
    opening = make_opening(tmp_path / "opening")
    package, _ = build_sample(tmp_path, uscc_of(dev, "tenderer-2"))
    bundle, enc_cert, enc_key = _pem_files(dev, tmp_path, "tenderer-2")
    sealed = tmp_path / "bid.sealed"
    with sealed.open("wb") as dst:
        seal_bid(
            io.BytesIO(package),
            dst,
            signer_of(dev, "tenderer-2"),
            opening_certificate=opening.certificate,
            bidder_encryption_certificate=dev.encryption("tenderer-2").certificate,
        )
    middle = _decrypt(sealed, opening.cert_path, opening.key_path, tmp_path / "bid.middle")
    signed = _decrypt(middle, enc_cert, enc_key, tmp_path / "bid.p7s")
    assert _verify(signed, bundle) == package
