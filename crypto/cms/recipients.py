"""RecipientInfo: wrapping the content-encryption key for a certificate, and unwrapping it again.

Two kinds are made (RFC 5652 section 6.2):

* **kari** (KeyAgreeRecipientInfo, version 3) for EC P-256 certificates: ephemeral-static ECDH
  (RFC 5753 ``dhSinglePass-stdDH-sha256kdf-scheme`` 1.3.132.1.11.1), the originator is the ephemeral
  public key (``originatorKey``, id-ecPublicKey with absent parameters, uncompressed point), the KEK is
  the ANSI X9.63 KDF (SHA-256) of the shared secret with ``ECC-CMS-SharedInfo``, and the CEK is wrapped
  with id-aes256-wrap (RFC 3394, parameters absent). This is what ``openssl cms`` produces with
  ``-keyopt ecdh_kdf_md:sha256``.
* **ktri** (KeyTransRecipientInfo, version 0) for RSA certificates: RSAES-OAEP with SHA-256 and
  MGF1-SHA-256, empty label.

Recipients are identified by issuerAndSerialNumber (or subjectKeyIdentifier on request). Opening also
accepts the other stdDH KDF hashes (openssl's default is SHA-1), AES-128/192 key wrap, any OAEP hash, a
subjectKeyIdentifier rid, and - only when explicitly allowed - RSAES-PKCS1-v1_5 with implicit
rejection (a bad padding yields a random key, so the failure surfaces as a tag mismatch).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

from asn1crypto import algos, cms, core, keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.kdf.x963kdf import X963KDF
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

from crypto.cms.asn1 import (
    AES_WRAP_OIDS,
    ECDH_STD_KDF_SCHEMES,
    ID_DH_SINGLE_PASS_STD_SHA256KDF,
    ID_EC_PUBLIC_KEY,
    KeyWrapAlgorithm,
    ecc_cms_shared_info,
    hash_for,
    issuer_and_serial,
    subject_key_identifier,
    to_asn1_cert,
)
from crypto.cms.errors import (
    ASN1_PARSE_ERRORS,
    CmsError,
    DecryptionError,
    MalformedCms,
    NotARecipient,
    UnsupportedCms,
)

__all__ = ["DecryptionKey", "RecipientId", "describe_recipients", "make_recipient_info", "unwrap_cek"]

DecryptionKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
"""A recipient's private key."""

_MIN_RSA_BITS = 2048


@dataclass(frozen=True, slots=True)
class RecipientId:
    """Who a RecipientInfo (or one RecipientEncryptedKey of a kari) is addressed to.

    ``kind`` is ``ktri``, ``kari`` or - for kinds this module cannot open - ``kekri``, ``pwri``, ``ori``.
    ``issuer`` is RFC 4514 text for display; matching uses ``issuer_der``.
    """

    kind: str
    key_encryption_algorithm: str
    issuer: str | None = None
    issuer_der: bytes | None = None
    serial_number: int | None = None
    subject_key_identifier: bytes | None = None

    def matches(self, certificate: x509.Certificate) -> bool:
        """Whether this identifies ``certificate`` (by issuer and serial, or by subjectKeyIdentifier)."""
        if self.subject_key_identifier is not None:
            return subject_key_identifier(certificate) == self.subject_key_identifier
        if self.issuer_der is None or self.serial_number != certificate.serial_number:
            return False
        theirs = certificate.issuer.public_bytes()
        if theirs == self.issuer_der:
            return True  # the same DER is the same name; asn1crypto's comparison only otherwise
        try:
            ours = asn1_x509.Name.load(self.issuer_der)
            return bool(ours == to_asn1_cert(certificate).issuer)
        except ASN1_PARSE_ERRORS:
            return False


# -- making ----------------------------------------------------------------------------------------


