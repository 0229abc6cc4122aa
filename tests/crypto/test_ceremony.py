"""The opening-key ceremony: round trips, thresholds, tampering, malformed bundles, openssl interop."""

from __future__ import annotations

import base64
import itertools
import json
import subprocess
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from crypto.ceremony import (
    CeremonyError,
    CeremonyOutput,
    CustodianRecipient,
    ShareCommitmentMismatch,
    SharePlaintext,
    check_opening_certificate,
    check_share,
    open_share,
    parse_bundle,
    rebuild_opening_key,
    run_ceremony,
    sha256_hex,
    verify_bundle,
)
from crypto.cms import Signer, open_envelope_bytes, seal_bytes, sign_detached
from crypto.pki import BuiltPki, Credential
from crypto.shamir import Share, combine_shares
from tests.crypto.cms.testpki import OPENSSL, needs_openssl
from tests.identity.conftest import identity_pki

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
DEADLINE = NOW + timedelta(days=25)
TENDER = str(uuid.UUID("0196f0e8-1234-7abc-8def-0123456789ab"))
CUSTODIANS = ("custodian-1", "custodian-2", "custodian-3")


@pytest.fixture(scope="module")
def pki() -> BuiltPki:
    return identity_pki()


def lead_signer(pki: BuiltPki, name: str = "custodian-1") -> Signer:
    credential = pki.signing(name)
    return Signer(credential.certificate, credential.private_key, chain=tuple(pki.chain(credential.name)))  # type: ignore[arg-type]


def recipients(pki: BuiltPki, names: tuple[str, ...] = CUSTODIANS) -> list[CustodianRecipient]:
    return [
        CustodianRecipient(i, f"identity-{name}", pki.encryption(name).certificate)
        for i, name in enumerate(names, start=1)
    ]


def ceremony(pki: BuiltPki, *, names: tuple[str, ...] = CUSTODIANS, k: int = 2) -> CeremonyOutput:
    return run_ceremony(
        tender_id=TENDER,
        threshold=k,
        custodians=recipients(pki, names),
        lead=lead_signer(pki),
        not_before=NOW - timedelta(hours=1),
        not_after=DEADLINE + timedelta(days=30),
        now=NOW,
    )


@pytest.fixture(scope="module")
def output(pki: BuiltPki) -> CeremonyOutput:
    return ceremony(pki)


def decrypt_all(
    pki: BuiltPki, output: CeremonyOutput, names: tuple[str, ...] = CUSTODIANS
) -> list[SharePlaintext]:
    bundle = parse_bundle(output.bundle)
    opened = []
    for entry, name in zip(bundle.shares, names, strict=True):
        enc: Credential = pki.encryption(name)
        opened.append(
            open_share(
                entry.encrypted_share,
                enc.certificate,
                enc.private_key,  # type: ignore[arg-type]
                tender_id=TENDER,
                index=entry.index,
                opening_certificate_sha256=bundle.opening_certificate_sha256,
            )
        )
    return opened


# -- the happy path ---------------------------------------------------------------------------------


def test_bundle_verifies_and_describes_the_ceremony(pki: BuiltPki, output: CeremonyOutput) -> None:
    verified = verify_bundle(
        output.bundle, output.signature, tender_id=TENDER, valid_at=NOW, valid_until=DEADLINE
    )
    bundle = verified.bundle
    assert (bundle.tender, bundle.threshold, bundle.share_count) == (TENDER, 2, 3)
    assert bundle.created == NOW
    assert bundle.opening_certificate_sha256 == sha256_hex(bundle.opening_certificate_der)
    assert [s.index for s in bundle.shares] == [1, 2, 3]
    assert [s.custodian for s in bundle.shares] == [f"identity-{n}" for n in CUSTODIANS]
    assert [s.custodian_certificate_sha256 for s in bundle.shares] == [
        sha256_hex(pki.encryption(n).certificate.public_bytes(Encoding.DER)) for n in CUSTODIANS
    ]
    assert verified.signer_certificate == pki.signing("custodian-1").certificate
    assert bundle.lead_custodian_certificate_sha256 == pki.signing("custodian-1").fingerprint
    document = json.loads(output.bundle)
    assert document["type"] == "sealbid.opening-key.v1"
    assert bytes(rfc8785.dumps(document)) == output.bundle


