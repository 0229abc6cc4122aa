"""The production fetchers (pyhanko-certvalidator over aiohttp) against the PKI served on localhost.

The PKI's URLs point at an aiohttp server on 127.0.0.1 that answers from a RevocationAuthority, so
OCSP (POST), CRL (GET) and AIA caIssuers chasing go through real HTTP without leaving the machine.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from aiohttp import web

from crypto.identity import IdentityKind
from crypto.pki import (
    BuiltPki,
    CASpec,
    CertificateChecker,
    LeafPurpose,
    LeafSpec,
    NetworkRevocationFetching,
    PkiSpec,
    Purpose,
    Revocation,
    RevocationAuthority,
    ServiceKind,
    ServiceSpec,
    UnknownEndpoint,
    VerdictReason,
    build_pki,
)


@dataclass
class Server:
    base_url: str
    runner: web.AppRunner
    authority: RevocationAuthority | None = None
    ocsp_up: bool = True
    hits: list[str] = field(default_factory=list)


async def _handle(server: Server, request: web.Request) -> web.Response:
    assert server.authority is not None
    url = f"{server.base_url}{request.path.removeprefix('/pki')}"
    server.hits.append(f"{request.method} {request.path}")
    try:
        if request.method == "POST":
            if not server.ocsp_up:
                return web.Response(status=503)
            answer = server.authority.respond_ocsp(url, await request.read())
            return web.Response(body=answer, content_type="application/ocsp-response")
        if url.endswith(".crl"):
            return web.Response(body=server.authority.fetch_crl(url), content_type="application/pkix-crl")
        return web.Response(
            body=server.authority.fetch_issuer_certificate(url), content_type="application/pkix-cert"
        )
    except UnknownEndpoint:
        return web.Response(status=404)


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    app = web.Application()
    runner = web.AppRunner(app)
    holder: list[Server] = []

    async def handle(request: web.Request) -> web.Response:
        return await _handle(holder[0], request)

    app.router.add_route("*", "/pki/{tail:.*}", handle)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    holder.append(Server(f"http://{host}:{port}/pki", runner))
    yield holder[0]
    await runner.cleanup()


def _served_pki(server: Server) -> BuiltPki:
    leaves = (
        LeafSpec("good", IdentityKind.PERSON, "Good", person_id="G1", purpose=LeafPurpose.SIGNING),
        LeafSpec(
            "bad",
            IdentityKind.PERSON,
            "Bad",
            person_id="B1",
            purpose=LeafPurpose.SIGNING,
            revoked=Revocation(),
        ),
    )
    ca = CASpec(
        "net-ca",
        "Net CA",
        leaves=leaves,
        services=(ServiceSpec("net-ocsp", ServiceKind.OCSP_RESPONDER, "Net OCSP"),),
    )
    pki = build_pki(
        PkiSpec(
            roots=(CASpec("net-root", "Net Root", children=(ca,)),),
            base_url=server.base_url,
            now=datetime.now(UTC),
        )
    )
    server.authority = pki.revocation_authority()
    return pki


async def test_network_fetchers_use_ocsp_and_chase_aia(server: Server) -> None:
    pki = _served_pki(server)
    checker = CertificateChecker(
        [pki.credential("net-root").certificate], fetching=NetworkRevocationFetching()
    )
    good = await checker.avalidate(pki.signing("good").certificate, purpose=Purpose.SIGNING)
    assert good.ok, good.message
    assert len(good.path) == 3  # the intermediate came from the caIssuers URL
    assert "GET /pki/ca/net-ca.cer" in server.hits
    assert "POST /pki/ocsp/net-ca" in server.hits
    bad = await checker.avalidate(pki.signing("bad").certificate, purpose=Purpose.SIGNING)
    assert bad.reason is VerdictReason.REVOKED


async def test_network_crl_fallback_and_outage(server: Server) -> None:
    pki = _served_pki(server)
    server.ocsp_up = False
    checker = CertificateChecker(
        [pki.credential("net-root").certificate],
        intermediates=pki.intermediates,
        fetching=NetworkRevocationFetching(per_request_timeout=5),
    )
    good = await checker.avalidate(pki.signing("good").certificate, purpose=Purpose.SIGNING)
    assert good.ok, good.message
    assert "GET /pki/crl/net-ca.crl" in server.hits
    bad = await checker.avalidate(pki.signing("bad").certificate, purpose=Purpose.SIGNING)
    assert bad.reason is VerdictReason.REVOKED
    assert "CRL" in bad.message
    await server.runner.cleanup()  # the whole PKI server goes away
    gone = await checker.avalidate(pki.signing("good").certificate, purpose=Purpose.SIGNING)
    assert gone.reason is VerdictReason.REVOCATION_UNAVAILABLE
