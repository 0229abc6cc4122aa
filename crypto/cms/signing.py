"""Making CMS SignedData (RFC 5652): detached or attached, hashed as a stream, optionally time-stamped.

One SignerInfo (version 1, issuerAndSerialNumber) with DER signed attributes in sorted order:
content-type, signing-time, message-digest and ESS signingCertificateV2 (RFC 5035, SHA-256 cert hash
with issuerSerial). Signature: ecdsa-with-SHA256 for P-256 keys, sha256WithRSAEncryption or
RSASSA-PSS (SHA-256, MGF1-SHA-256, salt 32) for RSA keys. The certificates field carries the signer
certificate and the given chain. With a time-stamper, the RFC 3161 token over SHA-256 of the signature
value is added as the unsigned attribute id-aa-signatureTimeStampToken (CAdES-T).

Attached signing of a large file streams: the source is hashed once, then copied into a DER structure
whose lengths are computed up front (and hashed again while copying, so a file changed in between is
detected). Memory use is one chunk.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import BinaryIO

from asn1crypto import cms, core, tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from crypto.cms.asn1 import ID_DATA, ID_SIGNED_DATA, hash_for, to_asn1_cert
from crypto.cms.der import der_header, der_tlv
from crypto.cms.errors import CmsError, UnsupportedCms
from crypto.cms.timestamps import TimeStamper, aresolve, parse_token, resolve

__all__ = [
    "Signer",
    "asign_attached",
    "asign_attached_to",
    "asign_detached",
    "sign_attached",
    "sign_attached_to",
    "sign_detached",
]

OID_CONTENT_TYPE = "1.2.840.113549.1.9.3"
OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4"
OID_SIGNING_TIME = "1.2.840.113549.1.9.5"
OID_SIGNING_CERTIFICATE_V2 = "1.2.840.113549.1.9.16.2.47"
OID_SIGNING_CERTIFICATE = "1.2.840.113549.1.9.16.2.12"
OID_TIME_STAMP_TOKEN = "1.2.840.113549.1.9.16.2.14"  # noqa: S105 - an OID

SigningKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
_CHUNK = 1 << 20
_DIGESTS = ("sha256", "sha384", "sha512")


@dataclass(frozen=True)
class Signer:
    """A signing certificate, its private key, the chain to include, and algorithm choices."""

    certificate: x509.Certificate
    private_key: SigningKey
    chain: tuple[x509.Certificate, ...] = ()
    digest_algorithm: str = "sha256"
    rsa_pss: bool = False

    def __post_init__(self) -> None:
        if self.digest_algorithm not in _DIGESTS:
            raise UnsupportedCms(f"digest algorithm must be one of {_DIGESTS}")
        if self.private_key.public_key() != self.certificate.public_key():
            raise CmsError("the private key does not belong to the signing certificate")


@dataclass(frozen=True)
class _Prepared:
    signer_info: cms.SignerInfo
    signature: bytes
    digest: bytes
    content_size: int
    start: int


def _hash_stream(stream: BinaryIO, name: str, chunk_size: int) -> tuple[bytes, int]:
    h = hashlib.new(name)
    size = 0
    while chunk := stream.read(chunk_size):
        h.update(chunk)
        size += len(chunk)
    return h.digest(), size


def _attribute(oid: str, value_der: bytes) -> bytes:
    return der_tlv(0x30, core.ObjectIdentifier(oid).dump() + der_tlv(0x31, value_der))


@functools.lru_cache(maxsize=256)
def _signing_certificate_v2(cert: x509.Certificate) -> bytes:
    """The ESS signing-certificate-v2 attribute value naming ``cert`` (the same bytes for every
    signature by that certificate, so built once per certificate: a server signs many receipts)."""
    asn1 = to_asn1_cert(cert)
    ess = tsp.SigningCertificateV2(
        {
            "certs": [
                {
                    "cert_hash": hashlib.sha256(asn1.dump()).digest(),
                    "issuer_serial": {
                        "issuer": [asn1_x509.GeneralName(name="directory_name", value=asn1.issuer)],
                        "serial_number": asn1.serial_number,
                    },
                }
            ]
        }
    )
    return bytes(ess.dump())


def _signed_attrs(signer: Signer, digest: bytes, content_type: str, signing_time: datetime) -> bytes:
    attrs = [
        _attribute(OID_CONTENT_TYPE, core.ObjectIdentifier(content_type).dump()),
        _attribute(OID_SIGNING_TIME, cms.Time(name=_time_choice(signing_time), value=signing_time).dump()),
        _attribute(OID_MESSAGE_DIGEST, core.OctetString(digest).dump()),
        _attribute(OID_SIGNING_CERTIFICATE_V2, _signing_certificate_v2(signer.certificate)),
    ]
    return der_tlv(0x31, b"".join(sorted(attrs)))  # DER SET OF: sorted encodings


def _time_choice(moment: datetime) -> str:
    return "utc_time" if 1950 <= moment.year < 2050 else "general_time"


def _sign_bytes(signer: Signer, data: bytes) -> tuple[bytes, dict[str, object]]:
    digest = hash_for(signer.digest_algorithm)
    key = signer.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return key.sign(data, ec.ECDSA(digest)), {"algorithm": f"{signer.digest_algorithm}_ecdsa"}
    if signer.rsa_pss:
        salt = digest.digest_size
        signature = key.sign(data, padding.PSS(padding.MGF1(digest), salt), digest)
        params = {
            "hash_algorithm": {"algorithm": signer.digest_algorithm},
            "mask_gen_algorithm": {"algorithm": "mgf1", "parameters": {"algorithm": signer.digest_algorithm}},
            "salt_length": salt,
        }
        return signature, {"algorithm": "rsassa_pss", "parameters": params}
    return key.sign(data, padding.PKCS1v15(), digest), {"algorithm": f"{signer.digest_algorithm}_rsa"}


def _prepare(
    source: BinaryIO, signer: Signer, content_type: str, signing_time: datetime | None, chunk_size: int
) -> _Prepared:
    start = source.tell() if source.seekable() else 0
    digest, size = _hash_stream(source, signer.digest_algorithm, chunk_size)
    moment = (signing_time or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    attrs_der = _signed_attrs(signer, digest, content_type, moment)
    signature, algorithm = _sign_bytes(signer, attrs_der)
    asn1 = to_asn1_cert(signer.certificate)
    signer_info = cms.SignerInfo(
        {
            "version": "v1",
            "sid": cms.SignerIdentifier(
                name="issuer_and_serial_number",
                value={"issuer": asn1.issuer, "serial_number": asn1.serial_number},
            ),
            "digest_algorithm": {"algorithm": signer.digest_algorithm},
            "signed_attrs": cms.CMSAttributes.load(attrs_der),
            "signature_algorithm": algorithm,
            "signature": signature,
        }
    )
    if signer_info["signed_attrs"].dump()[1:] != attrs_der[1:]:  # pragma: no cover - asn1crypto invariant
        raise CmsError("internal error: signed attributes were re-encoded")
    return _Prepared(signer_info, signature, digest, size, start)


def _with_token(prepared: _Prepared, token_der: bytes) -> _Prepared:
    token = parse_token(token_der)
    attr = der_tlv(
        0x31, _attribute(OID_TIME_STAMP_TOKEN, token.dump())
    )  # unsignedAttrs: one attribute, DER SET OF
    signer_info = prepared.signer_info.copy()
    signer_info["unsigned_attrs"] = cms.CMSAttributes.load(attr)
    return _Prepared(signer_info, prepared.signature, prepared.digest, prepared.content_size, prepared.start)


def _signed_data_parts(prepared: _Prepared, signer: Signer, content_type: str) -> tuple[bytes, bytes, bytes]:
    """(version + digestAlgorithms, eContentType OID, certificates + signerInfos) DER pieces."""
    version = 1 if content_type == ID_DATA else 3
    shell = cms.SignedData(
        {
            "version": f"v{version}",
            "digest_algorithms": [{"algorithm": signer.digest_algorithm}],
            "encap_content_info": {"content_type": content_type},
            "certificates": [to_asn1_cert(c) for c in (signer.certificate, *signer.chain)],
            "signer_infos": [prepared.signer_info],
        }
    )
    head = shell["version"].dump() + shell["digest_algorithms"].dump()
    tail = shell["certificates"].dump() + shell["signer_infos"].dump()
    return head, core.ObjectIdentifier(content_type).dump(), tail


def _write(
    source: BinaryIO | None,
    sink: BinaryIO,
    prepared: _Prepared,
    signer: Signer,
    *,
    content_type: str,
    chunk_size: int,
) -> int:
    head, ct_oid, tail = _signed_data_parts(prepared, signer, content_type)
    if source is None:
        econtent_headers = b""
        encap_body_len = len(ct_oid)
    else:
        octets = der_header(0x04, prepared.content_size)
        explicit = der_header(0xA0, len(octets) + prepared.content_size)
        econtent_headers = explicit + octets
        encap_body_len = len(ct_oid) + len(econtent_headers) + prepared.content_size
    encap_header = der_header(0x30, encap_body_len)
    sd_len = len(head) + len(encap_header) + encap_body_len + len(tail)
    sd_header = der_header(0x30, sd_len)
    outer = der_header(0xA0, len(sd_header) + sd_len)
    ci_oid = core.ObjectIdentifier(ID_SIGNED_DATA).dump()
    ci_len = len(ci_oid) + len(outer) + len(sd_header) + sd_len
    sink.write(der_header(0x30, ci_len) + ci_oid + outer + sd_header + head + encap_header + ct_oid)
    if source is not None:
        sink.write(econtent_headers)
        source.seek(prepared.start)
        h = hashlib.new(signer.digest_algorithm)
        remaining = prepared.content_size
        while remaining:
            chunk = source.read(min(chunk_size, remaining))
            if not chunk:
                raise CmsError("the source became shorter between hashing and copying")
            h.update(chunk)
            sink.write(chunk)
            remaining -= len(chunk)
        if h.digest() != prepared.digest:
            raise CmsError("the source changed between hashing and copying")
    sink.write(tail)
    return len(der_header(0x30, ci_len)) + ci_len


def _imprint(prepared: _Prepared) -> bytes:
    return hashlib.sha256(prepared.signature).digest()


def _stream(content: bytes | BinaryIO) -> BinaryIO:
    return io.BytesIO(content) if isinstance(content, bytes | bytearray) else content


def sign_detached(
    content: bytes | BinaryIO,
    signer: Signer,
    *,
    content_type: str = ID_DATA,
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
    chunk_size: int = _CHUNK,
) -> bytes:
    """A detached SignedData (DER) over ``content``, hashed in chunks (any size, bounded memory)."""
    prepared = _prepare(_stream(content), signer, content_type, signing_time, chunk_size)
    if timestamper is not None:
        prepared = _with_token(prepared, resolve(timestamper.timestamp(_imprint(prepared), "sha256")))
    out = io.BytesIO()
    _write(None, out, prepared, signer, content_type=content_type, chunk_size=chunk_size)
    return out.getvalue()


def sign_attached_to(
    source: BinaryIO,
    sink: BinaryIO,
    signer: Signer,
    *,
    content_type: str = ID_DATA,
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
    chunk_size: int = _CHUNK,
) -> int:
    """Write an attached SignedData carrying the rest of ``source`` to ``sink``; returns bytes written.

    ``source`` must be seekable: it is read twice (hash, then copy).
    """
    if not source.seekable():
        raise CmsError("attached streaming signing needs a seekable source")
    prepared = _prepare(source, signer, content_type, signing_time, chunk_size)
    if timestamper is not None:
        prepared = _with_token(prepared, resolve(timestamper.timestamp(_imprint(prepared), "sha256")))
    return _write(source, sink, prepared, signer, content_type=content_type, chunk_size=chunk_size)


def sign_attached(
    content: bytes,
    signer: Signer,
    *,
    content_type: str = ID_DATA,
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """An attached SignedData (DER) carrying ``content`` (in memory)."""
    out = io.BytesIO()
    sign_attached_to(
        io.BytesIO(content),
        out,
        signer,
        content_type=content_type,
        signing_time=signing_time,
        timestamper=timestamper,
    )
    return out.getvalue()


async def asign_detached(
    content: bytes | BinaryIO,
    signer: Signer,
    *,
    content_type: str = ID_DATA,
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
    chunk_size: int = _CHUNK,
) -> bytes:
    """:func:`sign_detached` for async code: hashing runs in a worker thread, the time-stamper is awaited."""
    prepared = await asyncio.to_thread(
        _prepare, _stream(content), signer, content_type, signing_time, chunk_size
    )
    if timestamper is not None:
        prepared = _with_token(prepared, await aresolve(timestamper.timestamp(_imprint(prepared), "sha256")))
    out = io.BytesIO()
    _write(None, out, prepared, signer, content_type=content_type, chunk_size=chunk_size)
    return out.getvalue()


async def asign_attached_to(
    source: BinaryIO,
    sink: BinaryIO,
    signer: Signer,
    *,
    content_type: str = ID_DATA,
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
    chunk_size: int = _CHUNK,
) -> int:
    """:func:`sign_attached_to` for async code (file work in a worker thread)."""
    if not source.seekable():
        raise CmsError("attached streaming signing needs a seekable source")
    prepared = await asyncio.to_thread(_prepare, source, signer, content_type, signing_time, chunk_size)
    if timestamper is not None:
        prepared = _with_token(prepared, await aresolve(timestamper.timestamp(_imprint(prepared), "sha256")))
    return await asyncio.to_thread(
        functools.partial(_write, content_type=content_type, chunk_size=chunk_size),
        source,
        sink,
        prepared,
        signer,
    )


async def asign_attached(
    content: bytes,
    signer: Signer,
    *,
    content_type: str = ID_DATA,
    signing_time: datetime | None = None,
    timestamper: TimeStamper | None = None,
) -> bytes:
    """:func:`sign_attached` for async code."""
    out = io.BytesIO()
    await asign_attached_to(
        io.BytesIO(content),
        out,
        signer,
        content_type=content_type,
        signing_time=signing_time,
        timestamper=timestamper,
    )
    return out.getvalue()
