"""The cryptographic checks of one SignerInfo, and of an RFC 3161 token attached to it.

Attributes are looked up by dotted OID and decoded here, so the result does not depend on which
attribute specs other libraries (pyHanko) may have registered in asn1crypto's global tables.
"""

from __future__ import annotations

import hashlib
import hmac
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa, utils
from cryptography.x509.oid import ExtendedKeyUsageOID

from crypto.cms.asn1 import ID_CT_TST_INFO, hash_for
from crypto.cms.errors import ASN1_PARSE_ERRORS, CmsError, MalformedCms, UnsupportedCms
from crypto.cms.signed_reader import HASHABLE, ParsedSignedData, read_signed_data
from crypto.cms.signing import (
    OID_CONTENT_TYPE,
    OID_MESSAGE_DIGEST,
    OID_SIGNING_CERTIFICATE,
    OID_SIGNING_CERTIFICATE_V2,
    OID_SIGNING_TIME,
    OID_TIME_STAMP_TOKEN,
)
from crypto.cms.stream import Limits
from crypto.cms.timestamps import TimestampVerdict

__all__ = ["SignerCheck", "check_signer", "check_timestamp"]

_PARSE_ERRORS = ASN1_PARSE_ERRORS


@dataclass(frozen=True)
class SignerCheck:
    """Result of the digest and signature checks of the single SignerInfo."""

    intact: bool
    reasons: tuple[str, ...]
    signer: asn1_x509.Certificate | None
    digest_algorithm: str | None
    signature_algorithm: str | None
    signing_time: datetime | None
    signature: bytes
    timestamp_token: bytes | None
    has_ess_certificate: bool


def _find_signer(si: Any, certs: tuple[asn1_x509.Certificate, ...]) -> asn1_x509.Certificate | None:
    sid = si["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number":
            issuer = sid.chosen["issuer"]
            # Same DER is the same name; asn1crypto's comparison (string preparation) only otherwise.
            if cert.serial_number == sid.chosen["serial_number"].native and (
                cert.issuer.dump() == issuer.dump() or cert.issuer == issuer
            ):
                return cert
        elif cert.key_identifier == sid.chosen.native:
            return cert
    return None


def _attributes(attrs: Any, reasons: list[str], what: str) -> dict[str, list[bytes]]:
    out: dict[str, list[bytes]] = {}
    for attr in attrs:
        oid = attr["type"].dotted
        if oid in out:
            reasons.append(f"duplicate {what} attribute {oid}")
        values = cms.SetOfAny.load(attr["values"].dump())
        out.setdefault(oid, []).extend(v.dump() for v in values)
    return out


def _single(attrs: dict[str, list[bytes]], oid: str, name: str, reasons: list[str]) -> bytes | None:
    values = attrs.get(oid)
    if not values:
        return None
    if len(values) != 1:
        reasons.append(f"the {name} attribute must have exactly one value")
    return values[0]


def _check_ess(attrs: dict[str, list[bytes]], signer_der: bytes, reasons: list[str]) -> bool:
    v2 = _single(attrs, OID_SIGNING_CERTIFICATE_V2, "signingCertificateV2", reasons)
    v1 = _single(attrs, OID_SIGNING_CERTIFICATE, "signingCertificate", reasons)
    if v2 is not None:
        cert_id = tsp.SigningCertificateV2.load(v2)["certs"][0]
        name = cert_id["hash_algorithm"]["algorithm"].native
        expected = hashlib.new(name, signer_der).digest() if name in HASHABLE else None
        if expected is None or not hmac.compare_digest(expected, bytes(cert_id["cert_hash"].native)):
            reasons.append("signingCertificateV2 does not identify the signer certificate")
    elif v1 is not None:
        cert_hash = bytes(tsp.SigningCertificate.load(v1)["certs"][0]["cert_hash"].native)
        if not hmac.compare_digest(hashlib.sha1(signer_der).digest(), cert_hash):  # noqa: S324 - ESS v1 is SHA-1
            reasons.append("signingCertificate does not identify the signer certificate")
    return v1 is not None or v2 is not None


def _verify_signature(
    si: Any, cert: x509.Certificate, data: bytes, prehashed: str | None, digest_name: str
) -> str:
    """Empty string if the signature verifies, else the reason."""
    algorithm = si["signature_algorithm"]
    signature = bytes(si["signature"].native)
    try:
        kind = algorithm.signature_algo
    except ValueError:
        return f"unsupported signature algorithm {algorithm['algorithm'].dotted}"
    try:
        hash_name = algorithm.hash_algo if kind != "rsassa_pss" else digest_name
    except ValueError:
        hash_name = digest_name
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm):
        return "the signer certificate's public key is unusable"
    digest = hash_for(prehashed or hash_name)
    chosen = utils.Prehashed(digest) if prehashed else digest
    try:
        if kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(chosen))
        elif kind == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), chosen)
        elif kind == "rsassa_pss" and isinstance(key, rsa.RSAPublicKey):
            params = algorithm["parameters"]
            mgf = params["mask_gen_algorithm"]
            if mgf["algorithm"].native != "mgf1" or params["trailer_field"].native not in (
                1,
                "trailer_field_bc",
            ):
                return "unsupported RSASSA-PSS parameters"
            pss_hash = hash_for(params["hash_algorithm"]["algorithm"].native)
            pss = padding.PSS(
                padding.MGF1(hash_for(mgf["parameters"]["algorithm"].native)), params["salt_length"].native
            )
            key.verify(signature, data, pss, utils.Prehashed(pss_hash) if prehashed else pss_hash)
        else:
            return f"signature algorithm {kind} does not fit the signer's {type(key).__name__}"
    except InvalidSignature:
        return "the signature does not verify"
    except UnsupportedCms as exc:
        return str(exc)
    return ""


