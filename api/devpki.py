"""The development PKI's public endpoints (only when ``settings.dev_pki``).

The URLs written into development certificates resolve here when ``sealbid serve`` runs
(base ``settings.public_url + "/dev-pki"``)::

    GET  /dev-pki/ca/{ca}.cer         CA certificate, DER (AIA caIssuers); .crt / .pem give PEM
    GET  /dev-pki/crl/{ca}.crl        a freshly signed CRL, DER
    POST /dev-pki/ocsp/{ca}           OCSP (application/ocsp-request -> application/ocsp-response)
    POST /dev-pki/ocsp                the same, for whichever CA issued the certificate asked about
    POST /dev-pki/tsa[/{name}]        RFC 3161 (application/timestamp-query -> application/timestamp-reply)
    GET  /dev-pki/trust/ca-bundle.pem every CA certificate, for ``openssl ... -CAfile``

All of them are public, as OCSP, CRL and TSA endpoints are. Without a development PKI they answer 404.
"""

from __future__ import annotations

from typing import Any, Final

import anyio.to_thread
from cryptography.hazmat.primitives.serialization import Encoding
from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath

from api.auth import PUBLIC
from api.deps import PlatformDep
from crypto.pki import CertKind
from tendering.errors import InvalidInput, NotFound
from tendering.identity.checker import DevPki
from tendering.platform import Platform

OCSP_RESPONSE: Final = "application/ocsp-response"
TIMESTAMP_REPLY: Final = "application/timestamp-reply"
_MAX_BODY: Final = 64 * 1024


def _dev(platform: Platform) -> DevPki:
    dev = platform.certificates.dev_pki() if platform.settings.dev_pki else None
    if dev is None:
        raise NotFound("this server has no development PKI (run: sealbid pki init)", code="dev-pki-missing")
    return dev


def _ca_names(dev: DevPki) -> list[str]:
    return [c.name for c in dev.pki.of_kind(CertKind.CA)]


async def _body(request: Request[Any, Any, Any]) -> bytes:
    body = await request.body()
    if not body or len(body) > _MAX_BODY:
        msg = "the request body must be a DER structure of at most 64 KiB"
        raise InvalidInput(msg, code="bad-request-body")
    return body


def _split(filename: str, allowed: tuple[str, ...]) -> tuple[str, str]:
    name, dot, extension = filename.rpartition(".")
    if not dot or extension not in allowed:
        raise NotFound(f"no such file {filename!r}", code="not-found")
    return name, extension


class DevPkiController(Controller):
    """CA certificates, CRLs, OCSP and time-stamps of the development PKI."""

    path = "/dev-pki"
    tags = ["development PKI"]  # noqa: RUF012 - Litestar layer attribute
    opt = PUBLIC

    @get("/ca/{filename:str}", sync_to_thread=True, summary="A CA certificate (.cer DER, .crt/.pem PEM)")
    def ca_certificate(self, platform: PlatformDep, filename: FromPath[str]) -> Response[bytes]:
        """Serve a CA certificate of the development PKI."""
        dev = _dev(platform)
        name, extension = _split(filename, ("cer", "crt", "pem", "der"))
        if name not in _ca_names(dev):
            raise NotFound(f"no CA called {name!r}", code="not-found")
        certificate = dev.pki.credential(name).certificate
        if extension in ("cer", "der"):
            return Response(certificate.public_bytes(Encoding.DER), media_type="application/pkix-cert")
        return Response(certificate.public_bytes(Encoding.PEM), media_type="application/x-pem-file")

    @get("/trust/ca-bundle.pem", sync_to_thread=True, summary="Every CA certificate, PEM")
    def ca_bundle(self, platform: PlatformDep) -> Response[bytes]:
        """Roots and intermediates, for ``openssl verify -CAfile`` and friends."""
        dev = _dev(platform)
        bundle = b"".join(c.public_bytes(Encoding.PEM) for c in (*dev.pki.roots, *dev.pki.intermediates))
        return Response(bundle, media_type="application/x-pem-file")

    @get("/crl/{filename:str}", sync_to_thread=True, summary="A CA's current CRL, DER")
    def crl(self, platform: PlatformDep, filename: FromPath[str]) -> Response[bytes]:
        """A freshly signed CRL."""
        dev = _dev(platform)
        name, _ = _split(filename, ("crl",))
        if name not in _ca_names(dev):
            raise NotFound(f"no CA called {name!r}", code="not-found")
        return Response(dev.authority.crl(name), media_type="application/pkix-crl")

    @post("/ocsp", status_code=200, summary="OCSP for any CA of the development PKI")
    async def ocsp_any(self, platform: PlatformDep, request: Request[Any, Any, Any]) -> Response[bytes]:
        """Answer a DER OCSPRequest (as ``openssl ocsp -url`` sends it)."""
        body = await _body(request)
        dev = _dev(platform)
        answer = await anyio.to_thread.run_sync(lambda: dev.authority.ocsp_response(body))
        return Response(answer, media_type=OCSP_RESPONSE)

    @post("/ocsp/{ca:str}", status_code=200, summary="OCSP for one CA (the URL in its certificates)")
    async def ocsp(
        self, platform: PlatformDep, ca: FromPath[str], request: Request[Any, Any, Any]
    ) -> Response[bytes]:
        """Answer a DER OCSPRequest about a certificate ``ca`` issued."""
        body = await _body(request)
        dev = _dev(platform)
        if ca not in _ca_names(dev):
            raise NotFound(f"no CA called {ca!r}", code="not-found")
        answer = await anyio.to_thread.run_sync(lambda: dev.authority.ocsp_response(body, only_ca=ca))
        return Response(answer, media_type=OCSP_RESPONSE)

    @post(["/tsa", "/tsa/{name:str}"], status_code=200, summary="RFC 3161 time-stamping")
    async def tsa(
        self, platform: PlatformDep, request: Request[Any, Any, Any], name: FromPath[str | None] = None
    ) -> Response[bytes]:
        """Answer a DER TimeStampReq with a TimeStampResp."""
        body = await _body(request)
        dev = _dev(platform)
        authority = dev.tsa
        if authority is None or (name is not None and dev.pki.credentials.get(name) is None):
            raise NotFound("no time-stamping authority by that name", code="not-found")
        if name is not None and dev.pki.credential(name).certificate != authority.certificate:
            try:
                authority = dev.pki.tsa(name, clock=platform.clock.now)
            except KeyError:
                raise NotFound(f"{name!r} is not a time-stamping authority", code="not-found") from None
        answer = await anyio.to_thread.run_sync(lambda: authority.respond(body))
        return Response(answer, media_type=TIMESTAMP_REPLY)
