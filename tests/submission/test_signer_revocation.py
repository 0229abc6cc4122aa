"""A statement signed with a revoked certificate is refused at finalisation, and nothing is stored.

The bidder logs in with its first signing certificate and signs the statement with a second one of
the same organisation (same USCC, issued by the same test CA), which is then revoked - in the
platform's registry, or at the CA, where the platform's certificate checker learns it through OCSP
(the in-memory revocation authority of the test PKI, as in tests/identity).
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient
from sqlalchemy import func, select

from crypto.cms import Signer
from crypto.pki import BuiltPki, CertKind, Credential
from crypto.pki.certs import SIGNING_KEY_USAGE, CertProfile, issue_certificate
from crypto.pki.credentials import CertUsage
from tendering.bids.models import Bid, BidVersion
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.identity.service import grant_by_certificate, revoke_registered_certificate
from tendering.platform import Platform
from tests.submission.conftest import OpenTender
from tests.submission.helpers import Bidder, sealed, submit
from tests.tenders.conftest import Parties, log_types


def _second_signing(pki: BuiltPki, participant: str) -> tuple[BuiltPki, Credential]:
    """``pki`` plus another signing certificate for ``participant``'s organisation."""
    first = pki.signing(participant)
    assert first.issuer is not None
    ca = pki.credential(first.issuer)
    key = ec.generate_private_key(ec.SECP256R1())
    certificate = issue_certificate(
        subject=first.certificate.subject,
        public_key=key.public_key(),
        issuer=(ca.certificate, ca.private_key, ca.name),
        self_key=None,
        not_before=first.certificate.not_valid_before_utc,
        not_after=first.certificate.not_valid_after_utc,
        profile=CertProfile(SIGNING_KEY_USAGE),
        urls=pki.urls,
    )
    second = Credential(
        name=f"{participant}-second-sign",
        kind=CertKind.PARTICIPANT,
        certificate=certificate,
        private_key=key,
        issuer=ca.name,
        participant=f"{participant}-second",
        usage=CertUsage.SIGNING,
        roles=first.roles,
    )
    extended = BuiltPki(base_url=pki.base_url, now=pki.now, credentials=[*pki.credentials.values(), second])
    return extended, second


def _nothing_more_stored(platform: Platform, envelope: bytes) -> None:
    """Still only the one version submitted before the revocation; the refused envelope is not kept."""
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(Bid)) == 1
        assert session.scalar(select(func.count()).select_from(BidVersion)) == 1
    assert not platform.blobs.exists(hashlib.sha256(envelope).hexdigest())
    assert log_types(platform).count("bid.version") == 1


@pytest.mark.parametrize("where", ["registry", "ca"])
def test_a_statement_signed_with_a_revoked_certificate_is_refused(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    clock: ManualClock,
    test_pki: BuiltPki,
    parties: Parties,
    tender: OpenTender,
    bidders: list[Bidder],
    where: str,
) -> None:
    extended, second = _second_signing(test_pki, "tenderer-1")
    dev = platform.certificates.use_dev_pki(extended)
    assert dev is not None
    registered = grant_by_certificate(
        platform,
        second.certificate.public_bytes(Encoding.DER),
        ["tenderer"],
        actor=Actor.system("console"),
        basis="console",
    )
    assert registered.id == parties.tenderers[0]  # the same organisation
    bidder = bidders[0]
    key = second.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    with_second = Bidder(
        bidder.name,
        bidder.headers,
        Signer(second.certificate, key, tuple(extended.chain(second.name))),
        bidder.uscc,
    )
    # before the revocation the second certificate signs for the organisation
    accepted = sealed(tender.opening, b"accepted")
    assert submit(app_client, with_second, tender.id, accepted).status_code == 201

    if where == "registry":
        revoke_registered_certificate(
            platform, second.fingerprint, reason="lost", actor=Actor.system("console")
        )
    else:
        dev.authority.revoke(second.certificate)
        clock.advance(timedelta(seconds=platform.settings.cert_cache_ttl_seconds + 1))
    envelope = sealed(tender.opening, b"refused")
    answer = submit(app_client, with_second, tender.id, envelope)
    assert answer.status_code == 403, answer.text
    problem = answer.json()
    assert problem["code"] == "signer-certificate-invalid"
    assert "revoked" in (problem["detail"] + problem.get("reason", "")).lower()
    _nothing_more_stored(platform, envelope)
    # the login certificate itself is fine: the same bid signed with it is accepted
    assert submit(app_client, bidder, tender.id, envelope).status_code == 201