def check_signer(parsed: ParsedSignedData, digests: dict[str, bytes]) -> SignerCheck:
    """Check the (single) SignerInfo against the computed content digests."""
    if len(parsed.signer_infos) == 0:
        return SignerCheck(
            False, ("the SignedData has no SignerInfo",), None, None, None, None, b"", None, False
        )
    if len(parsed.signer_infos) > 1:
        raise UnsupportedCms("only SignedData with exactly one signer is supported")
    try:
        return _check(parsed, digests, parsed.signer_infos[0])
    except CmsError:
        raise
    except _PARSE_ERRORS as exc:
        raise MalformedCms(f"SignerInfo does not parse: {exc}") from None


def _check(parsed: ParsedSignedData, digests: dict[str, bytes], si: Any) -> SignerCheck:
    reasons: list[str] = []
    signer = _find_signer(si, parsed.certificates)
    digest_name = str(si["digest_algorithm"]["algorithm"].native)
    signature = bytes(si["signature"].native)
    sig_alg = str(si["signature_algorithm"]["algorithm"].native)
    signing_time = token = None
    has_ess = False
    unsigned = si["unsigned_attrs"]
    if not isinstance(unsigned, core.Void):
        tokens = _attributes(unsigned, [], "unsigned").get(OID_TIME_STAMP_TOKEN)
        token = tokens[0] if tokens else None
    digest = digests.get(digest_name)
    if digest_name not in HASHABLE:
        reasons.append(f"unsupported digest algorithm {digest_name}")
    elif digest is None:
        reasons.append(f"digest algorithm {digest_name} is not listed in digestAlgorithms")
    if signer is None:
        reasons.append("the signer certificate is not included")
    signed = si["signed_attrs"]
    data, prehashed = b"", None
    if isinstance(signed, core.Void):
        data, prehashed = digest or b"", digest_name
    else:
        attrs = _attributes(signed, reasons, "signed")
        ct = _single(attrs, OID_CONTENT_TYPE, "content-type", reasons)
        if ct is None or core.ObjectIdentifier.load(ct).dotted != parsed.content_type:
            reasons.append("the content-type attribute is missing or does not match eContentType")
        md = _single(attrs, OID_MESSAGE_DIGEST, "message-digest", reasons)
        if md is None:
            reasons.append("the message-digest attribute is missing")
        elif digest is not None and not hmac.compare_digest(bytes(core.OctetString.load(md).native), digest):
            reasons.append("message digest mismatch: the content was altered")
        st = _single(attrs, OID_SIGNING_TIME, "signing-time", reasons)
        if st is not None:
            signing_time = cms.Time.load(st).native
        if signer is not None:
            has_ess = _check_ess(attrs, signer.dump(), reasons)
        data = b"\x31" + signed.dump()[1:]
    if signer is not None and digest is not None and digest_name in HASHABLE:
        problem = _verify_signature(si, parsed.x509_of(signer), data, prehashed, digest_name)
        if problem:
            reasons.append(problem)
    return SignerCheck(
        intact=not reasons,
        reasons=tuple(reasons),
        signer=signer,
        digest_algorithm=digest_name,
        signature_algorithm=sig_alg,
        signing_time=signing_time,
        signature=signature,
        timestamp_token=token,
        has_ess_certificate=has_ess,
    )


