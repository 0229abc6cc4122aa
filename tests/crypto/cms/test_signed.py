"""SignedData: signing, streaming, verification verdicts, time-stamps and the trust hook."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import cms, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import DummyTimeStamper

from crypto.cms import (
    CmsError,
    PyhankoTimeStamper,
    Signer,
    TimestampError,
    UnsupportedCms,
    asign_attached,
    asign_attached_to,
    asign_detached,
    averify_signed,
    sign_attached,
    sign_attached_to,
    sign_detached,
    verify_signed,
)
from crypto.cms import signing as signing_module
from crypto.cms.asn1 import ID_SIGNED_DATA
from crypto.cms.errors import LimitExceeded
from crypto.cms.signed_reader import MAX_CERTIFICATES
from tests.crypto.cms.testpki import NOW, Cred, Pki, _issue

CONTENT = b"bid package bytes " * 1000
WHEN = NOW - timedelta(hours=2)


@dataclass(frozen=True)
class Result:
    ok: bool
    message: str


def dummy_tsa(cred: Cred, when: datetime | None = None) -> DummyTimeStamper:
    return DummyTimeStamper(
        tsa_cert=asn1_x509.Certificate.load(cred.cert.public_bytes(serialization.Encoding.DER)),
        tsa_key=keys.PrivateKeyInfo.load(
            cred.key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        ),
        fixed_dt=when,
    )


class SyncStamper:
    """A synchronous TimeStamper (the protocol allows plain bytes) that may lie about the imprint."""

    def __init__(self, inner: DummyTimeStamper, lie: bool = False) -> None:
        self.inner, self.lie, self.calls = inner, lie, 0

    def timestamp(self, message_imprint_digest: bytes, hash_algo: str) -> bytes:
        self.calls += 1
        digest = bytes(32) if self.lie else message_imprint_digest
        return bytes(asyncio.run(self.inner.async_timestamp(digest, hash_algo)).dump())


@pytest.fixture(params=["ec", "rsa-pkcs1", "rsa-pss"])
def signer(request: pytest.FixtureRequest, pki: Pki) -> Signer:
    cred = pki.ec_signer if request.param == "ec" else pki.rsa_signer
    return Signer(cred.cert, cred.key, (pki.intermediate.cert,), rsa_pss=request.param == "rsa-pss")


def test_attached_roundtrip(signer: Signer, pki: Pki) -> None:
    signature = sign_attached(CONTENT, signer, signing_time=WHEN)
    sink = io.BytesIO()
    verdict = verify_signed(signature, content_sink=sink)
    assert verdict.ok and verdict.intact and verdict.reasons == ()
    assert sink.getvalue() == CONTENT and verdict.content_size == len(CONTENT)
    assert verdict.signer_certificate == signer.certificate
    assert set(verdict.certificates) == {signer.certificate, pki.intermediate.cert}  # DER SET OF: sorted
    assert verdict.signing_time == WHEN
    assert verdict.digest_algorithm == "sha256"
    assert verdict.trusted is None and verdict.timestamp is None and not verdict.timestamp_present
    assert verdict.trust_time == WHEN and verdict.trust_time_source == "signing-time attribute"
    assert verdict.signature_algorithm in ("sha256_ecdsa", "sha256_rsa", "rsassa_pss")


def test_detached_roundtrip_from_stream(signer: Signer, tmp_path: Path) -> None:
    path = tmp_path / "bid.zip"
    path.write_bytes(CONTENT)
    with path.open("rb") as f:
        signature = sign_detached(f, signer, chunk_size=777)
    with path.open("rb") as f:
        verdict = verify_signed(signature, detached_content=f)
    assert verdict.ok, verdict.reasons
    assert verdict.content_size == len(CONTENT)
    assert not verify_signed(signature, detached_content=CONTENT + b"x").ok


@pytest.mark.parametrize("digest", ["sha384", "sha512"])
def test_other_digests(pki: Pki, digest: str) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key, digest_algorithm=digest)
    verdict = verify_signed(sign_detached(b"x", signer), detached_content=b"x")
    assert verdict.ok and verdict.digest_algorithm == digest


def test_streamed_attached_signing(pki: Pki, tmp_path: Path) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    src, dst = tmp_path / "in", tmp_path / "out.p7s"
    src.write_bytes(CONTENT)
    with src.open("rb") as s, dst.open("wb") as d:
        written = sign_attached_to(s, d, signer, chunk_size=500)
    assert written == dst.stat().st_size
    out = io.BytesIO()
    with dst.open("rb") as f:
        verdict = verify_signed(f, content_sink=out)
    assert verdict.ok and out.getvalue() == CONTENT


class Shifty(io.BytesIO):
    """Returns different bytes on the second pass."""

    passes = 0

    def seek(self, pos: int, whence: int = 0) -> int:
        self.passes += 1  # the rewind before copying: alter the first byte
        self.getbuffer()[0] ^= 1
        return super().seek(pos, whence)


def test_source_changed_between_passes(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    with pytest.raises(CmsError, match="changed"):
        sign_attached_to(Shifty(b"abc" * 10), io.BytesIO(), signer)


def test_tampered_content_and_signature(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    signature = sign_attached(b"price: 100", signer)
    altered = signature.replace(b"price: 100", b"price: 900")
    verdict = verify_signed(altered)
    assert not verdict.ok and not verdict.intact
    assert "message digest mismatch: the content was altered" in verdict.reasons
    detached = sign_detached(b"price: 100", signer)
    raw_sig = cms.ContentInfo.load(detached)["content"]["signer_infos"][0]["signature"].native
    flipped = detached.replace(raw_sig, raw_sig[:-1] + bytes([raw_sig[-1] ^ 1]))
    verdict = verify_signed(flipped, detached_content=b"price: 100")
    assert not verdict.intact and any("does not verify" in r for r in verdict.reasons)


def test_missing_signer_certificate(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    info = cms.ContentInfo.load(sign_detached(b"x", signer))
    info["content"]["certificates"] = [
        asn1_x509.Certificate.load(pki.rsa_signer.cert.public_bytes(serialization.Encoding.DER))
    ]
    verdict = verify_signed(info.dump(force=True), detached_content=b"x")
    assert not verdict.intact and verdict.signer_certificate is None
    assert "the signer certificate is not included" in verdict.reasons


def test_ess_signing_certificate_must_match(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    real = signing_module._signing_certificate_v2
    monkeypatch.setattr(signing_module, "_signing_certificate_v2", lambda cert: real(pki.rsa_signer.cert))
    signature = sign_detached(b"x", Signer(pki.ec_signer.cert, pki.ec_signer.key))
    verdict = verify_signed(signature, detached_content=b"x")
    assert verdict.reasons == ("signingCertificateV2 does not identify the signer certificate",)


def test_each_signer_certificate_gets_its_own_ess_attribute_when_signing_alternates(pki: Pki) -> None:
    # the attribute is built once per certificate: alternating signers must never share one
    signers = [Signer(pki.ec_signer.cert, pki.ec_signer.key), Signer(pki.rsa_signer.cert, pki.rsa_signer.key)]
    for round_ in range(3):
        for signer in signers:
            content = f"receipt {round_}".encode()
            verdict = verify_signed(sign_detached(content, signer), detached_content=content)
            assert verdict.intact, verdict.reasons
            assert verdict.signer_certificate == signer.certificate


def test_content_argument_errors(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    with pytest.raises(CmsError, match="detached content was given too"):
        verify_signed(sign_attached(b"x", signer), detached_content=b"x")
    with pytest.raises(CmsError, match="must be given"):
        verify_signed(sign_detached(b"x", signer))


def test_signer_validation(pki: Pki) -> None:
    with pytest.raises(CmsError, match="does not belong"):
        Signer(pki.ec_signer.cert, pki.rsa_signer.key)
    with pytest.raises(UnsupportedCms):
        Signer(pki.ec_signer.cert, pki.ec_signer.key, digest_algorithm="sha1")
    with pytest.raises(CmsError, match="seekable"):
        sign_attached_to(
            io.BufferedReader(io.BytesIO(b"x")).raw and _NoSeek(),
            io.BytesIO(),
            Signer(pki.ec_signer.cert, pki.ec_signer.key),
        )


class _NoSeek(io.BytesIO):
    def seekable(self) -> bool:
        return False


def test_non_data_content_type(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    signature = sign_attached(b"inner", signer, content_type=ID_SIGNED_DATA)
    assert cms.ContentInfo.load(signature)["content"]["version"].native == "v3"
    verdict = verify_signed(signature)
    assert verdict.ok and verdict.content_type == ID_SIGNED_DATA


def test_several_signers_are_unsupported(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    info = cms.ContentInfo.load(sign_detached(b"x", signer))
    si = info["content"]["signer_infos"][0]
    info["content"]["signer_infos"] = [si, si]
    with pytest.raises(UnsupportedCms, match="exactly one"):
        verify_signed(info.dump(force=True), detached_content=b"x")
    info["content"]["signer_infos"] = []
    verdict = verify_signed(info.dump(force=True), detached_content=b"x")
    assert not verdict.ok and verdict.reasons == ("the SignedData has no SignerInfo",)


# -- time-stamps -------------------------------------------------------------------------------------


def test_pyhanko_timestamp(pki: Pki) -> None:
    stamped_at = NOW - timedelta(minutes=5)
    stamper = PyhankoTimeStamper(dummy_tsa(pki.tsa, stamped_at))
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    signature = sign_detached(CONTENT, signer, signing_time=WHEN, timestamper=stamper)
    verdict = verify_signed(signature, detached_content=CONTENT)
    assert verdict.ok and verdict.timestamp_present and verdict.timestamp_valid
    ts = verdict.timestamp
    assert ts is not None and ts.covers_signature and ts.intact and ts.gen_time == stamped_at
    assert ts.tsa_certificate == pki.tsa.cert and ts.hash_algorithm == "sha256"
    assert verdict.trust_time == stamped_at and verdict.trust_time_source == "timestamp"


def test_sync_stamper_and_imprint_mismatch(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    honest = SyncStamper(dummy_tsa(pki.tsa))
    assert verify_signed(sign_attached(b"x", signer, timestamper=honest)).timestamp_valid
    liar = SyncStamper(dummy_tsa(pki.tsa), lie=True)
    verdict = verify_signed(sign_attached(b"x", signer, timestamper=liar))
    assert verdict.intact and not verdict.ok and verdict.timestamp is not None
    assert not verdict.timestamp.covers_signature and verdict.timestamp.intact
    assert "time-stamp: the time-stamp imprint is not the hash of this signature" in verdict.reasons
    assert verdict.trust_time_source == "signing-time attribute"


def test_tsa_without_timestamping_eku(pki: Pki) -> None:
    cert = _issue(
        "not a tsa", pki.tsa.key, (pki.intermediate.cert, pki.intermediate.key), usage=("digital_signature",)
    )
    fake = Cred("fake", cert, pki.tsa.key, pki.tsa.cert_path, pki.tsa.key_path)
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    verdict = verify_signed(sign_attached(b"x", signer, timestamper=PyhankoTimeStamper(dummy_tsa(fake))))
    assert verdict.timestamp is not None and not verdict.timestamp.intact and not verdict.ok
    assert any("timeStamping" in r for r in verdict.reasons)


def test_bad_tokens_are_refused_at_signing(pki: Pki) -> None:
    class Garbage:
        def timestamp(self, message_imprint_digest: bytes, hash_algo: str) -> bytes:
            return b"\x30\x03\x02\x01\x01"

    class Broken:
        async def async_timestamp(self, digest: bytes, algo: str) -> object:
            raise OSError("TSA unreachable")

    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    with pytest.raises(TimestampError):
        sign_detached(b"x", signer, timestamper=Garbage())
    with pytest.raises(TimestampError, match="unreachable"):
        sign_detached(b"x", signer, timestamper=PyhankoTimeStamper(Broken()))


def test_corrupt_token_gives_a_verdict_not_a_crash(pki: Pki) -> None:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    signature = bytearray(sign_attached(b"x", signer, timestamper=PyhankoTimeStamper(dummy_tsa(pki.tsa))))
    tst_oid = bytes.fromhex("060b2a864886f70d0109100104")  # id-ct-TSTInfo inside the token
    position = signature.index(tst_oid) + 40  # somewhere in the TSTInfo
    signature[position] ^= 0x01
    verdict = verify_signed(bytes(signature))
    assert verdict.intact and verdict.timestamp is not None and not verdict.ok


# -- trust ---------------------------------------------------------------------------------------------


def test_trust_hook_gets_the_signing_moment(pki: Pki) -> None:
    calls: list[tuple[x509.Certificate, datetime | None]] = []

    def check(cert: x509.Certificate, at: datetime | None) -> Result:
        calls.append((cert, at))
        return Result(cert == pki.ec_signer.cert, "ok" if cert == pki.ec_signer.cert else "unknown CA")

    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    verdict = verify_signed(
        sign_detached(b"x", signer, signing_time=WHEN), detached_content=b"x", check_certificate=check
    )
    assert verdict.ok and verdict.trusted is True and verdict.trust_message == "ok"
    assert calls == [(pki.ec_signer.cert, WHEN)]
    rsa = Signer(pki.rsa_signer.cert, pki.rsa_signer.key)
    verdict = verify_signed(sign_detached(b"x", rsa), detached_content=b"x", check_certificate=check)
    assert verdict.intact and verdict.trusted is False and not verdict.ok
    assert "signer certificate not trusted: unknown CA" in verdict.reasons
    calls.clear()
    assert not verify_signed(sign_detached(b"x", signer), detached_content=b"y", check_certificate=check).ok
    assert calls == []  # never asked about a broken signature


def test_async_trust_hook_and_tsa_hook(pki: Pki) -> None:
    seen: list[datetime | None] = []

    async def check(cert: x509.Certificate, at: datetime | None) -> Result:
        seen.append(at)
        return Result(True, "trusted")

    def check_tsa(cert: x509.Certificate, at: datetime | None) -> Result:
        return Result(False, "TSA not accredited")

    stamped_at = NOW - timedelta(minutes=1)
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key)
    signature = sign_attached(b"x", signer, timestamper=PyhankoTimeStamper(dummy_tsa(pki.tsa, stamped_at)))
    verdict = verify_signed(signature, check_certificate=check)  # no loop running: the coroutine is run
    assert verdict.ok and verdict.trusted and seen == [stamped_at]
    verdict = verify_signed(signature, check_certificate=check, check_tsa_certificate=check_tsa)
    assert verdict.timestamp is not None and verdict.timestamp.trusted is False and not verdict.ok
    assert "time-stamp: TSA certificate not trusted: TSA not accredited" in verdict.reasons


async def test_async_api(pki: Pki, tmp_path: Path) -> None:
    async def check(cert: x509.Certificate, at: datetime | None) -> Result:
        return Result(True, "trusted")

    stamper = PyhankoTimeStamper(dummy_tsa(pki.tsa))
    signer = Signer(pki.rsa_signer.cert, pki.rsa_signer.key, rsa_pss=True)
    detached = await asign_detached(CONTENT, signer, timestamper=stamper)
    verdict = await averify_signed(
        detached, detached_content=CONTENT, check_certificate=check, check_tsa_certificate=check
    )
    assert verdict.ok and verdict.trusted and verdict.timestamp is not None and verdict.timestamp.trusted
    attached = await asign_attached(CONTENT, signer)
    assert (await averify_signed(attached)).ok
    src, dst = tmp_path / "in", tmp_path / "out"
    src.write_bytes(CONTENT)
    with src.open("rb") as s, dst.open("wb") as d:
        await asign_attached_to(s, d, signer, timestamper=stamper)
    assert (await averify_signed(dst.read_bytes())).timestamp_valid
    with pytest.raises(RuntimeError, match="event loop"):
        verify_signed(detached, detached_content=CONTENT, check_certificate=check)
    with pytest.raises(CmsError, match="seekable"):
        await asign_attached_to(_NoSeek(b"x"), io.BytesIO(), signer)


def test_utc_signing_time_default(pki: Pki) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    verdict = verify_signed(sign_attached(b"x", Signer(pki.ec_signer.cert, pki.ec_signer.key)))
    assert verdict.signing_time is not None and before <= verdict.signing_time <= datetime.now(UTC)


def _with_certificates(signed: bytes, certificates: list[asn1_x509.Certificate]) -> bytes:
    """``signed`` with its certificate set replaced (the signature itself is left as it was)."""
    info = cms.ContentInfo.load(signed)
    info["content"]["certificates"] = cms.CertificateSet(
        [cms.CertificateChoices(name="certificate", value=c) for c in certificates]
    )
    return bytes(info.dump(force=True))


def test_an_embedded_certificate_the_strict_parser_refuses_is_malformed(pki: Pki) -> None:
    signed = sign_attached(CONTENT, Signer(pki.ec_signer.cert, pki.ec_signer.key))
    broken = asn1_x509.Certificate.load(pki.ec_signer.cert.public_bytes(serialization.Encoding.DER))
    broken["tbs_certificate"]["version"] = 7  # no such X.509 version
    with pytest.raises(CmsError, match="embedded certificate does not parse"):
        verify_signed(_with_certificates(signed, [broken]))


def test_more_embedded_certificates_than_the_cap_are_refused(pki: Pki) -> None:
    signed = sign_attached(CONTENT, Signer(pki.ec_signer.cert, pki.ec_signer.key))
    one = asn1_x509.Certificate.load(pki.intermediate.cert.public_bytes(serialization.Encoding.DER))
    with pytest.raises(LimitExceeded, match="too many certificates"):
        verify_signed(_with_certificates(signed, [one] * (MAX_CERTIFICATES + 1)))


def test_the_verdict_carries_the_embedded_certificates_as_parsed(pki: Pki) -> None:
    chain = (pki.intermediate.cert,)
    signed = sign_attached(CONTENT, Signer(pki.ec_signer.cert, pki.ec_signer.key, chain))
    verdict = verify_signed(signed)
    assert verdict.intact
    assert verdict.signer_certificate == pki.ec_signer.cert
    assert set(verdict.certificates) == {pki.ec_signer.cert, pki.intermediate.cert}
