"""Interoperability with the ``openssl cms`` command line (OpenSSL 3.x), both directions."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from asn1crypto import cms

from crypto.cms import (
    Signer,
    UnsupportedCms,
    open_envelope_bytes,
    open_envelope_to_path,
    peek_envelope,
    seal,
    seal_bytes,
    sign_attached,
    sign_attached_to,
    sign_detached,
    verify_signed,
)
from crypto.cms.asn1 import ID_SIGNED_DATA
from tests.crypto.cms.testpki import OPENSSL, Cred, Pki, needs_openssl

pytestmark = needs_openssl

CONTENT = b"sealbid interop \x00\x01\xff " * 300


def openssl(*args: str | Path, stdin: bytes | None = None) -> bytes:
    assert OPENSSL is not None
    result = subprocess.run([OPENSSL, *map(str, args)], input=stdin, capture_output=True, check=False)
    assert result.returncode == 0, result.stderr.decode()
    return result.stdout


def decrypt_with_openssl(envelope: Path, cred: Cred) -> bytes:
    return openssl(
        "cms", "-decrypt", "-binary", "-inform", "DER", "-in", envelope,
        "-inkey", cred.key_path, "-recip", cred.cert_path,
    )  # fmt: skip


# -- our envelopes, opened by openssl --------------------------------------------------------------


@pytest.mark.parametrize("who", ["ec_recipient", "rsa_recipient"])
def test_openssl_opens_our_envelope(pki: Pki, tmp_path: Path, who: str) -> None:
    cred = getattr(pki, who)
    envelope = tmp_path / "bid.p7m"
    envelope.write_bytes(seal_bytes(CONTENT, [cred.cert]))
    assert decrypt_with_openssl(envelope, cred) == CONTENT


def test_openssl_opens_our_multi_recipient_streamed_envelope(pki: Pki, tmp_path: Path) -> None:
    source, envelope = tmp_path / "bid.zip", tmp_path / "bid.p7m"
    source.write_bytes(CONTENT * 50)
    with source.open("rb") as s, envelope.open("wb") as e:
        seal(s, e, [pki.rsa_recipient.cert, pki.ec_recipient.cert], chunk_size=4096)
    for cred in (pki.ec_recipient, pki.rsa_recipient):
        assert decrypt_with_openssl(envelope, cred) == CONTENT * 50


def test_openssl_opens_our_ski_envelope(pki: Pki, tmp_path: Path) -> None:
    envelope = tmp_path / "bid.p7m"
    envelope.write_bytes(seal_bytes(CONTENT, [pki.ec_recipient.cert], identify_by="ski"))
    assert decrypt_with_openssl(envelope, pki.ec_recipient) == CONTENT


def test_openssl_cannot_parse_auth_attrs(pki: Pki, tmp_path: Path) -> None:
    """Documented limitation: OpenSSL 3's AuthEnvelopedData template mis-tags authAttrs ([2], not [1])."""
    envelope = tmp_path / "bid.p7m"
    envelope.write_bytes(seal_bytes(CONTENT, [pki.ec_recipient.cert], content_type=ID_SIGNED_DATA))
    result = subprocess.run(
        [OPENSSL or "openssl", "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(envelope),
         "-inkey", str(pki.ec_recipient.key_path), "-recip", str(pki.ec_recipient.cert_path)],
        capture_output=True, check=False,
    )  # fmt: skip
    if result.returncode == 0:  # a fixed OpenSSL: then it must also get the content right
        assert result.stdout == CONTENT


# -- openssl's envelopes, opened by us --------------------------------------------------------------

ENCRYPT_OPTIONS = {
    "ec-default-sha1kdf": ("ec_recipient", []),
    "ec-sha256kdf": ("ec_recipient", ["-keyopt", "ecdh_kdf_md:sha256"]),
    "ec-stream-ber": ("ec_recipient", ["-stream", "-keyopt", "ecdh_kdf_md:sha256"]),
    "rsa-oaep-sha256": (
        "rsa_recipient",
        [
            "-keyopt",
            "rsa_padding_mode:oaep",
            "-keyopt",
            "rsa_oaep_md:sha256",
            "-keyopt",
            "rsa_mgf1_md:sha256",
        ],
    ),
    "rsa-oaep-sha1": ("rsa_recipient", ["-keyopt", "rsa_padding_mode:oaep"]),
    "rsa-oaep-stream-ber": ("rsa_recipient", ["-stream", "-keyopt", "rsa_padding_mode:oaep"]),
}


@pytest.mark.parametrize("case", list(ENCRYPT_OPTIONS))
def test_we_open_openssl_envelopes(pki: Pki, tmp_path: Path, case: str) -> None:
    who, options = ENCRYPT_OPTIONS[case]
    cred = getattr(pki, who)
    source, envelope, out = tmp_path / "in.bin", tmp_path / "env.p7m", tmp_path / "out.bin"
    source.write_bytes(CONTENT)
    openssl(
        "cms", "-encrypt", "-aes-256-gcm", "-binary", "-outform", "DER", "-in", source, "-out", envelope,
        "-recip", cred.cert_path, *options,
    )  # fmt: skip
    info = peek_envelope(envelope.read_bytes())
    assert info.is_addressed_to(cred.cert) and info.key_size == 32
    opened = open_envelope_to_path(envelope, out, cred.cert, cred.key)
    assert out.read_bytes() == CONTENT and opened.content_size == len(CONTENT)


