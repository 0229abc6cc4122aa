"""Conformance of the RevocationFetching implementations, and the network one over real HTTP.

The same scenarios run against :class:`InMemoryRevocationFetching` and against
:class:`NetworkRevocationFetching` (pyhanko-certvalidator's aiohttp fetchers) talking to an aiohttp
server on 127.0.0.1 that answers from a RevocationAuthority. Outages are simulated per endpoint kind.
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
    InMemoryRevocationFetching,
    LeafPurpose,
    LeafSpec,
    NetworkRevocationFetching,
    PkiSpec,
    Purpose,
    Revocation,
    RevocationAuthority,
    RevocationFetching,
    RevocationPolicy,
    ServiceKind,
    ServiceSpec,
    UnknownEndpoint,
    VerdictReason,
    build_pki,
)


def _spec(base_url: str) -> PkiSpec:
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
    return PkiSpec(
        roots=(CASpec("net-root", "Net Root", children=(ca,)),), base_url=base_url, now=datetime.now(UTC)
    )


@dataclass
class Setup:
    """A PKI, a fetching implementation and switches for its endpoints."""

    pki: BuiltPki
    fetching: RevocationFetching
    up: dict[str, bool] = field(default_factory=lambda: {"ocsp": True, "crl": True, "ca_issuers": True})
    hits: list[str] = field(default_factory=list)

    def switch(self, kind: str, *, up: bool) -> None:
        self.up[kind] = up
        if isinstance(self.fetching, InMemoryRevocationFetching):
            setattr(self.fetching, f"{kind}_enabled", up)

    def checker(self, **kw: object) -> CertificateChecker:
        return CertificateChecker(
            [self.pki.credential("net-root").certificate],
            fetching=self.fetching,
            **kw,  # type: ignore[arg-type]
        )


async def _serve(
    setup_holder: list[Setup], authority_holder: list[RevocationAuthority], request: web.Request
) -> web.Response:
    setup, authority = setup_holder[0], authority_holder[0]
    url = f"{setup.pki.base_url}{request.path.removeprefix('/pki')}"
    setup.hits.append(f"{request.method} {request.path}")
    kind = "ocsp" if request.method == "POST" else "crl" if url.endswith(".crl") else "ca_issuers"
    if not setup.up[kind]:
        return web.Response(status=503)
    try:
        if kind == "ocsp":
            return web.Response(
                body=authority.respond_ocsp(url, await request.read()),
                content_type="application/ocsp-response",
            )
        if kind == "crl":
            return web.Response(body=authority.fetch_crl(url), content_type="application/pkix-crl")
        return web.Response(
            body=authority.fetch_issuer_certificate(url), content_type="application/pkix-cert"
        )
    except UnknownEndpoint:
        return web.Response(status=404)


@pytest.fixture(params=["in-memory", "network"])
async def setup(request: pytest.FixtureRequest) -> AsyncIterator[Setup]:
    if request.param == "in-memory":
        pki = build_pki(_spec("http://pki.invalid/pki"))
        yield Setup(pki, InMemoryRevocationFetching(pki.revocation_authority()))
        return
    setups: list[Setup] = []
    authorities: list[RevocationAuthority] = []

    async def handle(http_request: web.Request) -> web.Response:
        return await _serve(setups, authorities, http_request)

    app = web.Application()
    app.router.add_route("*", "/pki/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    pki = build_pki(_spec(f"http://{host}:{port}/pki"))
    authorities.append(pki.revocation_authority())
    # This suite exercises caIssuers fetching too, which production leaves off (see the test below).
    setups.append(Setup(pki, NetworkRevocationFetching(per_request_timeout=5, fetch_issuers=True)))
    yield setups[0]
    await runner.cleanup()


async def test_ocsp_answers_and_aia_supplies_the_intermediate(setup: Setup) -> None:
    checker = setup.checker()
    good = await checker.avalidate(setup.pki.signing("good").certificate, purpose=Purpose.SIGNING)
    assert good.ok, good.message
    assert len(good.path) == 3  # net-ca was fetched from the caIssuers URL
    bad = await checker.avalidate(setup.pki.signing("bad").certificate, purpose=Purpose.SIGNING)
    assert bad.reason is VerdictReason.REVOKED
    assert "OCSP" in bad.message
    if isinstance(setup.fetching, NetworkRevocationFetching):
        assert {"GET /pki/ca/net-ca.cer", "POST /pki/ocsp/net-ca", "POST /pki/ocsp/net-root"} <= set(
            setup.hits
        )


async def test_crl_fallback(setup: Setup) -> None:
    setup.switch("ocsp", up=False)
    checker = setup.checker()
    assert (await checker.avalidate(setup.pki.signing("good").certificate, purpose=Purpose.SIGNING)).ok
    bad = await checker.avalidate(setup.pki.signing("bad").certificate, purpose=Purpose.SIGNING)
    assert bad.reason is VerdictReason.REVOKED
    assert "CRL" in bad.message


async def test_outage_under_require_and_soft_fail(setup: Setup) -> None:
    setup.switch("ocsp", up=False)
    setup.switch("crl", up=False)
    good = setup.pki.signing("good").certificate
    required = await setup.checker(intermediates=setup.pki.intermediates).avalidate(
        good, purpose=Purpose.SIGNING
    )
    assert required.reason is VerdictReason.REVOCATION_UNAVAILABLE
    soft = await setup.checker(
        intermediates=setup.pki.intermediates, revocation=RevocationPolicy.SOFT_FAIL
    ).avalidate(good, purpose=Purpose.SIGNING)
    assert soft.ok
    assert soft.warnings


async def test_missing_intermediate_without_aia(setup: Setup) -> None:
    setup.switch("ca_issuers", up=False)
    verdict = await setup.checker().avalidate(setup.pki.signing("good").certificate, purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.UNTRUSTED


@pytest.mark.parametrize("setup", ["network"], indirect=True)
async def test_network_fetching_does_not_follow_ca_issuers_by_default(setup: Setup) -> None:
    """A caIssuers URL is chosen by whoever made the certificate: following it would be an SSRF."""
    setup.fetching = NetworkRevocationFetching(per_request_timeout=5)
    verdict = await setup.checker().avalidate(setup.pki.signing("good").certificate, purpose=Purpose.SIGNING)
    assert verdict.reason is VerdictReason.UNTRUSTED
    assert not any(hit.startswith("GET") and not hit.endswith(".crl") for hit in setup.hits), setup.hits
