"""AuthEnvelopedData: sealing, peeking and opening, and every failure path."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from asn1crypto import cms
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from crypto.cms import (
    CmsError,
    DecryptionError,
    Limits,
    MalformedCms,
    NotARecipient,
    UnsupportedCms,
    open_envelope,
    open_envelope_bytes,
    open_envelope_to_path,
    peek_envelope,
    seal,
    seal_bytes,
)
from crypto.cms.asn1 import ID_AES256_GCM, ID_DATA, ID_DH_SINGLE_PASS_STD_SHA256KDF, ID_SIGNED_DATA
from tests.crypto.cms.testpki import NOW, Pki, _issue


class OneWay(io.RawIOBase):
    """A non-seekable stream that returns short reads."""

    def __init__(self, data: bytes, step: int = 7) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


def recipients(pki: Pki) -> list[pytest.param]:
    return [
        pytest.param("ec_recipient", id="ec-p256-kari"),
        pytest.param("rsa_recipient", id="rsa-oaep-ktri"),
    ]


@pytest.mark.parametrize("who", ["ec_recipient", "rsa_recipient"])
@pytest.mark.parametrize("size", [0, 1, 15, 16, 17, 4096])
def test_roundtrip_bytes(pki: Pki, who: str, size: int) -> None:
    cred = getattr(pki, who)
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    envelope = seal_bytes(data, [cred.cert])
    plaintext, opened = open_envelope_bytes(envelope, cred.cert, cred.key)
    assert plaintext == data
    assert opened.content_size == size
    assert opened.info.content_encryption_algorithm == ID_AES256_GCM
    assert opened.info.key_size == 32 and opened.info.icv_length == 16 and len(opened.info.nonce) == 12


def test_peek_lists_recipients_and_algorithms(pki: Pki) -> None:
    envelope = seal_bytes(b"bid", [pki.ec_recipient.cert, pki.rsa_recipient.cert])
    info = peek_envelope(envelope)
    kinds = {r.kind: r for r in info.recipients}
    assert set(kinds) == {"kari", "ktri"}
    assert kinds["kari"].key_encryption_algorithm == ID_DH_SINGLE_PASS_STD_SHA256KDF
    assert kinds["ktri"].key_encryption_algorithm == "1.2.840.113549.1.1.7"
    assert kinds["kari"].serial_number == pki.ec_recipient.cert.serial_number
    assert "Test Issuing CA" in (kinds["kari"].issuer or "")
    assert info.is_addressed_to(pki.ec_recipient.cert)
    assert info.is_addressed_to(pki.rsa_recipient.cert)
    assert not info.is_addressed_to(pki.other_ec_recipient.cert)
    assert info.content_type == ID_DATA and info.content_size == 3
    assert info.auth_attributes == () and not info.has_originator_info
    # every recipient can open it
    for cred in (pki.ec_recipient, pki.rsa_recipient):
        assert open_envelope_bytes(envelope, cred.cert, cred.key)[0] == b"bid"


def test_subject_key_identifier_recipients(pki: Pki) -> None:
    for cred in (pki.ec_recipient, pki.rsa_recipient):
        envelope = seal_bytes(b"ski", [cred.cert], identify_by="ski")
        info = peek_envelope(envelope)
        assert info.recipients[0].subject_key_identifier is not None
        assert info.is_addressed_to(cred.cert)
        assert not info.is_addressed_to(pki.other_ec_recipient.cert)
        assert open_envelope_bytes(envelope, cred.cert, cred.key)[0] == b"ski"


def test_streaming_file_roundtrip_small_chunks(pki: Pki, tmp_path: Path) -> None:
    src, env, out = tmp_path / "bid.zip", tmp_path / "bid.p7m", tmp_path / "out.zip"
    data = bytes(range(256)) * 4099
    src.write_bytes(data)
    with src.open("rb") as s, env.open("wb") as e:
        result = seal(s, e, [pki.ec_recipient.cert], chunk_size=1000)
    assert result.envelope_size == env.stat().st_size
    assert result.content_size == len(data)
    limits = Limits(chunk_size=333)
    opened = open_envelope_to_path(env, out, pki.ec_recipient.cert, pki.ec_recipient.key, limits=limits)
    assert out.read_bytes() == data and opened.content_size == len(data)
    assert peek_envelope(env.read_bytes(), limits=limits).content_size == len(data)


def test_non_seekable_source_and_envelope(pki: Pki) -> None:
    data = b"x" * 5000
    sink = io.BytesIO()
    seal(io.BufferedReader(OneWay(data)), sink, [pki.rsa_recipient.cert], content_size=len(data))
    envelope = sink.getvalue()
    out = io.BytesIO()
    opened = open_envelope(
        io.BufferedReader(OneWay(envelope, 5)), out, pki.rsa_recipient.cert, pki.rsa_recipient.key
    )
    assert out.getvalue() == data and opened.content_size == len(data)
    assert peek_envelope(io.BufferedReader(OneWay(envelope))).content_size == len(data)


def test_seal_needs_size_for_non_seekable(pki: Pki) -> None:
    with pytest.raises(CmsError, match="content_size"):
        seal(io.BufferedReader(OneWay(b"abc")), io.BytesIO(), [pki.ec_recipient.cert])
    with pytest.raises(CmsError, match="ended"):
        seal(io.BytesIO(b"abc"), io.BytesIO(), [pki.ec_recipient.cert], content_size=10)
    with pytest.raises(CmsError, match="at least one"):
        seal(b"abc", io.BytesIO(), [])
    with pytest.raises(ValueError, match="content_size"):
        seal(b"abc", io.BytesIO(), [pki.ec_recipient.cert], content_size=-1)


def test_content_size_limits_what_is_read(pki: Pki) -> None:
    envelope = io.BytesIO()
    seal(io.BytesIO(b"abcdef"), envelope, [pki.ec_recipient.cert], content_size=3)
    assert open_envelope_bytes(envelope.getvalue(), pki.ec_recipient.cert, pki.ec_recipient.key)[0] == b"abc"


def test_signed_content_type_gets_the_rfc5083_content_type_attribute(pki: Pki) -> None:
    envelope = seal_bytes(b"signed", [pki.ec_recipient.cert], content_type=ID_SIGNED_DATA)
    info = peek_envelope(envelope)
    assert info.content_type == ID_SIGNED_DATA
    assert [a.type for a in info.auth_attributes] == ["1.2.840.113549.1.9.3"]
    assert open_envelope_bytes(envelope, pki.ec_recipient.cert, pki.ec_recipient.key)[0] == b"signed"


def test_auth_attributes_are_authenticated(pki: Pki) -> None:
    attr = cms.CMSAttribute({"type": "signing_time", "values": [cms.Time(name="utc_time", value=NOW)]})
    envelope = seal_bytes(b"attrs", [pki.ec_recipient.cert], auth_attributes=[attr])
    info = peek_envelope(envelope)
    assert [a.type for a in info.auth_attributes] == ["1.2.840.113549.1.9.5"]
    assert open_envelope_bytes(envelope, pki.ec_recipient.cert, pki.ec_recipient.key)[0] == b"attrs"
    # Flip a byte inside the authAttrs (the UTCTime digits): the tag no longer verifies.
    position = envelope.rindex(b"\x17\x0d") + 5
    tampered = envelope[:position] + bytes([envelope[position] ^ 1]) + envelope[position + 1 :]
    with pytest.raises(DecryptionError):
        open_envelope_bytes(tampered, pki.ec_recipient.cert, pki.ec_recipient.key)
    # A non-seekable source cannot supply the AAD before the content.
    with pytest.raises(UnsupportedCms, match="seekable"):
        open_envelope(
            io.BufferedReader(OneWay(envelope)), io.BytesIO(), pki.ec_recipient.cert, pki.ec_recipient.key
        )


def test_not_a_recipient(pki: Pki) -> None:
    envelope = seal_bytes(b"bid", [pki.ec_recipient.cert])
    with pytest.raises(NotARecipient):
        open_envelope_bytes(envelope, pki.other_ec_recipient.cert, pki.other_ec_recipient.key)


def test_wrong_private_key(pki: Pki) -> None:
    envelope = seal_bytes(b"bid", [pki.ec_recipient.cert])
    with pytest.raises(DecryptionError):
        open_envelope_bytes(envelope, pki.ec_recipient.cert, pki.other_ec_recipient.key)
    rsa_env = seal_bytes(b"bid", [pki.rsa_recipient.cert])
    with pytest.raises(DecryptionError):
        open_envelope_bytes(rsa_env, pki.rsa_recipient.cert, rsa.generate_private_key(65537, 2048))
    with pytest.raises(CmsError, match="EC private key"):
        open_envelope_bytes(envelope, pki.ec_recipient.cert, pki.rsa_recipient.key)
    with pytest.raises(CmsError, match="RSA private key"):
        open_envelope_bytes(rsa_env, pki.rsa_recipient.cert, pki.ec_recipient.key)


def test_tampering_is_detected_and_nothing_lands(pki: Pki, tmp_path: Path) -> None:
    data = b"0123456789" * 100
    envelope = seal_bytes(data, [pki.ec_recipient.cert])
    for position in (len(envelope) - 1, len(envelope) - 20, len(envelope) - 500):
        tampered = envelope[:position] + bytes([envelope[position] ^ 0x40]) + envelope[position + 1 :]
        with pytest.raises(DecryptionError):
            open_envelope_bytes(tampered, pki.ec_recipient.cert, pki.ec_recipient.key)
        out = tmp_path / "out.bin"
        with pytest.raises(DecryptionError):
            open_envelope_to_path(tampered, out, pki.ec_recipient.cert, pki.ec_recipient.key)
        assert not out.exists()
        assert list(tmp_path.iterdir()) == []


def test_nonce_tampering(pki: Pki) -> None:
    envelope = seal_bytes(b"bid", [pki.ec_recipient.cert])
    nonce = peek_envelope(envelope).nonce
    position = envelope.index(nonce)
    tampered = envelope[:position] + bytes([nonce[0] ^ 1]) + envelope[position + 1 :]
    with pytest.raises(DecryptionError):
        open_envelope_bytes(tampered, pki.ec_recipient.cert, pki.ec_recipient.key)


def test_trailing_garbage_and_truncation(pki: Pki) -> None:
    envelope = seal_bytes(b"bid", [pki.ec_recipient.cert])
    with pytest.raises(MalformedCms, match="trailing"):
        peek_envelope(envelope + b"\x00")
    with pytest.raises(MalformedCms, match="truncated"):
        peek_envelope(envelope[:-1])
    with pytest.raises(MalformedCms):
        open_envelope_bytes(envelope[:-1], pki.ec_recipient.cert, pki.ec_recipient.key)


def test_other_content_types_are_refused(pki: Pki) -> None:
    data_ci = cms.ContentInfo({"content_type": "data", "content": b"plain"}).dump()
    with pytest.raises(UnsupportedCms, match="not an AuthEnvelopedData"):
        peek_envelope(data_ci)


def _cert_with(
    pki: Pki, key: ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey, usage: tuple[str, ...]
) -> x509.Certificate:
    return _issue("odd", key, (pki.intermediate.cert, pki.intermediate.key), usage=usage)


def test_recipient_certificate_checks(pki: Pki) -> None:
    signing_only = _cert_with(pki, ec.generate_private_key(ec.SECP256R1()), ("digital_signature",))
    with pytest.raises(CmsError, match="keyAgreement"):
        seal_bytes(b"x", [signing_only])
    rsa_signing = _cert_with(pki, rsa.generate_private_key(65537, 2048), ("digital_signature",))
    with pytest.raises(CmsError, match="keyEncipherment"):
        seal_bytes(b"x", [rsa_signing])
    p384 = _cert_with(pki, ec.generate_private_key(ec.SECP384R1()), ("key_agreement",))
    with pytest.raises(UnsupportedCms, match="P-256"):
        seal_bytes(b"x", [p384])
    small = _cert_with(pki, rsa.generate_private_key(65537, 1024), ("key_encipherment",))
    with pytest.raises(UnsupportedCms, match="2048"):
        seal_bytes(b"x", [small])


def test_chunk_size_must_be_positive(pki: Pki) -> None:
    with pytest.raises(ValueError, match="chunk_size"):
        seal(b"x", io.BytesIO(), [pki.ec_recipient.cert], chunk_size=0)
    with pytest.raises(ValueError, match="positive"):
        Limits(max_size=0)