def test_openssl_default_rsa_pkcs1v15_needs_opt_in(pki: Pki, tmp_path: Path) -> None:
    source, envelope = tmp_path / "in.bin", tmp_path / "env.p7m"
    source.write_bytes(CONTENT)
    openssl(
        "cms", "-encrypt", "-aes-256-gcm", "-binary", "-outform", "DER", "-in", source, "-out", envelope,
        "-recip", pki.rsa_recipient.cert_path,
    )  # fmt: skip
    data = envelope.read_bytes()
    with pytest.raises(UnsupportedCms, match="PKCS1"):
        open_envelope_bytes(data, pki.rsa_recipient.cert, pki.rsa_recipient.key)
    plaintext, _ = open_envelope_bytes(
        data, pki.rsa_recipient.cert, pki.rsa_recipient.key, allow_rsa_pkcs1v15=True
    )
    assert plaintext == CONTENT


# -- signatures -------------------------------------------------------------------------------------

SIGNERS = {"ec": ("ec_signer", False), "rsa-pkcs1": ("rsa_signer", False), "rsa-pss": ("rsa_signer", True)}


def _signer(pki: Pki, case: str) -> tuple[Signer, Cred]:
    who, pss = SIGNERS[case]
    cred = getattr(pki, who)
    return Signer(cred.cert, cred.key, (pki.intermediate.cert,), rsa_pss=pss), cred


@pytest.mark.parametrize("case", list(SIGNERS))
def test_openssl_verifies_our_signatures(pki: Pki, tmp_path: Path, case: str) -> None:
    signer, _ = _signer(pki, case)
    content, attached, detached = tmp_path / "c.bin", tmp_path / "a.p7s", tmp_path / "d.p7s"
    content.write_bytes(CONTENT)
    attached.write_bytes(sign_attached(CONTENT, signer))
    detached.write_bytes(sign_detached(CONTENT, signer))
    verify = ("cms", "-verify", "-binary", "-inform", "DER", "-CAfile", pki.root.cert_path, "-purpose", "any")
    assert openssl(*verify, "-in", attached) == CONTENT
    assert openssl(*verify, "-in", detached, "-content", content) == CONTENT


def test_openssl_verifies_our_streamed_attached_signature(pki: Pki, tmp_path: Path) -> None:
    signer, _ = _signer(pki, "ec")
    content, attached = tmp_path / "c.bin", tmp_path / "a.p7s"
    content.write_bytes(CONTENT * 40)
    with content.open("rb") as s, attached.open("wb") as a:
        sign_attached_to(s, a, signer, chunk_size=1000)
    verify = ("cms", "-verify", "-binary", "-inform", "DER", "-CAfile", pki.root.cert_path, "-purpose", "any")
    assert openssl(*verify, "-in", attached) == CONTENT * 40


def test_openssl_rejects_our_signature_over_other_content(pki: Pki, tmp_path: Path) -> None:
    signer, _ = _signer(pki, "ec")
    content, detached = tmp_path / "c.bin", tmp_path / "d.p7s"
    content.write_bytes(CONTENT + b"!")
    detached.write_bytes(sign_detached(CONTENT, signer))
    result = subprocess.run(
        [OPENSSL or "openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", str(detached),
         "-content", str(content), "-CAfile", str(pki.root.cert_path), "-purpose", "any"],
        capture_output=True, check=False,
    )  # fmt: skip
    assert result.returncode != 0


@pytest.mark.parametrize("case", list(SIGNERS))
@pytest.mark.parametrize(
    "mode", ["detached", "detached-noattr", "detached-keyid", "attached", "attached-stream"]
)
def test_we_verify_openssl_signatures(pki: Pki, tmp_path: Path, case: str, mode: str) -> None:
    _, cred = _signer(pki, case)
    content = tmp_path / "c.bin"
    content.write_bytes(CONTENT)
    options = {
        "detached": [],
        "detached-noattr": ["-noattr"],  # no signed attributes: the signature is over the content digest
        "detached-keyid": ["-keyid"],  # sid = subjectKeyIdentifier
        "attached": ["-nodetach"],
        "attached-stream": ["-nodetach", "-stream"],
    }[mode]
    if SIGNERS[case][1]:
        if mode == "attached-stream":
            pytest.skip("openssl 3.0 fails to stream-sign with RSASSA-PSS (illegal zero content)")
        options += ["-keyopt", "rsa_padding_mode:pss"]
    signature = openssl(
        "cms", "-sign", "-binary", "-md", "sha256", "-outform", "DER", "-in", content,
        "-signer", cred.cert_path, "-inkey", cred.key_path, "-certfile", pki.intermediate.cert_path, *options,
    )  # fmt: skip
    detached = mode.startswith("detached")
    verdict = verify_signed(signature, detached_content=CONTENT if detached else None)
    assert verdict.ok and verdict.intact, verdict.reasons
    assert verdict.signer_certificate == cred.cert
    assert (verdict.signing_time is None) == (mode == "detached-noattr")
    assert verdict.content_size == len(CONTENT)
    if detached:
        tampered = verify_signed(signature, detached_content=CONTENT[:-1])
        assert not tampered.ok and not tampered.intact


def test_asn1crypto_agrees_with_our_attached_structure(pki: Pki) -> None:
    signer, _ = _signer(pki, "ec")
    parsed = cms.ContentInfo.load(sign_attached(CONTENT, signer), strict=True)
    assert parsed["content"]["encap_content_info"]["content"].native == CONTENT
