"""Where OCSP responses, CRLs and issuer certificates come from during validation.

:class:`RevocationFetching` is the Protocol the :class:`~crypto.pki.validation.CertificateChecker`
depends on: it hands out one pyhanko-certvalidator fetcher backend per validation. Two implementations:

* :class:`NetworkRevocationFetching` -- pyhanko-certvalidator's aiohttp fetchers: OCSP (POST) and CRL
  (GET) from the URLs in the certificates, AIA caIssuers chasing, bounded by fetch limits. Production.
* :class:`InMemoryRevocationFetching` -- the same requests answered by a local
  :class:`RevocationResponder` (e.g. :class:`crypto.pki.revocation.RevocationAuthority`), with no
  network. OCSP requests are formatted and responses checked by the same pyhanko-certvalidator helpers
  as over HTTP (CertID, nonce). Endpoints can be switched off to simulate outages, and every request
  is counted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncGenerator, Iterable
from typing import Any, Protocol, runtime_checkable

from asn1crypto import crl as asn1_crl
from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator.errors import CRLFetchError, OCSPFetchError, OCSPValidationError
from pyhanko_certvalidator.fetchers import (
    CertificateFetcher,
    CRLFetcher,
    FetcherBackend,
    Fetchers,
    OCSPFetcher,
)
from pyhanko_certvalidator.fetchers.aiohttp_fetchers import AIOHttpFetcherBackend
from pyhanko_certvalidator.fetchers.api import FetchLimits
from pyhanko_certvalidator.fetchers.common_utils import (
    enumerate_delivery_point_urls,
    format_ocsp_request,
    gather_aia_issuer_urls,
    process_ocsp_response_data,
)
from pyhanko_certvalidator.util import get_ocsp_urls, get_relevant_crl_dps, issuer_serial

__all__ = [
    "InMemoryRevocationFetching",
    "NetworkRevocationFetching",
    "RevocationFetching",
    "RevocationResponder",
]


@runtime_checkable
class RevocationFetching(Protocol):
    """Source of revocation information and issuer certificates for validations."""

    def backend(self) -> FetcherBackend:
        """A fresh fetcher backend for one validation; the caller enters and closes it."""
        ...


class RevocationResponder(Protocol):
    """What an in-process PKI answers at its URLs. Unknown URLs raise :class:`LookupError`."""

    def respond_ocsp(self, url: str, request_der: bytes) -> bytes:
        """Answer a DER OCSPRequest sent to ``url`` with a DER OCSPResponse."""
        ...

    def fetch_crl(self, url: str) -> bytes:
        """The DER CRL at ``url``."""
        ...

    def fetch_issuer_certificate(self, url: str) -> bytes:
        """The DER certificate at a caIssuers ``url``."""
        ...


class NetworkRevocationFetching:
    """pyhanko-certvalidator's aiohttp fetchers (the production implementation).

    Issuer certificates are never fetched from a certificate's caIssuers URL by default: those URLs
    are chosen by whoever made the certificate, so following them would let anyone make the server
    send requests into its own network (SSRF) before the certificate is known to be trusted.
    Intermediates come from configuration or the chain the client sends. OCSP and CRL URLs are only
    followed for certificates on a path that already ends at a trust anchor.
    """

    def __init__(
        self,
        *,
        per_request_timeout: float = 10.0,
        limits: FetchLimits | None = None,
        fetch_issuers: bool = False,
    ) -> None:
        self.per_request_timeout = per_request_timeout
        self.limits = limits or FetchLimits(
            max_requests=64, max_cert_requests=16 if fetch_issuers else 0, max_aia_urls_per_object=4
        )

    def backend(self) -> FetcherBackend:
        """A new aiohttp backend (its lazily created session is closed with the backend)."""
        return AIOHttpFetcherBackend(per_request_timeout=self.per_request_timeout, limits=self.limits)


class InMemoryRevocationFetching:
    """Fetchers answered by a local :class:`RevocationResponder`; no network.

    ``ocsp``, ``crl`` and ``ca_issuers`` switch the respective endpoints on or off (off behaves like
    an unreachable server). :attr:`requests` counts attempted requests by kind.
    """

    def __init__(
        self,
        responder: RevocationResponder,
        *,
        ocsp: bool = True,
        crl: bool = True,
        ca_issuers: bool = True,
        certid_hash: str = "sha256",
    ) -> None:
        self.responder = responder
        self.ocsp_enabled = ocsp
        self.crl_enabled = crl
        self.ca_issuers_enabled = ca_issuers
        self.certid_hash = certid_hash
        self.requests: Counter[str] = Counter()

    def backend(self) -> FetcherBackend:
        """A backend whose fetchers call the responder."""
        return _InMemoryBackend(self)


class _InMemoryBackend(FetcherBackend):
    def __init__(self, owner: InMemoryRevocationFetching) -> None:
        self._owner = owner

    def get_fetchers(self) -> Fetchers:
        return Fetchers(
            ocsp_fetcher=_OcspFetcher(self._owner),
            crl_fetcher=_CrlFetcher(self._owner),
            cert_fetcher=_CertFetcher(self._owner),
        )

    async def close(self) -> None:
        return None


class _OcspFetcher(OCSPFetcher):
    def __init__(self, owner: InMemoryRevocationFetching) -> None:
        self._owner = owner
        self._results: dict[bytes, Any] = {}

    async def fetch(self, cert: Any, authority: Any) -> Any:
        tag = issuer_serial(cert)
        if tag in self._results:
            return self._results[tag]
        owner = self._owner
        request = format_ocsp_request(
            cert, authority, certid_hash_algo=owner.certid_hash, request_nonces=True
        )
        urls = get_ocsp_urls(cert)
        if not urls:
            raise OCSPFetchError("No URLs to fetch OCSP responses from")
        last_error = "no OCSP responder answered"
        for url in urls:
            owner.requests["ocsp"] += 1
            if not owner.ocsp_enabled:
                last_error = f"OCSP responder {url} is unreachable"
                continue
            try:
                answer = owner.responder.respond_ocsp(url, request.dump())
                response = process_ocsp_response_data(answer, ocsp_request=request, ocsp_url=url)
            except LookupError:
                last_error = f"no OCSP responder at {url}"
                continue
            except OCSPValidationError as exc:
                last_error = str(exc)
                continue
            self._results[tag] = response
            return response
        raise OCSPFetchError(last_error)

    def fetched_responses(self) -> Iterable[Any]:
        return list(self._results.values())

    def fetched_responses_for_cert(self, cert: Any) -> Iterable[Any]:
        response = self._results.get(issuer_serial(cert))
        return [response] if response is not None else []


class _CrlFetcher(CRLFetcher):
    def __init__(self, owner: InMemoryRevocationFetching) -> None:
        self._owner = owner
        self._by_cert: dict[bytes, list[Any]] = {}

    async def fetch(self, cert: Any, *, use_deltas: Any = None) -> Iterable[Any]:
        tag = issuer_serial(cert)
        if tag in self._by_cert:
            return self._by_cert[tag]
        owner = self._owner
        results: list[Any] = []
        errors: list[str] = []
        for point in get_relevant_crl_dps(cert, use_deltas=bool(use_deltas)):
            for url in enumerate_delivery_point_urls(point):
                owner.requests["crl"] += 1
                if not owner.crl_enabled:
                    errors.append(f"CRL server {url} is unreachable")
                    continue
                try:
                    results.append(asn1_crl.CertificateList.load(owner.responder.fetch_crl(url)))
                except LookupError:
                    errors.append(f"no CRL at {url}")
        if errors and not results:
            raise CRLFetchError("; ".join(errors))
        self._by_cert[tag] = results
        return results

    def fetched_crls(self) -> Iterable[Any]:
        return [c for crls in self._by_cert.values() for c in crls]

    def fetched_crls_for_cert(self, cert: Any) -> Iterable[Any]:
        return self._by_cert[issuer_serial(cert)]


class _CertFetcher(CertificateFetcher):
    def __init__(self, owner: InMemoryRevocationFetching) -> None:
        self._owner = owner
        self._certs: dict[str, Any] = {}

    async def fetch_cert_issuers(self, cert: Any) -> AsyncGenerator[Any, None]:
        for url in gather_aia_issuer_urls(cert):
            issuer = self._fetch(url)
            if issuer is not None:
                yield issuer

    async def fetch_crl_issuers(self, certificate_list: Any) -> AsyncGenerator[Any, None]:
        for url in certificate_list.issuer_cert_urls:
            issuer = self._fetch(url)
            if issuer is not None:
                yield issuer

    def _fetch(self, url: str) -> Any:
        # Like the network fetcher, a failed caIssuers fetch is skipped: path building then fails.
        if url in self._certs:
            return self._certs[url]
        owner = self._owner
        owner.requests["ca_issuers"] += 1
        if not owner.ca_issuers_enabled:
            return None
        try:
            cert = asn1_x509.Certificate.load(owner.responder.fetch_issuer_certificate(url))
        except LookupError:
            return None
        self._certs[url] = cert
        return cert

    def fetched_certs(self) -> Iterable[Any]:
        return list(self._certs.values())
