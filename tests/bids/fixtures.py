"""Reusable fixtures for sealed-bid tests (the submission tests import them too).

Import the fixtures you use into your test module or conftest, e.g.::

    from tests.bids.fixtures import app_client, dev, keyed_tender, parties, test_pki  # noqa: F401

``keyed_tender`` is a published tender with three custodians (2-of-3) whose lead custodian has run
the real key ceremony and registered the opening key; :meth:`KeyedTender.opening_key` rebuilds the
opening private key from two custodians' shares, as the opening will.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding

from crypto.ceremony import (
    CeremonyOutput,
    CustodianRecipient,
    open_share,
    parse_bundle,
    rebuild_opening_key,
    run_ceremony,
)
from crypto.cms import Signer
from crypto.pki import BuiltPki
from tendering.bids.opening_key_models import Registration
from tendering.bids.opening_keys import ceremony_plan, register_bundle
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.identity.service import grant_by_certificate
from tendering.platform import Platform
from tendering.tenders import service
from tendering.tenders.schedule import tick
from tests.identity.conftest import app_client, dev, test_pki
from tests.tenders.conftest import Parties, parties
from tests.tenders.helpers import agency, authority, draft, state_of

CUSTODIAN_NAMES = ("custodian-1", "custodian-2", "custodian-3")

__all__ = [
    "CUSTODIAN_NAMES",
    "KeyedTender",
    "Parties",
    "app_client",
    "custodian_actor",
    "dev",
    "enrol_custodian_encryption",
    "keyed_tender",
    "lead_signer",
    "make_ceremony",
    "parties",
    "publish_tender",
    "register_opening_key",
    "test_pki",
]


def custodian_actor(parties: Parties, position: int = 1) -> Actor:
    """Custodian ``position`` (1 = the lead) of the test tenders, acting from its own address."""
    return Actor(parties.custodians[position - 1], "custodian", f"198.51.100.{30 + position}")


def enrol_custodian_encryption(platform: Platform, pki: BuiltPki) -> None:
    """Register the three custodians' encryption certificates (as ``sealbid login --encryption-cert``)."""
    for name in CUSTODIAN_NAMES:
        grant_by_certificate(
            platform,
            pki.encryption(name).certificate.public_bytes(Encoding.DER),
            ["custodian"],
            actor=Actor.system("console"),
            basis="console",
            purpose="encryption",
        )


def lead_signer(pki: BuiltPki, name: str = "custodian-1") -> Signer:
    """A CMS signer for a custodian's signing certificate."""
    credential = pki.signing(name)
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Signer(credential.certificate, key, chain=tuple(pki.chain(credential.name)))


def make_ceremony(
    platform: Platform,
    pki: BuiltPki,
    parties: Parties,
    tender_id: uuid.UUID,
    *,
    lead: str = "custodian-1",
    threshold: int | None = None,
    tender_for_key: str | None = None,
    not_after: datetime | None = None,
) -> CeremonyOutput:
    """Run the real ceremony as the tool does, from the server's custodian list (overridable parts)."""
    plan = ceremony_plan(platform, tender_id, actor=custodian_actor(parties))
    recipients = []
    for custodian in plan.custodians:
        assert custodian.certificate_der is not None, "enrol_custodian_encryption first"
        recipients.append(
            CustodianRecipient(
                custodian.index,
                str(custodian.identity_id),
                x509.load_der_x509_certificate(custodian.certificate_der),
            )
        )
    now = platform.clock.now()
    return run_ceremony(
        tender_id=tender_for_key or str(tender_id),
        threshold=threshold or plan.threshold,
        custodians=recipients,
        lead=lead_signer(pki, lead),
        not_before=min(now, plan.publication_time) - timedelta(hours=1),
        not_after=not_after or plan.suggested_not_after,
        now=now,
    )


@dataclass(frozen=True)
class KeyedTender:
    """A published tender with a registered opening key."""

    tender_id: uuid.UUID
    output: CeremonyOutput
    registration: Registration
    opening_certificate: x509.Certificate

    def opening_key(self, pki: BuiltPki, custodians: tuple[int, ...] = (1, 2)) -> ec.EllipticCurvePrivateKey:
        """The opening private key, rebuilt from the given custodians' shares (checked on the way)."""
        bundle = parse_bundle(self.output.bundle)
        shares = []
        for position in custodians:
            credential = pki.encryption(CUSTODIAN_NAMES[position - 1])
            key = credential.private_key
            assert isinstance(key, ec.EllipticCurvePrivateKey)
            shares.append(
                open_share(
                    bundle.shares[position - 1].encrypted_share,
                    credential.certificate,
                    key,
                    tender_id=str(self.tender_id),
                    index=position,
                )
            )
        return rebuild_opening_key(shares, self.opening_certificate, commitments=bundle.commitments())


def register_opening_key(
    platform: Platform, pki: BuiltPki, parties: Parties, tender_id: uuid.UUID
) -> KeyedTender:
    """Run the ceremony for ``tender_id`` and register it as the lead custodian."""
    output = make_ceremony(platform, pki, parties, tender_id)
    registration = register_bundle(
        platform, tender_id, output.bundle, output.signature, actor=custodian_actor(parties)
    )
    certificate = parse_bundle(output.bundle).opening_certificate
    return KeyedTender(tender_id, output, registration, certificate)


def publish_tender(platform: Platform, clock: ManualClock, parties: Parties) -> uuid.UUID:
    """A tender drafted, approved and published (the clock moves to its publication time, an hour on).

    Unlike ``tests.tenders.helpers.published`` this does not insist that *this* sweep published it:
    a running app's maintenance sweep may publish it first.
    """
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    service.approve(platform, tender_id, actor=authority(parties))
    clock.advance(timedelta(hours=1))
    tick(platform)
    assert state_of(platform, tender_id) == "published"
    return tender_id


@pytest.fixture
def keyed_tender(
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    test_pki: BuiltPki,
) -> KeyedTender:
    """A published tender (2-of-3 custodians) whose opening key is registered; clock at publication."""
    enrol_custodian_encryption(platform, test_pki)
    tender_id = publish_tender(platform, clock, parties)
    return register_opening_key(platform, test_pki, parties, tender_id)