def make_recipient_info(
    certificate: x509.Certificate,
    cek: bytes,
    *,
    identify_by: Literal["issuer_serial", "ski"] = "issuer_serial",
) -> cms.RecipientInfo:
    """A RecipientInfo carrying ``cek`` for ``certificate`` (EC P-256 -> kari, RSA -> ktri)."""
    public_key = certificate.public_key()
    usage = _key_usage(certificate)
    if identify_by == "ski":
        ski = subject_key_identifier(certificate)
        if ski is None:
            raise CmsError("the recipient certificate has no subjectKeyIdentifier")
    if isinstance(public_key, ec.EllipticCurvePublicKey):
        if not isinstance(public_key.curve, ec.SECP256R1):
            raise UnsupportedCms(f"recipient curve {public_key.curve.name} is not supported (P-256 only)")
        if usage is not None and not usage.key_agreement:
            raise CmsError("the recipient certificate's keyUsage does not allow keyAgreement")
        rid = (
            cms.KeyAgreementRecipientIdentifier(name="r_key_id", value={"subject_key_identifier": ski})
            if identify_by == "ski"
            else cms.KeyAgreementRecipientIdentifier(
                name="issuer_and_serial_number", value=issuer_and_serial(certificate)
            )
        )
        return _make_kari(public_key, cek, rid)
    if isinstance(public_key, rsa.RSAPublicKey):
        if public_key.key_size < _MIN_RSA_BITS:
            raise UnsupportedCms(f"RSA recipient keys must have at least {_MIN_RSA_BITS} bits")
        if usage is not None and not usage.key_encipherment:
            raise CmsError("the recipient certificate's keyUsage does not allow keyEncipherment")
        rid_t = (
            cms.RecipientIdentifier(name="subject_key_identifier", value=ski)
            if identify_by == "ski"
            else cms.RecipientIdentifier(
                name="issuer_and_serial_number", value=issuer_and_serial(certificate)
            )
        )
        return _make_ktri(public_key, cek, rid_t)
    raise UnsupportedCms(f"unsupported recipient key type {type(public_key).__name__}")


def _key_usage(certificate: x509.Certificate) -> x509.KeyUsage | None:
    try:
        return certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return None


def _make_kari(
    public_key: ec.EllipticCurvePublicKey, cek: bytes, rid: cms.KeyAgreementRecipientIdentifier
) -> cms.RecipientInfo:
    ephemeral = ec.generate_private_key(public_key.curve)
    shared = ephemeral.exchange(ec.ECDH(), public_key)
    wrap_der = cms.KeyEncryptionAlgorithm({"algorithm": "aes256_wrap"}).dump()
    kek = X963KDF(hash_for("sha256"), 32, ecc_cms_shared_info(wrap_der, None, 256)).derive(shared)
    point = ephemeral.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    originator = keys.PublicKeyInfo({"algorithm": {"algorithm": "ec"}, "public_key": point})
    kari = cms.KeyAgreeRecipientInfo(
        {
            "version": "v3",
            "originator": cms.OriginatorIdentifierOrKey(name="originator_key", value=originator),
            "key_encryption_algorithm": {
                "algorithm": ID_DH_SINGLE_PASS_STD_SHA256KDF,
                "parameters": core.Any.load(wrap_der),
            },
            "recipient_encrypted_keys": [{"rid": rid, "encrypted_key": aes_key_wrap(kek, cek)}],
        }
    )
    return cms.RecipientInfo(name="kari", value=kari)


def _make_ktri(public_key: rsa.RSAPublicKey, cek: bytes, rid: cms.RecipientIdentifier) -> cms.RecipientInfo:
    sha256 = hash_for("sha256")
    encrypted = public_key.encrypt(cek, padding.OAEP(padding.MGF1(sha256), sha256, None))
    params = algos.RSAESOAEPParams(
        {
            "hash_algorithm": {"algorithm": "sha256"},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": "sha256"}},
        }
    )
    version = "v2" if rid.name == "subject_key_identifier" else "v0"
    ktri = cms.KeyTransRecipientInfo(
        {
            "version": version,
            "rid": rid,
            "key_encryption_algorithm": {"algorithm": "rsaes_oaep", "parameters": params},
            "encrypted_key": encrypted,
        }
    )
    return cms.RecipientInfo(name="ktri", value=ktri)