def test_opening_certificate_is_a_p256_key_agreement_certificate_for_the_tender(
    output: CeremonyOutput,
) -> None:
    certificate = parse_bundle(output.bundle).opening_certificate
    key = certificate.public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1)
    usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.key_agreement and not usage.digital_signature and not usage.key_cert_sign
    names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == [f"urn:uuid:{TENDER}"]
    assert TENDER in certificate.subject.rfc4514_string()
    assert (
        certificate.not_valid_before_utc
        <= NOW
        < DEADLINE + timedelta(days=30)
        <= certificate.not_valid_after_utc
    )


def test_each_custodian_opens_only_its_own_share_and_it_matches_the_commitment(
    pki: BuiltPki, output: CeremonyOutput
) -> None:
    bundle = parse_bundle(output.bundle)
    shares = decrypt_all(pki, output)
    for share, entry in zip(shares, bundle.shares, strict=True):
        check_share(share, entry.commitment)
        assert share.threshold == 2 and share.tender == TENDER
    other = pki.encryption("custodian-2")
    with pytest.raises(CeremonyError, match="cannot decrypt share 1"):
        open_share(
            bundle.shares[0].encrypted_share,
            other.certificate,
            other.private_key,  # type: ignore[arg-type]
            tender_id=TENDER,
            index=1,
        )


@pytest.mark.parametrize("chosen", [*itertools.combinations(range(3), 2), (0, 1, 2)])
def test_any_k_shares_rebuild_a_key_that_opens_bids_sealed_to_the_opening_certificate(
    pki: BuiltPki, output: CeremonyOutput, chosen: tuple[int, ...]
) -> None:
    bundle = parse_bundle(output.bundle)
    shares = decrypt_all(pki, output)
    key = rebuild_opening_key(
        [shares[i] for i in chosen], bundle.opening_certificate, commitments=bundle.commitments()
    )
    bid = b"signed bid package " * 100
    envelope = seal_bytes(bid, [bundle.opening_certificate])
    plaintext, _ = open_envelope_bytes(envelope, bundle.opening_certificate, key)
    assert plaintext == bid


def test_k_minus_one_shares_do_not_rebuild(pki: BuiltPki, output: CeremonyOutput) -> None:
    bundle = parse_bundle(output.bundle)
    shares = decrypt_all(pki, output)
    with pytest.raises(CeremonyError, match="2 shares are needed"):
        rebuild_opening_key(shares[:1], bundle.opening_certificate)


def test_three_of_five_with_rsa_and_ec_custodians(pki: BuiltPki) -> None:
    names = ("custodian-1", "custodian-2", "custodian-3", "tenderer-1", "tenderer-5")  # tenderer-5: RSA
    out = ceremony(pki, names=names, k=3)
    bundle = parse_bundle(out.bundle)
    shares = decrypt_all(pki, out, names)
    public_key = bundle.opening_certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    for chosen in itertools.combinations(shares, 3):
        key = rebuild_opening_key(list(chosen), bundle.opening_certificate, commitments=bundle.commitments())
        assert key.public_key() == public_key
    for pair in itertools.combinations(shares, 2):
        # two points of a degree-2 polynomial interpolate to some other scalar, never the key
        wrong = combine_shares([s.share for s in pair])
        assert ec.derive_private_key(wrong, ec.SECP256R1()).public_key() != public_key
        with pytest.raises(CeremonyError, match="3 shares are needed"):
            rebuild_opening_key(list(pair), bundle.opening_certificate)


def test_a_tampered_share_is_named_by_its_commitment(pki: BuiltPki, output: CeremonyOutput) -> None:
    bundle = parse_bundle(output.bundle)
    good, bad = decrypt_all(pki, output)[:2]
    tampered = SharePlaintext(
        bad.tender,
        bad.index,
        bad.threshold,
        (bad.value + 1) % (1 << 255),
        bad.salt,
        bad.opening_certificate_sha256,
    )
    with pytest.raises(ShareCommitmentMismatch) as caught:
        rebuild_opening_key([good, tampered], bundle.opening_certificate, commitments=bundle.commitments())
    assert caught.value.index == 2
    assert caught.value.commitment == bundle.shares[1].commitment
    assert bundle.shares[1].commitment in str(caught.value)
    with pytest.raises(CeremonyError, match="some share is wrong"):
        rebuild_opening_key([good, tampered], bundle.opening_certificate)


