"""Object identifiers and the few ASN.1 types asn1crypto 1.5.1 lacks, plus certificate helpers.

asn1crypto already defines ``AuthEnvelopedData`` (RFC 5083, content type 1.2.840.113549.1.9.16.1.23,
``authenticated_enveloped_data``) and ``KeyAgreeRecipientInfo``; it does not define RFC 5084's
``GCMParameters`` nor RFC 5753's ``ECC-CMS-SharedInfo`` and it does not know the
``dhSinglePass-stdDH-*kdf-scheme`` OIDs, so those are here. Nothing in asn1crypto's global tables is
modified.
"""

from __future__ import annotations

import warnings
from typing import Final

from asn1crypto import algos, cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.utils import CryptographyDeprecationWarning

from crypto.cms.der import der_tlv
from crypto.cms.errors import MalformedCms, UnsupportedCms

__all__ = [
    "AES_GCM_OIDS",
    "AES_WRAP_OIDS",
    "ECDH_STD_KDF_SCHEMES",
    "ID_AES256_GCM",
    "ID_AES256_WRAP",
    "ID_AUTH_ENVELOPED_DATA",
    "ID_DATA",
    "ID_DH_SINGLE_PASS_STD_SHA256KDF",
    "ID_EC_PUBLIC_KEY",
    "ID_SIGNED_DATA",
    "GcmParameters",
    "ecc_cms_shared_info",
    "hash_for",
    "to_asn1_cert",
    "to_crypto_cert",
]

ID_DATA: Final = "1.2.840.113549.1.7.1"
ID_SIGNED_DATA: Final = "1.2.840.113549.1.7.2"
ID_AUTH_ENVELOPED_DATA: Final = "1.2.840.113549.1.9.16.1.23"
ID_CT_TST_INFO: Final = "1.2.840.113549.1.9.16.1.4"
ID_EC_PUBLIC_KEY: Final = "1.2.840.10045.2.1"
ID_SECP256R1: Final = "1.2.840.10045.3.1.7"
ID_AES256_GCM: Final = "2.16.840.1.101.3.4.1.46"
ID_AES256_WRAP: Final = "2.16.840.1.101.3.4.1.45"
ID_DH_SINGLE_PASS_STD_SHA256KDF: Final = "1.3.132.1.11.1"  # noqa: S105 - an OID

AES_GCM_OIDS: Final = {
    "2.16.840.1.101.3.4.1.6": 16,
    "2.16.840.1.101.3.4.1.26": 24,
    ID_AES256_GCM: 32,
}
"""id-aes{128,192,256}-GCM (RFC 5084) and their key sizes."""

AES_WRAP_OIDS: Final = {
    "2.16.840.1.101.3.4.1.5": 16,
    "2.16.840.1.101.3.4.1.25": 24,
    ID_AES256_WRAP: 32,
}
"""id-aes{128,192,256}-wrap (RFC 3394/3565) and their key sizes."""

ECDH_STD_KDF_SCHEMES: Final = {
    "1.3.133.16.840.63.0.2": "sha1",  # dhSinglePass-stdDH-sha1kdf-scheme (openssl's default)
    "1.3.132.1.11.0": "sha224",
    ID_DH_SINGLE_PASS_STD_SHA256KDF: "sha256",
    "1.3.132.1.11.2": "sha384",
    "1.3.132.1.11.3": "sha512",
}
"""RFC 5753 / SEC 1 ephemeral-static ECDH schemes with the ANSI X9.63 KDF, by KDF hash."""

_HASHES: Final[dict[str, type[hashes.HashAlgorithm]]] = {
    "sha1": hashes.SHA1,
    "sha224": hashes.SHA224,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


def hash_for(name: str) -> hashes.HashAlgorithm:
    """A ``cryptography`` hash object for an asn1crypto digest name (``sha256`` ...)."""
    try:
        return _HASHES[name]()
    except KeyError:
        raise UnsupportedCms(f"unsupported hash algorithm {name!r}") from None


class GcmParameters(core.Sequence):  # type: ignore[misc]
    """RFC 5084: ``GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }``."""

    _fields = [  # noqa: RUF012 - asn1crypto's declarative schema
        ("aes_nonce", core.OctetString),
        ("aes_icv_len", core.Integer, {"default": 12}),
    ]


class KeyWrapAlgorithm(core.Sequence):  # type: ignore[misc]
    """An AlgorithmIdentifier whose parameters are kept opaque."""

    _fields = [  # noqa: RUF012
        ("algorithm", core.ObjectIdentifier),
        ("parameters", core.Any, {"optional": True}),
    ]


def ecc_cms_shared_info(key_wrap_algorithm_der: bytes, ukm: bytes | None, kek_bits: int) -> bytes:
    """DER of RFC 5753 ``ECC-CMS-SharedInfo`` (the X9.63 KDF's SharedInfo).

    ``SEQUENCE { keyInfo AlgorithmIdentifier, entityUInfo [0] EXPLICIT OCTET STRING OPTIONAL,
    suppPubInfo [2] EXPLICIT OCTET STRING }`` where keyInfo is the key-wrap AlgorithmIdentifier exactly
    as it appears in the KeyAgreeRecipientInfo, entityUInfo the ukm if any, and suppPubInfo the KEK
    length in bits as a 32-bit big-endian integer (OpenSSL's ``CMS_SharedInfo_encode``).
    """
    body = key_wrap_algorithm_der
    if ukm is not None:
        body += der_tlv(0xA0, der_tlv(0x04, ukm))
    body += der_tlv(0xA2, der_tlv(0x04, kek_bits.to_bytes(4, "big")))
    return der_tlv(0x30, body)


def to_asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    """The asn1crypto view of a ``cryptography`` certificate."""
    return asn1_x509.Certificate.load(cert.public_bytes(Encoding.DER))


def to_crypto_cert(cert: asn1_x509.Certificate) -> x509.Certificate:
    """The ``cryptography`` view of an asn1crypto certificate (raises :class:`MalformedCms`)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # e.g. a non-positive serial
            return x509.load_der_x509_certificate(cert.dump())
    except (ValueError, x509.InvalidVersion) as exc:
        raise MalformedCms(f"embedded certificate does not parse: {exc}") from None


def issuer_and_serial(cert: x509.Certificate) -> cms.IssuerAndSerialNumber:
    """``IssuerAndSerialNumber`` identifying ``cert``."""
    asn1 = to_asn1_cert(cert)
    return cms.IssuerAndSerialNumber(
        {"issuer": asn1["tbs_certificate"]["issuer"], "serial_number": asn1.serial_number}
    )


def subject_key_identifier(cert: x509.Certificate) -> bytes | None:
    """The certificate's subjectKeyIdentifier extension value, if it has one."""
    try:
        ext = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        return None
    return bytes(ext.value.digest)


def content_encryption_algorithm(key_size: int, nonce: bytes, icv_len: int = 16) -> algos.EncryptionAlgorithm:
    """``AlgorithmIdentifier`` for AES-GCM with explicit RFC 5084 parameters."""
    oid = {v: k for k, v in AES_GCM_OIDS.items()}[key_size]
    params = GcmParameters({"aes_nonce": nonce, "aes_icv_len": icv_len})
    return algos.EncryptionAlgorithm({"algorithm": oid, "parameters": core.Any.load(params.dump())})