# -- reading ---------------------------------------------------------------------------------------


def describe_recipients(infos: cms.RecipientInfos) -> tuple[RecipientId, ...]:
    """Every recipient identifier in a RecipientInfos set (raises :class:`MalformedCms`)."""
    try:
        return tuple(rid for info in infos for rid, _ in _entries(info))
    except CmsError:
        raise
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"malformed RecipientInfo: {exc}") from None


def _entries(info: cms.RecipientInfo) -> list[tuple[RecipientId, Any]]:
    kind, value = info.name, info.chosen
    if kind == "ktri":
        alg = value["key_encryption_algorithm"]["algorithm"].dotted
        return [(_rid_from(value["rid"], "ktri", alg), value)]
    if kind == "kari":
        alg = value["key_encryption_algorithm"]["algorithm"].dotted
        out = []
        for rek in value["recipient_encrypted_keys"]:
            rid = rek["rid"]
            if rid.name == "r_key_id":
                out.append(
                    (
                        RecipientId(
                            "kari",
                            alg,
                            subject_key_identifier=bytes(rid.chosen["subject_key_identifier"].native),
                        ),
                        rek,
                    )
                )
            else:
                out.append((_rid_from(rid, "kari", alg), rek))
        return out
    return [(RecipientId(kind, "unknown"), value)]


def _rid_from(rid: Any, kind: str, alg: str) -> RecipientId:
    if rid.name == "subject_key_identifier":
        return RecipientId(kind, alg, subject_key_identifier=bytes(rid.chosen.native))
    ias = rid.chosen
    issuer = ias["issuer"]
    return RecipientId(
        kind,
        alg,
        issuer=issuer.human_friendly,
        issuer_der=issuer.dump(),
        serial_number=int(ias["serial_number"].native),
    )


def unwrap_cek(
    infos: cms.RecipientInfos,
    certificate: x509.Certificate,
    private_key: DecryptionKey,
    *,
    key_size: int,
    allow_rsa_pkcs1v15: bool = False,
) -> bytes:
    """Recover the content-encryption key addressed to ``certificate``.

    Raises :class:`NotARecipient` when no RecipientInfo names the certificate, :class:`DecryptionError`
    when the key does not unwrap, :class:`UnsupportedCms` / :class:`MalformedCms` for the rest.
    """
    try:
        candidates = [
            (info.name, info.chosen, entry)
            for info in infos
            for rid, entry in _entries(info)
            if rid.kind in ("ktri", "kari") and rid.matches(certificate)
        ]
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"malformed RecipientInfo: {exc}") from None
    if not candidates:
        raise NotARecipient("the envelope is not addressed to this certificate")
    kind, info, entry = candidates[0]
    try:
        if kind == "kari":
            if not isinstance(private_key, ec.EllipticCurvePrivateKey):
                raise CmsError("a key-agreement recipient needs an EC private key")
            return _open_kari(info, entry, private_key, key_size)
        if not isinstance(private_key, rsa.RSAPrivateKey):
            raise CmsError("a key-transport recipient needs an RSA private key")
        return _open_ktri(info, private_key, key_size, allow_rsa_pkcs1v15)
    except CmsError:
        raise
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"malformed RecipientInfo: {exc}") from None