def _token_failure(reason: str) -> TimestampVerdict:
    return TimestampVerdict(False, False, None, None, None, None, None, None, None, (reason,))


def check_timestamp(token_der: bytes, signature: bytes, limits: Limits | None) -> TimestampVerdict:
    """Verify an RFC 3161 TimeStampToken and whether its imprint is the hash of ``signature``."""
    content = io.BytesIO()
    try:
        parsed = read_signed_data(io.BytesIO(token_der), limits=limits, content_sink=content)
        check = check_signer(parsed, parsed.digests)
    except CmsError as exc:
        return _token_failure(f"the time-stamp token does not parse: {exc}")
    reasons = list(check.reasons)
    if parsed.content_type != ID_CT_TST_INFO:
        return _token_failure("the time-stamp token does not carry a TSTInfo")
    try:
        tst = tsp.TSTInfo.load(content.getvalue(), strict=True)
        imprint = tst["message_imprint"]
        hash_name = str(imprint["hash_algorithm"]["algorithm"].native)
        hashed = bytes(imprint["hashed_message"].native)
        gen_time = tst["gen_time"].native
        policy = str(tst["policy"].dotted)
        serial = int(tst["serial_number"].native)
    except _PARSE_ERRORS as exc:
        return _token_failure(f"TSTInfo does not parse: {exc}")
    covers = hash_name in HASHABLE and hmac.compare_digest(hashlib.new(hash_name, signature).digest(), hashed)
    if not covers:
        reasons.append("the time-stamp imprint is not the hash of this signature")
    tsa = parsed.x509_of(check.signer) if check.signer is not None else None
    if tsa is not None and not _is_tsa(tsa):
        reasons.append("the TSA certificate lacks the critical extendedKeyUsage timeStamping")
    if check.signer is not None and not check.has_ess_certificate:
        reasons.append("the token has no ESS signing-certificate attribute (RFC 3161)")
    intact = check.intact and not any("TSA certificate" in r or "ESS" in r for r in reasons)
    return TimestampVerdict(
        intact=intact,
        covers_signature=covers,
        gen_time=gen_time,
        tsa_certificate=tsa,
        policy=policy,
        serial_number=serial,
        hash_algorithm=hash_name,
        trusted=None,
        trust_message=None,
        reasons=tuple(reasons),
    )


def _is_tsa(cert: x509.Certificate) -> bool:
    try:
        ext = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    except (x509.ExtensionNotFound, ValueError):
        return False
    return ext.critical and ExtendedKeyUsageOID.TIME_STAMPING in ext.value
