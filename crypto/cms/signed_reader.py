"""Parsing SignedData incrementally: the encapsulated content is hashed (and optionally copied out) as
it streams past; everything else (algorithms, certificates, SignerInfos) is read under size caps.

DER and BER are accepted (openssl ``-stream`` writes indefinite lengths and a constructed eContent).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from asn1crypto import cms, core
from asn1crypto import x509 as asn1_x509
from cryptography import x509

from crypto.cms.asn1 import ID_SIGNED_DATA, to_crypto_cert
from crypto.cms.errors import ASN1_PARSE_ERRORS, LimitExceeded, MalformedCms, UnsupportedCms
from crypto.cms.stream import (
    CONTEXT,
    TAG_INTEGER,
    TAG_OCTET_STRING,
    TAG_OID,
    TAG_SEQUENCE,
    TAG_SET,
    UNIVERSAL,
    BerReader,
    Limits,
)

__all__ = ["MAX_CERTIFICATES", "ParsedSignedData", "read_signed_data"]

MAX_CERTIFICATES = 64
MAX_SIGNERS = 16
MAX_DIGEST_ALGORITHMS = 8
HASHABLE = ("sha256", "sha384", "sha512")
_INLINE = 1 << 20
_QUEUE_DEPTH = 2


@dataclass(frozen=True)
class ParsedSignedData:
    """The parts of a SignedData a verifier needs; ``digests`` are of the eContent, by algorithm.

    ``content_sha256`` is the eContent's SHA-256 whether or not the SignedData lists SHA-256 (it is
    the same computation as ``digests["sha256"]`` when it does), so a caller that keeps the content
    has its hash without reading it again.
    """

    version: int
    digest_algorithms: tuple[str, ...]
    content_type: str
    content_present: bool
    content_size: int | None
    certificates: tuple[asn1_x509.Certificate, ...]
    signer_infos: cms.SignerInfos
    digests: dict[str, bytes] = field(default_factory=dict)
    content_sha256: bytes | None = None
    x509_certificates: tuple[x509.Certificate, ...] = ()
    """``certificates`` as parsed by ``cryptography`` (same order), which is how they were checked."""

    def x509_of(self, certificate: asn1_x509.Certificate) -> x509.Certificate:
        """The ``cryptography`` view of one of ``certificates`` (parsed once, when read)."""
        for asn1, parsed in zip(self.certificates, self.x509_certificates, strict=False):
            if asn1 is certificate:
                return parsed
        return to_crypto_cert(certificate)


def _oid(reader: BerReader, what: str) -> str:
    header = reader.expect(UNIVERSAL, TAG_OID, constructed=False, what=what)
    raw = header.raw + reader.read_primitive(header, cap=128, what=what)
    try:
        return str(core.ObjectIdentifier.load(raw, strict=True).dotted)
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"{what}: bad OBJECT IDENTIFIER ({exc})") from None


def _load(spec: type[core.Asn1Value], der: bytes, what: str, *, deep: bool = True) -> core.Asn1Value:
    """Load and (if ``deep``) fully parse under our error handling; asn1crypto is lazy otherwise."""
    try:
        value = spec.load(der, strict=True)
        if deep:
            value.native  # noqa: B018
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"{what} does not parse: {exc}") from None
    return value


class _ContentHashes:
    """Feeds the eContent digests: inline for small content, then in a worker thread.

    Past ``_INLINE`` bytes the hashing moves to one worker (``hashlib`` releases the GIL), so a large
    content is hashed while the caller goes on reading, decrypting and writing it; a bounded queue
    keeps at most a few chunks in flight.
    """

    def __init__(self, hashers: dict[str, Any]) -> None:
        self._hashers = list(hashers.values())
        self._inline = 0
        self._queue: queue.Queue[bytes | None] | None = None
        self._thread: threading.Thread | None = None

    def update(self, chunk: bytes) -> None:
        if self._queue is None and self._inline + len(chunk) <= _INLINE:
            self._inline += len(chunk)
            for h in self._hashers:
                h.update(chunk)
            return
        if self._queue is None:
            self._queue = queue.Queue(_QUEUE_DEPTH)
            self._thread = threading.Thread(target=self._work, name="sealbid-content-hash", daemon=True)
            self._thread.start()
        self._queue.put(chunk)

    def _work(self) -> None:
        assert self._queue is not None
        while (chunk := self._queue.get()) is not None:
            for h in self._hashers:
                h.update(chunk)

    def close(self) -> None:
        """Wait until every chunk is hashed (idempotent)."""
        if self._queue is not None and self._thread is not None and self._thread.is_alive():
            self._queue.put(None)
            self._thread.join()


def _read_content(
    reader: BerReader, hashers: dict[str, Any], sink: BinaryIO | None
) -> tuple[str, int | None]:
    """encapContentInfo: (eContentType, eContent size or ``None`` when detached)."""
    reader.enter(reader.expect(UNIVERSAL, TAG_SEQUENCE, constructed=True, what="encapContentInfo"))
    content_type = _oid(reader, "eContentType")
    econtent = reader.next_child()
    if econtent is None:
        return content_type, None
    if not econtent.is_(CONTEXT, 0, constructed=True):
        raise MalformedCms(f"expected eContent [0], found {econtent.describe()}")
    reader.enter(econtent)
    octets = reader.expect(UNIVERSAL, TAG_OCTET_STRING, what="eContent OCTET STRING")
    size = 0
    feed = _ContentHashes(hashers)
    try:
        for chunk in reader.octet_chunks(octets, what="eContent"):
            size += len(chunk)
            feed.update(chunk)
            if sink is not None:
                sink.write(chunk)
    finally:
        feed.close()
    reader.leave("eContent [0]")
    reader.leave("encapContentInfo")
    return content_type, size


def _read_certificates_and_signers(
    reader: BerReader,
) -> tuple[tuple[asn1_x509.Certificate, ...], tuple[x509.Certificate, ...], cms.SignerInfos]:
    header = reader.next_child()
    certificates: tuple[asn1_x509.Certificate, ...] = ()
    checked: tuple[x509.Certificate, ...] = ()
    if header is not None and header.is_(CONTEXT, 0, constructed=True):
        der = reader.read_element(header, what="certificates")
        certificates, checked = _certificates(b"\x31" + der[1:])
        header = reader.next_child()
    if header is not None and header.is_(CONTEXT, 1, constructed=True):
        reader.read_element(header, what="crls")  # size-capped, otherwise ignored
        header = reader.next_child()
    if header is None or not header.is_(UNIVERSAL, TAG_SET, constructed=True):
        raise MalformedCms("signerInfos (a SET) is missing")
    # Not parsed deeply: a broken time-stamp token in the unsigned attributes must give a verdict,
    # not a parse error; check_signer parses what it uses under its own error handling.
    der = reader.read_element(header, what="signerInfos")
    signer_infos = _load(cms.SignerInfos, der, "signerInfos", deep=False)
    try:
        count = len(signer_infos)
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"signerInfos does not parse: {exc}") from None
    if count > MAX_SIGNERS:
        raise LimitExceeded("too many signers")
    return certificates, checked, signer_infos


def _certificates(der: bytes) -> tuple[tuple[asn1_x509.Certificate, ...], tuple[x509.Certificate, ...]]:
    """The X.509 certificates of a CertificateSet, each checked by ``cryptography``'s strict parser.

    The set itself is parsed by asn1crypto down to its choices only; each certificate is then parsed
    completely by ``cryptography`` (strict DER, in Rust) instead of walking asn1crypto's lazy
    ``.native`` tree, which cost milliseconds per certificate and was the largest fixed cost of
    opening a bid. Other choices (attribute certificates) are skipped as before.
    """
    try:
        cert_set = cms.CertificateSet.load(der, strict=True)
        count = len(cert_set)
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"certificates does not parse: {exc}") from None
    if count > MAX_CERTIFICATES:
        raise LimitExceeded("too many certificates")
    try:
        certificates = tuple(c.chosen for c in cert_set if c.name == "certificate")
    except ASN1_PARSE_ERRORS as exc:
        raise MalformedCms(f"certificates does not parse: {exc}") from None
    return certificates, tuple(to_crypto_cert(c) for c in certificates)


def read_signed_data(
    stream: BinaryIO, *, limits: Limits | None = None, content_sink: BinaryIO | None = None
) -> ParsedSignedData:
    """Parse a ContentInfo/SignedData from ``stream``, hashing the eContent with every listed SHA-2.

    ``content_sink`` receives the eContent bytes as they pass (unverified until the caller has a
    verdict). Raises :class:`MalformedCms`, :class:`LimitExceeded` or :class:`UnsupportedCms`.
    """
    reader = BerReader(stream, limits)
    ci = reader.read_header()
    if not ci.is_(UNIVERSAL, TAG_SEQUENCE, constructed=True):
        raise MalformedCms(f"not a ContentInfo: expected a SEQUENCE, found {ci.describe()}")
    reader.enter(ci)
    outer_type = _oid(reader, "ContentInfo contentType")
    if outer_type != ID_SIGNED_DATA:
        raise UnsupportedCms(f"not a SignedData (content type {outer_type})")
    reader.enter(reader.expect(CONTEXT, 0, constructed=True, what="ContentInfo content [0]"))
    reader.enter(reader.expect(UNIVERSAL, TAG_SEQUENCE, constructed=True, what="SignedData"))
    version_h = reader.expect(UNIVERSAL, TAG_INTEGER, constructed=False, what="version")
    version_raw = reader.read_primitive(version_h, cap=4, what="version")
    version = int.from_bytes(version_raw, "big", signed=True) if version_raw else -1
    if not 1 <= version <= 5:
        raise MalformedCms(f"SignedData version {version} is not 1..5")
    algs_h = reader.expect(UNIVERSAL, TAG_SET, constructed=True, what="digestAlgorithms")
    algs_der = reader.read_element(algs_h, cap=4096, what="digestAlgorithms")
    algs = _load(cms.DigestAlgorithms, algs_der, "digestAlgorithms")
    if len(algs) > MAX_DIGEST_ALGORITHMS:
        raise LimitExceeded("too many digest algorithms")
    names = tuple(str(a["algorithm"].native) for a in algs)
    hashers = {n: hashlib.new(n) for n in dict.fromkeys(names) if n in HASHABLE}
    sha256 = hashers.get("sha256") or hashlib.sha256()
    feeding = {**hashers, "": sha256} if "sha256" not in hashers else hashers
    content_type, size = _read_content(reader, feeding, content_sink)
    certificates, checked, signer_infos = _read_certificates_and_signers(reader)
    reader.leave("SignedData")
    reader.leave("ContentInfo content [0]")
    reader.leave("ContentInfo")
    if not reader.at_eof():
        raise MalformedCms(f"trailing data after the SignedData at offset {reader.position}")
    return ParsedSignedData(
        version=version,
        digest_algorithms=names,
        content_type=content_type,
        content_present=size is not None,
        content_size=size,
        certificates=certificates,
        signer_infos=signer_infos,
        digests={n: h.digest() for n, h in hashers.items()} if size is not None else {},
        content_sha256=sha256.digest() if size is not None else None,
        x509_certificates=checked,
    )