def _open_kari(kari: Any, rek: Any, private_key: ec.EllipticCurvePrivateKey, key_size: int) -> bytes:
    originator = kari["originator"]
    if originator.name != "originator_key":
        raise UnsupportedCms("only an ephemeral originatorKey is supported for key agreement")
    spki = originator.chosen
    algorithm = spki["algorithm"]
    if algorithm["algorithm"].dotted != ID_EC_PUBLIC_KEY:
        raise UnsupportedCms("the originator key is not an EC key")
    params = algorithm["parameters"]
    if isinstance(params, keys.ECDomainParameters) and params.name == "named":
        if params.chosen.dotted != _curve_oid(private_key):
            raise DecryptionError("the originator key is on a different curve than the recipient key")
    elif isinstance(params, keys.ECDomainParameters) and params.name == "specified":
        raise UnsupportedCms("explicit EC domain parameters are not supported")
    bits = bytes(spki["public_key"].contents)
    if not bits or bits[0] != 0:
        raise MalformedCms("the originator public key BIT STRING is malformed")
    try:
        peer = ec.EllipticCurvePublicKey.from_encoded_point(private_key.curve, bits[1:])
    except ValueError:
        raise DecryptionError("the originator public key is not a point on the recipient's curve") from None
    shared = private_key.exchange(ec.ECDH(), peer)

    scheme = kari["key_encryption_algorithm"]["algorithm"].dotted
    if scheme not in ECDH_STD_KDF_SCHEMES:
        raise UnsupportedCms(f"unsupported key agreement scheme {scheme}")
    wrap_der = kari["key_encryption_algorithm"]["parameters"].dump()
    wrap = KeyWrapAlgorithm.load(wrap_der, strict=True)
    wrap_oid = wrap["algorithm"].dotted
    if wrap_oid not in AES_WRAP_OIDS:
        raise UnsupportedCms(f"unsupported key wrap algorithm {wrap_oid}")
    kek_len = AES_WRAP_OIDS[wrap_oid]
    ukm = kari["ukm"].native if kari["ukm"].native is not None else None
    info = ecc_cms_shared_info(wrap_der, ukm, kek_len * 8)
    kek = X963KDF(hash_for(ECDH_STD_KDF_SCHEMES[scheme]), kek_len, info).derive(shared)
    try:
        cek = aes_key_unwrap(kek, bytes(rek["encrypted_key"].native))
    except InvalidUnwrap:
        raise DecryptionError("the content-encryption key does not unwrap (wrong key or corrupt)") from None
    if len(cek) != key_size:
        raise DecryptionError("the unwrapped content-encryption key has the wrong length")
    return cek


def _curve_oid(private_key: ec.EllipticCurvePrivateKey) -> str:
    der = private_key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return str(keys.PublicKeyInfo.load(der)["algorithm"]["parameters"].chosen.dotted)


def _open_ktri(ktri: Any, private_key: rsa.RSAPrivateKey, key_size: int, allow_pkcs1v15: bool) -> bytes:
    algorithm = ktri["key_encryption_algorithm"]
    name = algorithm["algorithm"].native
    encrypted = bytes(ktri["encrypted_key"].native)
    if name == "rsaes_oaep":
        params = algorithm["parameters"]
        if params["mask_gen_algorithm"]["algorithm"].native != "mgf1":
            raise UnsupportedCms("unsupported OAEP mask generation function")
        digest = hash_for(params["hash_algorithm"]["algorithm"].native)
        mgf_digest = hash_for(params["mask_gen_algorithm"]["parameters"]["algorithm"].native)
        source = params["p_source_algorithm"]
        if source["algorithm"].native != "p_specified":
            raise UnsupportedCms("unsupported OAEP label source")
        label = bytes(source["parameters"].native or b"")
        try:
            cek = private_key.decrypt(
                encrypted, padding.OAEP(padding.MGF1(mgf_digest), digest, label or None)
            )
        except ValueError:
            raise DecryptionError(
                "the content-encryption key does not decrypt (wrong key or corrupt)"
            ) from None
        if len(cek) != key_size:
            raise DecryptionError("the decrypted content-encryption key has the wrong length")
        return cek
    if name in ("rsaes_pkcs1v15", "rsa"):
        if not allow_pkcs1v15:
            raise UnsupportedCms("RSAES-PKCS1-v1_5 key transport is refused (pass allow_rsa_pkcs1v15=True)")
        # Implicit rejection: never reveal whether the padding was valid.
        fallback = os.urandom(key_size)
        try:
            cek = private_key.decrypt(encrypted, padding.PKCS1v15())
        except ValueError:
            return fallback
        return cek if len(cek) == key_size else fallback
    raise UnsupportedCms(f"unsupported key transport algorithm {name}")