def test_a_share_with_another_salt_does_not_match(pki: BuiltPki, output: CeremonyOutput) -> None:
    bundle = parse_bundle(output.bundle)
    share = decrypt_all(pki, output)[0]
    moved = SharePlaintext(
        share.tender,
        share.index,
        share.threshold,
        share.value,
        b"\x00" * 32,
        share.opening_certificate_sha256,
    )
    with pytest.raises(ShareCommitmentMismatch):
        check_share(moved, bundle.shares[0].commitment)
    with pytest.raises(ShareCommitmentMismatch):
        check_share(share, "zz")


def test_open_share_checks_tender_index_and_certificate(pki: BuiltPki, output: CeremonyOutput) -> None:
    bundle = parse_bundle(output.bundle)
    enc = pki.encryption("custodian-1")
    args: dict[str, Any] = {"index": 1, "tender_id": TENDER}
    envelope = bundle.shares[0].encrypted_share
    with pytest.raises(CeremonyError, match="not share 2"):
        open_share(envelope, enc.certificate, enc.private_key, **{**args, "index": 2})  # type: ignore[arg-type]
    with pytest.raises(CeremonyError, match="not other"):
        open_share(envelope, enc.certificate, enc.private_key, **{**args, "tender_id": "other"})  # type: ignore[arg-type]
    with pytest.raises(CeremonyError, match="another opening certificate"):
        open_share(envelope, enc.certificate, enc.private_key, **args, opening_certificate_sha256="0" * 64)  # type: ignore[arg-type]


def test_share_plaintext_never_shows_its_secret_in_repr(pki: BuiltPki, output: CeremonyOutput) -> None:
    share = decrypt_all(pki, output)[0]
    assert format(share.value, "x") not in repr(share) and share.salt.hex() not in repr(share)


def test_rebuild_refuses_mixed_and_duplicate_shares(pki: BuiltPki, output: CeremonyOutput) -> None:
    bundle = parse_bundle(output.bundle)
    first = decrypt_all(pki, output)[0]
    other = decrypt_all(pki, ceremony(pki))[1]
    with pytest.raises(CeremonyError, match="another opening certificate"):
        rebuild_opening_key([first, other], bundle.opening_certificate)
    with pytest.raises(CeremonyError, match="twice"):
        rebuild_opening_key([first, first], bundle.opening_certificate)
    with pytest.raises(CeremonyError, match="no shares"):
        rebuild_opening_key([], bundle.opening_certificate)


# -- ceremony inputs --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "order", "message"),
    [
        (1, (1, 2, 3), "need 2 <= k"),
        (4, (1, 2, 3), "need 2 <= k"),
        (2, (1, 3, 2), "share-index order"),
        (2, (1, 2, 4), "share-index order"),
    ],
)
def test_ceremony_refuses_bad_parameters(pki: BuiltPki, k: int, order: tuple[int, ...], message: str) -> None:
    custodians = [
        CustodianRecipient(i, r.custodian, r.encryption_certificate)
        for i, r in zip(order, recipients(pki), strict=True)
    ]
    with pytest.raises(CeremonyError, match=message):
        run_ceremony(
            tender_id=TENDER, threshold=k, custodians=custodians, lead=lead_signer(pki),
            not_before=NOW, not_after=DEADLINE, now=NOW,
        )  # fmt: skip


def test_ceremony_refuses_a_custodian_twice_and_an_unusable_certificate(pki: BuiltPki) -> None:
    base = recipients(pki)
    twice = [base[0], CustodianRecipient(2, base[0].custodian, base[1].encryption_certificate), base[2]]
    same_cert = [base[0], CustodianRecipient(2, "x", base[0].encryption_certificate), base[2]]
    signing_only = [base[0], CustodianRecipient(2, "x", pki.signing("custodian-2").certificate), base[2]]
    for custodians, message in (
        (twice, "listed twice"),
        (same_cert, "same encryption"),
        (signing_only, "cannot encrypt share 2"),
    ):
        with pytest.raises(CeremonyError, match=message):
            run_ceremony(
                tender_id=TENDER, threshold=2, custodians=custodians, lead=lead_signer(pki),
                not_before=NOW, not_after=DEADLINE, now=NOW,
            )  # fmt: skip


