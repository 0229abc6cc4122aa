"""Reading AuthEnvelopedData incrementally: peek at the recipients, or open in bounded memory.

The reader accepts DER and BER (indefinite lengths, ``encryptedContent`` as a constructed string of
OCTET STRING segments, as ``openssl cms -stream`` writes). It never holds the content in memory:
metadata (RecipientInfos, attributes) is capped by :class:`~crypto.cms.stream.Limits` and the
ciphertext is decrypted one chunk at a time with AES-GCM.

**GCM authenticates only at the end.** :func:`open_envelope` writes plaintext to the caller's sink as
it goes; that output is valid only if the call returns. If it raises, discard the sink.
:func:`open_envelope_to_path` does this for you: it writes a temporary file next to the destination
and renames it into place only after the tag has verified.

``authAttrs`` are the GCM AAD and come *after* the ciphertext, so with authenticated attributes the
source must be seekable (the structure is read once without decrypting, then again with). A
non-seekable source is opened in one pass and refused at the end if it carries authAttrs.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from asn1crypto import algos, cms, core
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from crypto.cms.asn1 import AES_GCM_OIDS, ID_AUTH_ENVELOPED_DATA, GcmParameters
from crypto.cms.attributes import Attribute, parse_attributes
from crypto.cms.der import as_stream
from crypto.cms.errors import ASN1_PARSE_ERRORS, CmsError, DecryptionError, MalformedCms, UnsupportedCms
from crypto.cms.recipients import DecryptionKey, RecipientId, describe_recipients, unwrap_cek
from crypto.cms.stream import (
    CONTEXT,
    TAG_INTEGER,
    TAG_OCTET_STRING,
    TAG_OID,
    TAG_SEQUENCE,
    TAG_SET,
    UNIVERSAL,
    BerReader,
    Header,
    Limits,
)

__all__ = [
    "EnvelopeInfo",
    "OpenedEnvelope",
    "open_envelope",
    "open_envelope_bytes",
    "open_envelope_to_path",
    "peek_envelope",
]

_NONCE_SIZE = 12
_MIN_TAG, _MAX_TAG = 12, 16


@dataclass(frozen=True, slots=True)
class EnvelopeInfo:
    """The readable parts of an AuthEnvelopedData (no key needed)."""

    recipients: tuple[RecipientId, ...]
    content_type: str
    content_encryption_algorithm: str
    key_size: int
    nonce: bytes
    icv_length: int
    content_size: int
    auth_attributes: tuple[Attribute, ...]
    unauth_attributes: tuple[Attribute, ...]
    has_originator_info: bool

    def is_addressed_to(self, certificate: x509.Certificate) -> bool:
        """Whether some RecipientInfo identifies ``certificate``."""
        return any(r.matches(certificate) for r in self.recipients)


@dataclass(frozen=True, slots=True)
class OpenedEnvelope:
    """A successfully opened envelope: the content written to the sink is complete and authentic."""

    info: EnvelopeInfo
    content_size: int


@dataclass(frozen=True, slots=True)
class _Head:
    infos_der: bytes
    infos: cms.RecipientInfos
    content_type: str
    algorithm_der: bytes
    key_size: int
    nonce: bytes
    icv_length: int
    content: Header
    has_originator_info: bool


@dataclass(frozen=True, slots=True)
class _Tail:
    auth_attrs_der: bytes | None
    mac: bytes
    unauth_attrs_der: bytes | None


def _oid(reader: BerReader, what: str) -> str:
    header = reader.expect(UNIVERSAL, TAG_OID, constructed=False, what=what)
    raw = header.raw + reader.read_primitive(header, cap=128, what=what)
    try:
        return str(core.ObjectIdentifier.load(raw, strict=True).dotted)
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"{what}: bad OBJECT IDENTIFIER ({exc})") from None


def _read_head(reader: BerReader, known: _Head | None = None) -> _Head:
    """The envelope up to its encrypted content; ``known`` is the first pass's, whose parsed
    recipientInfos are reused when the bytes are the same."""
    ci = reader.read_header()
    if not ci.is_(UNIVERSAL, TAG_SEQUENCE, constructed=True):
        raise MalformedCms(f"not a ContentInfo: expected a SEQUENCE, found {ci.describe()}")
    reader.enter(ci)
    content_type = _oid(reader, "ContentInfo contentType")
    if content_type != ID_AUTH_ENVELOPED_DATA:
        raise UnsupportedCms(f"not an AuthEnvelopedData (content type {content_type})")
    reader.enter(reader.expect(CONTEXT, 0, constructed=True, what="ContentInfo content [0]"))
    reader.enter(reader.expect(UNIVERSAL, TAG_SEQUENCE, constructed=True, what="AuthEnvelopedData"))
    version = reader.expect(UNIVERSAL, TAG_INTEGER, constructed=False, what="version")
    if reader.read_primitive(version, cap=8, what="version") != b"\x00":
        raise UnsupportedCms("AuthEnvelopedData version must be 0")
    header = reader.next_child()
    has_originator = False
    if header is not None and header.is_(CONTEXT, 0, constructed=True):
        has_originator = True
        reader.skip(header)
        header = reader.next_child()
    if header is None or not header.is_(UNIVERSAL, TAG_SET, constructed=True):
        raise MalformedCms("recipientInfos (a SET) is missing")
    infos_der = reader.read_element(header, what="recipientInfos")
    infos = known.infos if known is not None and known.infos_der == infos_der else None
    if infos is None:
        infos = _recipient_infos(infos_der)
    reader.enter(reader.expect(UNIVERSAL, TAG_SEQUENCE, constructed=True, what="authEncryptedContentInfo"))
    inner_type = _oid(reader, "encrypted content type")
    alg_header = reader.expect(UNIVERSAL, TAG_SEQUENCE, constructed=True, what="contentEncryptionAlgorithm")
    algorithm_der = reader.read_element(alg_header, cap=1024, what="contentEncryptionAlgorithm")
    key_size, nonce, icv = _gcm_parameters(algorithm_der)
    content = reader.next_child()
    if content is None:
        raise UnsupportedCms("detached encrypted content is not supported")
    if not content.is_(CONTEXT, 0):
        raise MalformedCms(f"expected encryptedContent [0], found {content.describe()}")
    return _Head(infos_der, infos, inner_type, algorithm_der, key_size, nonce, icv, content, has_originator)


def _recipient_infos(der: bytes) -> cms.RecipientInfos:
    try:
        infos = cms.RecipientInfos.load(der, strict=True)
        infos.native  # noqa: B018 - asn1crypto parses lazily: check every RecipientInfo now
        if len(infos) == 0:
            raise MalformedCms("recipientInfos is empty")
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"recipientInfos does not parse: {exc}") from None
    return infos


def _gcm_parameters(algorithm_der: bytes) -> tuple[int, bytes, int]:
    try:
        algorithm = algos.EncryptionAlgorithm.load(algorithm_der, strict=True)
        oid = algorithm["algorithm"].dotted
        if oid not in AES_GCM_OIDS:
            raise UnsupportedCms(f"content encryption algorithm {oid} is not AES-GCM")
        raw_params = algorithm["parameters"]
        if raw_params.native is None:
            raise MalformedCms("AES-GCM parameters are missing")
        params = GcmParameters.load(raw_params.dump(), strict=True)
        nonce = bytes(params["aes_nonce"].native)
        icv = int(params["aes_icv_len"].native)
    except CmsError:
        raise
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"contentEncryptionAlgorithm does not parse: {exc}") from None
    if len(nonce) != _NONCE_SIZE:
        raise UnsupportedCms(f"AES-GCM nonce of {len(nonce)} bytes (only 12 is supported)")
    if not _MIN_TAG <= icv <= _MAX_TAG:
        raise MalformedCms(f"AES-GCM ICV length {icv} outside 12..16")
    return AES_GCM_OIDS[oid], nonce, icv


def _read_tail(reader: BerReader) -> _Tail:
    reader.leave("authEncryptedContentInfo")
    header = reader.next_child()
    auth = unauth = None
    if header is not None and header.is_(CONTEXT, 1, constructed=True):
        auth = reader.read_element(header, what="authAttrs")
        header = reader.next_child()
    if header is None or not header.is_(UNIVERSAL, TAG_OCTET_STRING, constructed=False):
        raise MalformedCms("mac (an OCTET STRING) is missing")
    mac = reader.read_primitive(header, cap=64, what="mac")
    header = reader.next_child()
    if header is not None and header.is_(CONTEXT, 2, constructed=True):
        unauth = reader.read_element(header, what="unauthAttrs")
        header = reader.next_child()
    if header is not None:
        raise MalformedCms(f"unexpected {header.describe()} at the end of AuthEnvelopedData")
    reader.leave("ContentInfo content [0]")
    reader.leave("ContentInfo")
    if not reader.at_eof():
        raise MalformedCms(f"trailing data after the envelope at offset {reader.position}")
    return _Tail(auth, mac, unauth)


def _info(head: _Head, tail: _Tail, content_size: int) -> EnvelopeInfo:
    return EnvelopeInfo(
        recipients=describe_recipients(head.infos),
        content_type=head.content_type,
        content_encryption_algorithm=str(
            algos.EncryptionAlgorithm.load(head.algorithm_der)["algorithm"].dotted
        ),
        key_size=head.key_size,
        nonce=head.nonce,
        icv_length=head.icv_length,
        content_size=content_size,
        auth_attributes=parse_attributes(tail.auth_attrs_der, "authAttrs"),
        unauth_attributes=parse_attributes(tail.unauth_attrs_der, "unauthAttrs"),
        has_originator_info=head.has_originator_info,
    )


def peek_envelope(source: BinaryIO | bytes, *, limits: Limits | None = None) -> EnvelopeInfo:
    """Check the whole structure and list its recipients without any key.

    A seekable source is skipped over (a primitive ``encryptedContent`` costs one seek); a
    non-seekable one is read through. Raises :class:`~crypto.cms.errors.CmsError` subclasses.
    """
    reader = BerReader(as_stream(source), limits)
    head = _read_head(reader)
    size = reader.skip_octets(head.content, what="encryptedContent")
    tail = _read_tail(reader)
    _check_mac(head, tail)
    return _info(head, tail, size)


def _check_mac(head: _Head, tail: _Tail) -> None:
    if len(tail.mac) != head.icv_length:
        raise MalformedCms(f"mac is {len(tail.mac)} bytes but the parameters say {head.icv_length}")


def prepare_envelope(
    source: BinaryIO | bytes, limits: Limits | None
) -> tuple[BerReader, _Head, _Tail | None]:
    """Position a reader at the encrypted content, after a structure-only pass when it can seek.

    A seekable source is walked once without decrypting (so a broken structure or MAC field fails
    before any plaintext is written), then read again from the start; the tail of the first pass is
    returned (None for a stream that cannot seek).
    """
    reader = BerReader(as_stream(source), limits)
    first: tuple[_Head, _Tail] | None = None
    if reader.seekable:
        head = _read_head(reader)
        reader.skip_octets(head.content, what="encryptedContent")
        first = (head, _read_tail(reader))
        _check_mac(*first)
        reader.seek_to(0)
    head = _read_head(reader, None if first is None else first[0])
    if first is not None and (head.infos_der, head.algorithm_der) != (
        first[0].infos_der,
        first[0].algorithm_der,
    ):
        raise MalformedCms("the envelope changed while it was being read")
    return reader, head, None if first is None else first[1]


def open_envelope(
    source: BinaryIO | bytes,
    sink: BinaryIO,
    certificate: x509.Certificate,
    private_key: DecryptionKey,
    *,
    limits: Limits | None = None,
    allow_rsa_pkcs1v15: bool = False,
) -> OpenedEnvelope:
    """Decrypt the envelope addressed to ``certificate`` into ``sink``, chunk by chunk.

    **The sink's content is valid only if this returns.** On any exception (a
    :class:`~crypto.cms.errors.DecryptionError` for a wrong key or a tag mismatch, a
    :class:`~crypto.cms.errors.MalformedCms` for a broken structure ...) discard what was written.
    """
    reader, head, first_tail = prepare_envelope(source, limits)
    cek = unwrap_cek(
        head.infos, certificate, private_key, key_size=head.key_size, allow_rsa_pkcs1v15=allow_rsa_pkcs1v15
    )
    decryptor = Cipher(algorithms.AES(cek), modes.GCM(head.nonce, min_tag_length=_MIN_TAG)).decryptor()
    if first_tail is not None and first_tail.auth_attrs_der is not None:
        decryptor.authenticate_additional_data(b"\x31" + first_tail.auth_attrs_der[1:])
    size = 0
    for chunk in reader.octet_chunks(head.content, what="encryptedContent"):
        size += len(chunk)
        sink.write(decryptor.update(chunk))
    tail = _read_tail(reader)
    _check_mac(head, tail)
    if first_tail is None and tail.auth_attrs_der is not None:
        raise UnsupportedCms("authenticated attributes need a seekable source (the AAD precedes the content)")
    if first_tail is not None and tail != first_tail:
        raise MalformedCms("the envelope changed while it was being read")
    try:
        sink.write(decryptor.finalize_with_tag(tail.mac))
    except InvalidTag:
        raise DecryptionError(
            "authentication tag mismatch: the envelope was altered or the key is wrong"
        ) from None
    return OpenedEnvelope(_info(head, tail, size), size)


def open_envelope_to_path(
    source: BinaryIO | bytes | Path,
    destination: Path,
    certificate: x509.Certificate,
    private_key: DecryptionKey,
    *,
    limits: Limits | None = None,
    allow_rsa_pkcs1v15: bool = False,
) -> OpenedEnvelope:
    """:func:`open_envelope` into ``destination`` atomically: the file appears only if the tag verifies."""
    destination = Path(destination)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{destination.name}.", suffix=".part", dir=destination.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as sink:
            if isinstance(source, Path):
                with source.open("rb") as src:
                    result = open_envelope(
                        src,
                        sink,
                        certificate,
                        private_key,
                        limits=limits,
                        allow_rsa_pkcs1v15=allow_rsa_pkcs1v15,
                    )
            else:
                result = open_envelope(
                    source,
                    sink,
                    certificate,
                    private_key,
                    limits=limits,
                    allow_rsa_pkcs1v15=allow_rsa_pkcs1v15,
                )
            sink.flush()
            os.fsync(sink.fileno())
        tmp.replace(destination)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    return result


def open_envelope_bytes(
    data: bytes,
    certificate: x509.Certificate,
    private_key: DecryptionKey,
    *,
    limits: Limits | None = None,
    allow_rsa_pkcs1v15: bool = False,
) -> tuple[bytes, OpenedEnvelope]:
    """Open a small in-memory envelope; the plaintext is returned only after the tag verified."""
    sink = io.BytesIO()
    result = open_envelope(
        data, sink, certificate, private_key, limits=limits, allow_rsa_pkcs1v15=allow_rsa_pkcs1v15
    )
    return sink.getvalue(), result
