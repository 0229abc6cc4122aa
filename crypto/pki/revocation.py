"""An in-process revocation authority: signed OCSP responses (RFC 6960) and CRLs (RFC 5280).

:class:`RevocationAuthority` answers for every CA of a built PKI from its own table of issued serial
numbers and revocations. OCSP responses are signed by the CA's delegated responder (a certificate with
id-kp-OCSPSigning and id-pkix-ocsp-nocheck) when it has one, by the CA itself otherwise; CRLs are
signed by the CA. It is addressed by URL (the ones written into the certificates), so the same object
serves an HTTP endpoint and the in-memory fetchers of :mod:`crypto.pki.fetchers`.

Times come from an injectable clock. ``thisUpdate`` is back-dated by ``backdate`` (default one minute)
so that relying parties with slightly slow clocks do not see revocation information from the future.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp

from crypto.pki.certs import EndpointUrls, PrivateKey

__all__ = ["IssuerRecord", "RevocationAuthority", "RevocationStatus", "UnknownEndpoint"]

_CERTID_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "sha1": hashes.SHA1,
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}


class UnknownEndpoint(LookupError):
    """No endpoint of this authority has that URL (an HTTP server answers 404)."""


@dataclass(frozen=True)
class RevocationStatus:
    """A revocation: when (absolute, UTC) and why."""

    at: datetime
    reason: x509.ReasonFlags = x509.ReasonFlags.unspecified


@dataclass
class IssuerRecord:
    """One CA as the authority sees it: its key, its OCSP signer and the serials it issued."""

    name: str
    certificate: x509.Certificate
    private_key: PrivateKey
    responder: tuple[x509.Certificate, PrivateKey] | None
    issued: dict[int, RevocationStatus | None]


class RevocationAuthority:
    """OCSP and CRL answers for a set of CAs; mutable only through :meth:`revoke`."""

    def __init__(
        self,
        issuers: Iterable[IssuerRecord],
        urls: EndpointUrls,
        *,
        clock: Callable[[], datetime] | None = None,
        ocsp_validity: timedelta = timedelta(hours=4),
        crl_validity: timedelta = timedelta(days=1),
        backdate: timedelta = timedelta(minutes=1),
    ) -> None:
        self._issuers = {record.name: record for record in issuers}
        self._urls = urls
        self._clock = clock or (lambda: datetime.now(UTC))
        self._ocsp_validity = ocsp_validity
        self._crl_validity = crl_validity
        self._backdate = backdate
        self._lock = threading.Lock()
        self._by_hash: dict[tuple[str, bytes, bytes], IssuerRecord] = {}
        for record in self._issuers.values():
            asn1_cert = asn1_x509.Certificate.load(record.certificate.public_bytes(Encoding.DER))
            name_der = asn1_cert.subject.dump()
            key_bits = bytes(asn1_cert.public_key["public_key"])
            for algorithm in _CERTID_HASHES:
                name_hash = hashlib.new(algorithm, name_der).digest()
                key_hash = hashlib.new(algorithm, key_bits).digest()
                self._by_hash[(algorithm, name_hash, key_hash)] = record

    @property
    def ca_names(self) -> list[str]:
        """Names of the CAs this authority answers for."""
        return list(self._issuers)

    def status(self, ca_name: str, serial: int) -> RevocationStatus | None:
        """The revocation of ``serial`` issued by ``ca_name`` in effect now, ``None`` if good.

        Raises :class:`KeyError` if the CA did not issue that serial number.
        """
        with self._lock:
            revocation = self._issuers[ca_name].issued[serial]
        if revocation is not None and revocation.at <= self._clock():
            return revocation
        return None

    def revoke(
        self,
        certificate: x509.Certificate,
        *,
        at: datetime | None = None,
        reason: x509.ReasonFlags = x509.ReasonFlags.unspecified,
    ) -> None:
        """Revoke a certificate issued by one of the CAs (``at`` defaults to the clock's now)."""
        when = at or self._clock()
        if when.tzinfo is None:
            raise ValueError("revocation time must be timezone-aware")
        with self._lock:
            for record in self._issuers.values():
                if (
                    record.certificate.subject == certificate.issuer
                    and certificate.serial_number in record.issued
                ):
                    record.issued[certificate.serial_number] = RevocationStatus(when.astimezone(UTC), reason)
                    return
        raise KeyError(f"certificate {certificate.subject.rfc4514_string()} was not issued here")

    # -- OCSP ---------------------------------------------------------------------------------------

    def respond_ocsp(self, url: str, request_der: bytes) -> bytes:
        """Answer a DER OCSPRequest POSTed to ``url``; returns a DER OCSPResponse.

        Malformed requests get ``malformedRequest``, requests about a CA other than the one behind
        ``url`` get ``unauthorized``; an unknown serial number is answered ``unknown``.
        """
        ca_name = self._ca_for_url(url, self._urls.ocsp)
        return self.ocsp_response(request_der, only_ca=ca_name)

    def ocsp_response(self, request_der: bytes, *, only_ca: str | None = None) -> bytes:
        """Answer a DER OCSPRequest for any (or only the named) CA; returns a DER OCSPResponse."""
        try:
            request = ocsp.load_der_ocsp_request(request_der)
            algorithm = request.hash_algorithm.name
            key = (algorithm, request.issuer_name_hash, request.issuer_key_hash)
            serial = request.serial_number
            nonce = _request_nonce(request)
        except (ValueError, UnsupportedAlgorithm, NotImplementedError):
            # NotImplementedError: several certificates in one request, which cryptography cannot parse
            return _unsuccessful(ocsp.OCSPResponseStatus.MALFORMED_REQUEST)
        record = self._by_hash.get(key)
        if record is None or (only_ca is not None and record.name != only_ca):
            return _unsuccessful(ocsp.OCSPResponseStatus.UNAUTHORIZED)
        now = self._clock()
        this_update = (now - self._backdate).replace(microsecond=0)
        with self._lock:
            known = serial in record.issued
            revocation = record.issued.get(serial)
        if not known:
            status, revoked_at, reason = ocsp.OCSPCertStatus.UNKNOWN, None, None
        elif revocation is not None and revocation.at <= now:
            status, revoked_at = ocsp.OCSPCertStatus.REVOKED, revocation.at
            reason = None if revocation.reason is x509.ReasonFlags.unspecified else revocation.reason
        else:
            status, revoked_at, reason = ocsp.OCSPCertStatus.GOOD, None, None
        signer_cert, signer_key = record.responder or (record.certificate, record.private_key)
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                issuer_name_hash=request.issuer_name_hash,
                issuer_key_hash=request.issuer_key_hash,
                serial_number=serial,
                algorithm=_CERTID_HASHES[algorithm](),
                cert_status=status,
                this_update=this_update,
                next_update=this_update + self._ocsp_validity,
                revocation_time=revoked_at,
                revocation_reason=reason,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, signer_cert)
        )
        if record.responder is not None:
            builder = builder.certificates([signer_cert])
        if nonce is not None:
            builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
        return builder.sign(signer_key, hashes.SHA256()).public_bytes(Encoding.DER)

    # -- CRL ----------------------------------------------------------------------------------------

    def crl(self, ca_name: str) -> bytes:
        """A freshly signed DER CRL of ``ca_name`` listing every revocation in effect now."""
        record = self._issuers[ca_name]
        now = self._clock()
        this_update = (now - self._backdate).replace(microsecond=0)
        ca_ski = record.certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(record.certificate.subject)
            .last_update(this_update)
            .next_update(this_update + self._crl_validity)
            .add_extension(x509.CRLNumber(int(this_update.timestamp())), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
            )
        )
        with self._lock:
            revoked = sorted(
                (serial, status)
                for serial, status in record.issued.items()
                if status is not None and status.at <= now
            )
        for serial, status in revoked:
            entry = x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(status.at)
            if status.reason is not x509.ReasonFlags.unspecified:
                entry = entry.add_extension(x509.CRLReason(status.reason), critical=False)
            builder = builder.add_revoked_certificate(entry.build())
        return builder.sign(record.private_key, hashes.SHA256()).public_bytes(Encoding.DER)

    def fetch_crl(self, url: str) -> bytes:
        """The DER CRL published at ``url``."""
        return self.crl(self._ca_for_url(url, self._urls.crl))

    def fetch_issuer_certificate(self, url: str) -> bytes:
        """The DER CA certificate published at ``url`` (an AIA caIssuers URL)."""
        ca_name = self._ca_for_url(url, self._urls.ca_issuers)
        return self._issuers[ca_name].certificate.public_bytes(Encoding.DER)

    def endpoints(self) -> Mapping[str, str]:
        """Every URL this authority serves, mapped to a short description."""
        table: dict[str, str] = {}
        for name in self._issuers:
            table[self._urls.ocsp(name)] = f"OCSP responder of {name}"
            table[self._urls.crl(name)] = f"CRL of {name}"
            table[self._urls.ca_issuers(name)] = f"certificate of {name}"
        return table

    def _ca_for_url(self, url: str, make: Callable[[str], str]) -> str:
        for name in self._issuers:
            if make(name) == url:
                return name
        raise UnknownEndpoint(url)


def _unsuccessful(status: ocsp.OCSPResponseStatus) -> bytes:
    return ocsp.OCSPResponseBuilder.build_unsuccessful(status).public_bytes(Encoding.DER)


def _request_nonce(request: ocsp.OCSPRequest) -> bytes | None:
    try:
        return request.extensions.get_extension_for_class(x509.OCSPNonce).value.nonce
    except x509.ExtensionNotFound:
        return None