# -- malformed and forged bundles -------------------------------------------------------------------


def edited(output: CeremonyOutput, change: Any) -> bytes:
    document = json.loads(output.bundle)
    change(document)
    return bytes(rfc8785.dumps(document))


def _set(path: str, value: Any) -> Any:
    def change(document: dict[str, Any]) -> None:
        target: Any = document
        keys = path.split(".")
        for key in keys[:-1]:
            target = target[int(key)] if isinstance(target, list) else target[key]
        target[keys[-1]] = value

    return change


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (_set("type", "sealbid.opening-key.v0"), "bundle type"),
        (_set("threshold", 4), "larger than the share count"),
        (_set("threshold", 1), "at least 2"),
        (_set("threshold", "2"), "threshold must be an integer"),
        (_set("share_count", 4), "exactly 4 shares"),
        (_set("shares.1.index", 1), "index 1 appears twice"),
        (_set("shares.1.index", 3), "listed by index"),
        (_set("shares.0.commitment", "AB" * 32), "commitment must be 64 lower-case hex"),
        (_set("shares.0.commitment", "ab" * 31), "commitment must be 64 lower-case hex"),
        (_set("shares.0.custodian", "identity-custodian-2"), "custodian appears twice"),
        (_set("shares.0.encrypted_share", "not base64!"), "not valid base64"),
        (
            _set("shares.0.encrypted_share", base64.b64encode(b"0\x03\x02\x01\x00").decode()),
            "not a CMS AuthEnvelopedData",
        ),
        (_set("shares.0.extra", 1), "unknown fields extra"),
        (_set("opening_certificate_sha256", "0" * 64), "not the SHA-256 of opening_certificate"),
        (_set("created", "2026-03-02 08:00:00"), "created must be a UTC time"),
        (_set("lead_custodian_certificate_sha256", None), "lead_custodian_certificate_sha256 must be"),
        (lambda d: d.pop("tender"), "lacks tender"),
        (lambda d: d["shares"].pop(), "exactly 3 shares"),
    ],
)
def test_malformed_bundles_are_refused_with_the_reason(
    output: CeremonyOutput, change: Any, message: str
) -> None:
    with pytest.raises(CeremonyError, match=message):
        parse_bundle(edited(output, change))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xff\xfe", "not UTF-8 JSON"),
        (b"[]", "not a JSON object"),
        (b"{" * 100_000, "not UTF-8 JSON"),
        (b" " * (1 << 21), "larger than"),
    ],
)
def test_garbage_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(CeremonyError, match=message):
        parse_bundle(data)


def test_non_canonical_bundle_is_refused(output: CeremonyOutput) -> None:
    pretty = json.dumps(json.loads(output.bundle), indent=1).encode()
    with pytest.raises(CeremonyError, match="canonical"):
        parse_bundle(pretty)


def test_a_changed_bundle_no_longer_matches_its_signature(pki: BuiltPki, output: CeremonyOutput) -> None:
    changed = edited(output, _set("threshold", 3))
    with pytest.raises(CeremonyError, match="does not verify"):
        verify_bundle(changed, output.signature)


def test_a_bundle_signed_by_someone_else_than_the_named_lead_is_refused(
    pki: BuiltPki, output: CeremonyOutput
) -> None:
    with pytest.raises(CeremonyError, match="another certificate than the lead"):
        verify_bundle(output.bundle, sign_detached(output.bundle, lead_signer(pki, "custodian-2")))
    with pytest.raises(CeremonyError, match="not a valid CMS"):
        verify_bundle(output.bundle, b"\x30\x03\x02\x01\x00")


def test_verify_bundle_checks_tender_validity_and_trust(output: CeremonyOutput) -> None:
    with pytest.raises(CeremonyError, match="not other"):
        verify_bundle(output.bundle, output.signature, tender_id="other")
    with pytest.raises(CeremonyError, match="before"):
        verify_bundle(output.bundle, output.signature, valid_until=DEADLINE + timedelta(days=365))
    with pytest.raises(CeremonyError, match="not at"):
        verify_bundle(output.bundle, output.signature, valid_at=NOW - timedelta(days=2))

    def distrust(certificate: x509.Certificate, at: datetime | None) -> Any:
        return Distrusted()

    with pytest.raises(CeremonyError, match="not trusted"):
        verify_bundle(output.bundle, output.signature, check_certificate=distrust)


