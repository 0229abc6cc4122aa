"""An in-process RFC 3161 time-stamping authority.

The token itself (TSTInfo, SignedData with ESS signingCertificate) is made by certomancer's
``TimeStamper``; this module adds request checking, an injectable clock and a DER-in/DER-out interface
that an HTTP endpoint (``application/timestamp-query`` -> ``application/timestamp-reply``) can call.
Tokens verify with ``openssl ts -verify`` and with pyHanko.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar, Final

from asn1crypto import cms, core, keys, tsp
from asn1crypto import x509 as asn1_x509
from certomancer.services import TimeStamper as CertomancerTimeStamper
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
from pyhanko.sign.timestamps.api import TimeStamper as PyhankoTimeStamper

from crypto.pki.certs import PrivateKey

__all__ = ["DEV_TSA_POLICY", "InProcessTimeStamper", "TimeStampResponse", "TimeStampingAuthority"]

DEV_TSA_POLICY: Final = "2.25.19562907021897730133827041246560011368"
"""TSA policy OID of sealbid's development TSA (a UUID-based OID, X.667; no registration needed)."""

_DIGEST_SIZES: Final = {
    "sha256": 32,
    "sha384": 48,
    "sha512": 64,
    "sha3_256": 32,
    "sha3_384": 48,
    "sha3_512": 64,
}


class TimeStampResponse(core.Sequence):  # type: ignore[misc]
    """RFC 3161 TimeStampResp with timeStampToken OPTIONAL (asn1crypto's class requires it, so it cannot
    encode or parse a rejection). Same fields as ``asn1crypto.tsp.TimeStampResp``."""

    _fields: ClassVar = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]


class TimeStampingAuthority:
    """Answers DER TimeStampReq with DER TimeStampResp, signed by the TSA certificate's key."""

    def __init__(
        self,
        certificate: x509.Certificate,
        private_key: PrivateKey,
        chain: Sequence[x509.Certificate] = (),
        *,
        clock: Callable[[], datetime] | None = None,
        policy: str = DEV_TSA_POLICY,
    ) -> None:
        self.certificate = certificate
        self.policy = policy
        self._clock = clock or (lambda: datetime.now(UTC))
        self._asn1_cert = asn1_x509.Certificate.load(certificate.public_bytes(Encoding.DER))
        self._asn1_chain = [asn1_x509.Certificate.load(c.public_bytes(Encoding.DER)) for c in chain]
        self._asn1_key = keys.PrivateKeyInfo.load(
            private_key.private_bytes(Encoding.DER, PrivateFormat.PKCS8, NoEncryption())
        )

    def respond(self, request_der: bytes) -> bytes:
        """Answer one DER-encoded TimeStampReq with a DER-encoded TimeStampResp.

        Malformed requests, unsupported imprint algorithms (SHA-2/SHA-3 only) and foreign policies get
        a ``rejection`` with the matching failInfo rather than an exception.
        """
        try:
            request = tsp.TimeStampReq.load(request_der, strict=True)
            imprint = request["message_imprint"]
            algorithm = imprint["hash_algorithm"]["algorithm"].native
            digest = imprint["hashed_message"].native
            requested_policy = request["req_policy"].native
            has_extensions = request["extensions"].native is not None
        except (ValueError, TypeError):
            return _rejection("bad_data_format", "the request is not a DER TimeStampReq")
        if algorithm not in _DIGEST_SIZES:
            return _rejection("bad_alg", f"unsupported message imprint algorithm {algorithm}")
        if not isinstance(digest, bytes) or len(digest) != _DIGEST_SIZES[algorithm]:
            return _rejection("bad_data_format", "the message imprint has the wrong length")
        if requested_policy is not None and requested_policy != self.policy:
            return _rejection("unaccepted_policy", f"this TSA only issues under policy {self.policy}")
        if has_extensions:
            return _rejection("unaccepted_extensions", "request extensions are not supported")
        stamper = CertomancerTimeStamper(
            tsa_cert=self._asn1_cert,
            tsa_key=self._asn1_key,
            certs_to_embed=self._asn1_chain,
            fixed_dt=self._clock().astimezone(UTC),
            policy=tsp.ObjectIdentifier(self.policy),
            md_algorithm="sha256",
        )
        response = stamper.request_tsa_response(request)
        return bytes(response.dump())

    def timestamper(self) -> InProcessTimeStamper:
        """A pyHanko ``TimeStamper`` that asks this authority directly (no network)."""
        return InProcessTimeStamper(self)


class InProcessTimeStamper(PyhankoTimeStamper):
    """pyHanko time stamper client bound to an in-process :class:`TimeStampingAuthority`."""

    def __init__(self, authority: TimeStampingAuthority) -> None:
        super().__init__(include_nonce=True)  # type: ignore[no-untyped-call]
        self._authority = authority

    async def async_request_tsa_response(self, req: Any) -> Any:
        """Submit a TimeStampReq to the authority and parse its answer."""
        return TimeStampResponse.load(self._authority.respond(req.dump()))


def _rejection(fail_info: str, text: str) -> bytes:
    status = tsp.PKIStatusInfo(
        {
            "status": tsp.PKIStatus("rejection"),
            "status_string": tsp.PKIFreeText([text]),
            "fail_info": tsp.PKIFailureInfo({fail_info}),
        }
    )
    return bytes(_RejectionResp({"status": status}).dump())


class _RejectionResp(core.Sequence):  # type: ignore[misc]
    # asn1crypto's TimeStampResp does not mark timeStampToken OPTIONAL (RFC 3161 section 2.4.2 does).
    _fields: ClassVar = [
        ("status", tsp.PKIStatusInfo),
        ("time_stamp_token", cms.ContentInfo, {"optional": True}),
    ]