def test_opening_certificate_checks(pki: BuiltPki, output: CeremonyOutput) -> None:
    with pytest.raises(CeremonyError, match="P-256"):
        check_opening_certificate(pki.encryption("tenderer-5").certificate, TENDER)
    with pytest.raises(CeremonyError, match="self-signature"):
        check_opening_certificate(pki.encryption("custodian-1").certificate, TENDER)


@dataclass(frozen=True)
class Distrusted:
    ok: bool = False
    message: str = "revoked by its CA"


# -- interoperability -------------------------------------------------------------------------------


@needs_openssl
def test_openssl_opens_a_bid_with_the_reassembled_key(
    pki: BuiltPki, output: CeremonyOutput, tmp_path: Path
) -> None:
    bundle = parse_bundle(output.bundle)
    shares = decrypt_all(pki, output)
    key = rebuild_opening_key(shares[1:], bundle.opening_certificate, commitments=bundle.commitments())
    key_path, cert_path, bid_path = tmp_path / "opening.key", tmp_path / "opening.pem", tmp_path / "bid.p7m"
    key_path.write_bytes(key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    cert_path.write_bytes(bundle.opening_certificate.public_bytes(Encoding.PEM))
    bid = "投标文件 sealed bid \x00\xff".encode() * 50
    bid_path.write_bytes(seal_bytes(bid, [bundle.opening_certificate]))
    assert OPENSSL is not None
    result = subprocess.run(
        [OPENSSL, "cms", "-decrypt", "-binary", "-inform", "DER", "-in", str(bid_path),
         "-inkey", str(key_path), "-recip", str(cert_path)],
        capture_output=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout == bid


def test_share_encoding_round_trip(pki: BuiltPki, output: CeremonyOutput) -> None:
    share = decrypt_all(pki, output)[0]
    assert SharePlaintext.from_bytes(share.to_bytes()) == share
    assert share.share == Share(1, share.value)
    document = json.loads(share.to_bytes())
    assert set(document) == {
        "type",
        "tender",
        "index",
        "threshold",
        "share",
        "salt",
        "opening_certificate_sha256",
    }
    document["share"] = format(2**256 - 1, "064x")
    with pytest.raises(CeremonyError, match="outside the P-256 group order"):
        SharePlaintext.from_bytes(bytes(rfc8785.dumps(document)))


def _self_signed(
    *, usage: x509.KeyUsage | None, ca: bool = False, uri: str | None = None
) -> x509.Certificate:
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "x")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - timedelta(days=1))
        .not_valid_after(NOW + timedelta(days=90))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if usage is not None:
        builder = builder.add_extension(usage, critical=True)
    if uri is not None:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri)]), critical=False
        )
    return builder.sign(key, hashes.SHA256())


def _usage(**flags: bool) -> x509.KeyUsage:
    names = ("digital_signature", "content_commitment", "key_encipherment", "data_encipherment",
             "key_agreement", "key_cert_sign", "crl_sign", "encipher_only", "decipher_only")  # fmt: skip
    return x509.KeyUsage(**{n: flags.get(n, False) for n in names})


@pytest.mark.parametrize(
    ("certificate", "message"),
    [
        (
            _self_signed(usage=_usage(digital_signature=True, key_agreement=True), uri=f"urn:uuid:{TENDER}"),
            "keyAgreement only",
        ),
        (_self_signed(usage=None, uri=f"urn:uuid:{TENDER}"), "no KeyUsage"),
        (
            _self_signed(usage=_usage(key_agreement=True), ca=True, uri=f"urn:uuid:{TENDER}"),
            "must not be a CA",
        ),
        (_self_signed(usage=_usage(key_agreement=True)), "no SubjectAlternativeName"),
        (
            _self_signed(
                usage=_usage(key_agreement=True), uri="urn:uuid:00000000-0000-0000-0000-000000000000"
            ),
            "not made for tender",
        ),
    ],
)
def test_opening_certificates_that_are_not_fit_are_refused(
    certificate: x509.Certificate, message: str
) -> None:
    with pytest.raises(CeremonyError, match=message):
        check_opening_certificate(certificate, TENDER)
