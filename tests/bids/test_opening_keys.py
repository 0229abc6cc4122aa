"""Registering the opening key: the custodian list, every refusal, idempotence, the log, no secrets."""

from __future__ import annotations

import hashlib
import uuid
from datetime import timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from crypto.ceremony import CustodianRecipient, check_share, open_share, parse_bundle, run_ceremony
from crypto.cms import sign_detached
from crypto.pki import BuiltPki
from tendering.bids.opening_key_models import TenderKeyShare, TenderOpeningKey
from tendering.bids.opening_keys import (
    REGISTERED_EVENT,
    ceremony_plan,
    own_share,
    public_opening_certificate,
    register_bundle,
)
from tendering.clock import ManualClock
from tendering.db import Base
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLate
from tendering.identity.audit import Actor, audit_for
from tendering.identity.registry import revoke_certificate
from tendering.platform import Platform
from tendering.settings import Settings
from tendering.tenders import service
from tests.bids.fixtures import (
    CUSTODIAN_NAMES,
    KeyedTender,
    Parties,
    custodian_actor,
    enrol_custodian_encryption,
    lead_signer,
    make_ceremony,
)
from tests.tenders.conftest import log_entries
from tests.tenders.helpers import agency, authority, draft, published, refused


@pytest.fixture
def tender(platform: Platform, clock: ManualClock, parties: Parties, test_pki: BuiltPki) -> uuid.UUID:
    """A published tender whose custodians have registered encryption certificates, no key yet."""
    enrol_custodian_encryption(platform, test_pki)
    return published(platform, clock, parties)


def upload(
    platform: Platform,
    parties: Parties,
    tender_id: uuid.UUID,
    bundle: bytes,
    signature: bytes,
    position: int = 1,
):  # type: ignore[no-untyped-def]
    return register_bundle(platform, tender_id, bundle, signature, actor=custodian_actor(parties, position))


# -- the custodian list -------------------------------------------------------------------------------


def test_custodians_see_the_policy_and_each_custodians_encryption_certificate(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    plan = ceremony_plan(platform, tender, actor=custodian_actor(parties, 2))
    assert plan.threshold == 2 and plan.registered_certificate_sha256 is None
    assert [c.index for c in plan.custodians] == [1, 2, 3]
    assert [c.identity_id for c in plan.custodians] == list(parties.custodians)
    for custodian, name in zip(plan.custodians, CUSTODIAN_NAMES, strict=True):
        assert custodian.certificate_der == test_pki.encryption(name).certificate.public_bytes(Encoding.DER)
        assert custodian.certificate_sha256 == test_pki.encryption(name).fingerprint
        assert custodian.name
    assert plan.suggested_not_after > plan.bid_deadline


def test_a_custodian_without_an_encryption_certificate_is_listed_without_one(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    plan = ceremony_plan(platform, tender_id, actor=custodian_actor(parties))
    assert [c.certificate_der for c in plan.custodians] == [None, None, None]


def test_only_the_tenders_custodians_see_its_custodian_list(
    platform: Platform, parties: Parties, tender: uuid.UUID
) -> None:
    stranger = Actor(parties.tenderers[0], "custodian", "192.0.2.1")
    refused(NotFound, "tender-unknown", ceremony_plan, platform, tender, actor=stranger)
    refused(NotFound, "tender-unknown", ceremony_plan, platform, uuid.uuid4(), actor=custodian_actor(parties))


# -- registration ---------------------------------------------------------------------------------------


def test_the_lead_custodian_registers_the_bundle_and_the_log_carries_the_commitments(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    output = make_ceremony(platform, test_pki, parties, tender)
    registration = upload(platform, parties, tender, output.bundle, output.signature)
    bundle = parse_bundle(output.bundle)
    assert registration.created
    assert registration.opening_certificate_sha256 == bundle.opening_certificate_sha256
    assert registration.commitments == tuple(sorted(bundle.commitments().items()))
    with platform.session_factory() as session:
        key = session.get(TenderOpeningKey, tender)
        assert key is not None
        assert key.certificate_der == bundle.opening_certificate_der
        assert key.lead_custodian_id == parties.custodians[0]
        assert key.bundle_sha256 == hashlib.sha256(output.bundle).hexdigest()
        rows = session.scalars(select(TenderKeyShare).order_by(TenderKeyShare.share_index)).all()
        assert [(r.share_index, r.custodian_id, r.commitment) for r in rows] == [
            (s.index, parties.custodians[s.index - 1], s.commitment) for s in bundle.shares
        ]
        assert [r.encrypted_share for r in rows] == [s.encrypted_share for s in bundle.shares]
    with platform.blobs.open(key.bundle_sha256) as stored:
        assert stored.read() == output.bundle
    with platform.blobs.open(key.signature_sha256) as stored:
        assert stored.read() == output.signature
    events = [e for e in log_entries(platform) if e["type"] == REGISTERED_EVENT]
    assert len(events) == 1
    event = events[0]
    assert event["tender"] == str(tender)
    assert event["data"] == {
        "opening_certificate_sha256": bundle.opening_certificate_sha256,
        "threshold": 2,
        "share_count": 3,
        "commitments": [{"index": s.index, "commitment": s.commitment} for s in bundle.shares],
        "bundle_sha256": key.bundle_sha256,
    }
    assert event["_audit"]["role"] == "custodian"


def test_the_ceremony_may_run_once_the_tender_is_approved(
    platform: Platform, clock: ManualClock, parties: Parties, test_pki: BuiltPki
) -> None:
    enrol_custodian_encryption(platform, test_pki)
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    service.approve(platform, tender_id, actor=authority(parties))
    output = make_ceremony(platform, test_pki, parties, tender_id)
    assert upload(platform, parties, tender_id, output.bundle, output.signature).created
    refused(NotFound, "tender-unknown", public_opening_certificate, platform, tender_id)  # not published yet


def test_a_byte_identical_reupload_is_idempotent_and_a_different_bundle_conflicts(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    output = make_ceremony(platform, test_pki, parties, tender)
    first = upload(platform, parties, tender, output.bundle, output.signature)
    again = upload(platform, parties, tender, output.bundle, output.signature)
    assert (first.created, again.created) == (True, False)
    assert again.opening_certificate_sha256 == first.opening_certificate_sha256
    assert again.commitments == first.commitments
    other = make_ceremony(platform, test_pki, parties, tender)
    refused(
        Conflict, "opening-key-registered", upload, platform, parties, tender, other.bundle, other.signature
    )
    assert [e["type"] for e in log_entries(platform)].count(REGISTERED_EVENT) == 1


def test_only_the_lead_custodian_uploads(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    output = make_ceremony(platform, test_pki, parties, tender, lead="custodian-2")
    refused(
        Forbidden, "not-lead-custodian", upload, platform, parties, tender, output.bundle, output.signature, 2
    )
    stranger = Actor(parties.tenderers[0], "custodian", None)
    refused(
        NotFound,
        "tender-unknown",
        register_bundle,
        platform,
        tender,
        output.bundle,
        output.signature,
        actor=stranger,
    )


def test_the_bundle_must_be_signed_by_the_lead_custodians_own_certificate(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    output = make_ceremony(
        platform, test_pki, parties, tender, lead="custodian-2"
    )  # names custodian-2 as lead
    refused(
        Forbidden,
        "bundle-signer-mismatch",
        upload,
        platform,
        parties,
        tender,
        output.bundle,
        output.signature,
    )


def test_a_signer_certificate_revoked_on_the_platform_is_refused(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    output = make_ceremony(platform, test_pki, parties, tender)
    with platform.transaction() as session:
        revoke_certificate(
            session,
            audit_for(platform),
            test_pki.signing("custodian-1").fingerprint,
            reason="key lost",
            now=platform.clock.now(),
            actor=Actor.system("console"),
        )
    refused(
        Forbidden, "certificate-revoked", upload, platform, parties, tender, output.bundle, output.signature
    )


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"threshold": 3}, "bundle-policy-mismatch"),
        ({"tender_for_key": str(uuid.UUID(int=7))}, "bundle-invalid"),
    ],
)
def test_bundles_that_do_not_fit_the_tender_are_refused(
    platform: Platform,
    parties: Parties,
    test_pki: BuiltPki,
    tender: uuid.UUID,
    kwargs: dict[str, object],
    code: str,
) -> None:
    output = make_ceremony(platform, test_pki, parties, tender, **kwargs)  # type: ignore[arg-type]
    refused(InvalidInput, code, upload, platform, parties, tender, output.bundle, output.signature)


def test_an_opening_certificate_that_expires_before_the_opening_is_refused(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    plan = ceremony_plan(platform, tender, actor=custodian_actor(parties))
    output = make_ceremony(
        platform, test_pki, parties, tender, not_after=plan.bid_deadline + timedelta(days=1)
    )
    error = refused(
        InvalidInput, "bundle-invalid", upload, platform, parties, tender, output.bundle, output.signature
    )
    assert "before" in error.detail


def _ceremony_to(
    platform: Platform,
    parties: Parties,
    test_pki: BuiltPki,
    tender: uuid.UUID,
    custodians: list[CustodianRecipient],
) -> tuple[bytes, bytes]:
    plan = ceremony_plan(platform, tender, actor=custodian_actor(parties))
    now = platform.clock.now()
    output = run_ceremony(
        tender_id=str(tender), threshold=2, custodians=custodians, lead=lead_signer(test_pki),
        not_before=now - timedelta(hours=1), not_after=plan.suggested_not_after, now=now,
    )  # fmt: skip
    return output.bundle, output.signature


def test_shares_must_go_to_the_tenders_custodians_in_order(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    certs = [test_pki.encryption(n).certificate for n in CUSTODIAN_NAMES]
    ids = [str(c) for c in parties.custodians]
    swapped = [
        CustodianRecipient(1, ids[0], certs[0]),
        CustodianRecipient(2, ids[2], certs[2]),
        CustodianRecipient(3, ids[1], certs[1]),
    ]
    refused(
        InvalidInput,
        "bundle-custodian-mismatch",
        upload,
        platform,
        parties,
        tender,
        *_ceremony_to(platform, parties, test_pki, tender, swapped),
    )


def test_shares_must_be_encrypted_to_the_custodians_current_encryption_certificate(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    certs = [test_pki.encryption(n).certificate for n in CUSTODIAN_NAMES]
    ids = [str(c) for c in parties.custodians]
    foreign = test_pki.encryption("tenderer-1").certificate  # somebody else's key
    wrong = [
        CustodianRecipient(1, ids[0], certs[0]),
        CustodianRecipient(2, ids[1], foreign),
        CustodianRecipient(3, ids[2], certs[2]),
    ]
    error = refused(
        InvalidInput,
        "bundle-certificate-mismatch",
        upload,
        platform,
        parties,
        tender,
        *_ceremony_to(platform, parties, test_pki, tender, wrong),
    )
    assert "share 2" in error.detail


def test_a_signature_over_other_bytes_or_garbage_is_refused(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    output = make_ceremony(platform, test_pki, parties, tender)
    other = sign_detached(b"something else", lead_signer(test_pki))
    refused(InvalidInput, "bundle-invalid", upload, platform, parties, tender, output.bundle, other)
    refused(InvalidInput, "bundle-invalid", upload, platform, parties, tender, b"{}", output.signature)
    refused(
        InvalidInput,
        "bundle-too-large",
        upload,
        platform,
        parties,
        tender,
        b" " * (2 << 20),
        output.signature,
    )


def test_no_ceremony_before_approval_after_the_deadline_or_after_cancellation(
    platform: Platform, clock: ManualClock, parties: Parties, test_pki: BuiltPki
) -> None:
    enrol_custodian_encryption(platform, test_pki)
    drafted = draft(platform, clock, parties).summary.id
    output = make_ceremony(platform, test_pki, parties, drafted)
    refused(
        Conflict, "tender-not-approved", upload, platform, parties, drafted, output.bundle, output.signature
    )

    cancelled = published(platform, clock, parties)
    output = make_ceremony(platform, test_pki, parties, cancelled)
    service.cancel(platform, cancelled, "项目取消", actor=agency(parties))
    refused(Conflict, "tender-closed", upload, platform, parties, cancelled, output.bundle, output.signature)

    late = published(platform, clock, parties)
    output = make_ceremony(platform, test_pki, parties, late)
    plan = ceremony_plan(platform, late, actor=custodian_actor(parties))
    clock.advance(plan.bid_deadline - clock.now())
    refused(TooLate, "tender-closed", upload, platform, parties, late, output.bundle, output.signature)


# -- reading it back --------------------------------------------------------------------------------------


def test_the_opening_certificate_is_public_once_registered(
    platform: Platform, parties: Parties, test_pki: BuiltPki, tender: uuid.UUID
) -> None:
    refused(NotFound, "opening-key-missing", public_opening_certificate, platform, tender)
    output = make_ceremony(platform, test_pki, parties, tender)
    upload(platform, parties, tender, output.bundle, output.signature)
    der = public_opening_certificate(platform, tender)
    assert der == parse_bundle(output.bundle).opening_certificate_der
    refused(NotFound, "tender-unknown", public_opening_certificate, platform, uuid.uuid4())


def test_each_custodian_fetches_and_opens_its_own_share(
    platform: Platform, parties: Parties, test_pki: BuiltPki, keyed_tender: KeyedTender
) -> None:
    for position, name in enumerate(CUSTODIAN_NAMES, start=1):
        share = own_share(platform, keyed_tender.tender_id, actor=custodian_actor(parties, position))
        assert share.index == position
        assert share.custodian_certificate_sha256 == test_pki.encryption(name).fingerprint
        key = test_pki.encryption(name).private_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        opened = open_share(
            share.encrypted_share, test_pki.encryption(name).certificate, key,
            tender_id=str(keyed_tender.tender_id), index=position,
            opening_certificate_sha256=share.opening_certificate_sha256,
        )  # fmt: skip
        check_share(opened, share.commitment)
    stranger = Actor(parties.tenderers[0], "custodian", None)
    refused(NotFound, "tender-unknown", own_share, platform, keyed_tender.tender_id, actor=stranger)


def test_no_plaintext_share_or_key_anywhere_in_the_database_or_blob_store(
    platform: Platform, settings: Settings, parties: Parties, test_pki: BuiltPki, keyed_tender: KeyedTender
) -> None:
    bundle = parse_bundle(keyed_tender.output.bundle)
    secrets: list[bytes] = []
    for position, name in enumerate(CUSTODIAN_NAMES, start=1):
        key = test_pki.encryption(name).private_key
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        share = open_share(
            bundle.shares[position - 1].encrypted_share, test_pki.encryption(name).certificate, key,
            tender_id=str(keyed_tender.tender_id), index=position,
        )  # fmt: skip
        value = share.value.to_bytes(32, "big")
        secrets += [value, value.hex().encode(), share.salt, share.salt.hex().encode(), share.to_bytes()]
    scalar = keyed_tender.opening_key(test_pki).private_numbers().private_value.to_bytes(32, "big")
    secrets += [scalar, scalar.hex().encode()]

    stored: list[bytes] = []
    with platform.session_factory() as session:
        for table in Base.metadata.sorted_tables:
            for row in session.execute(select(table)):
                stored += [v if isinstance(v, bytes) else str(v).encode() for v in row]
    stored += [p.read_bytes() for p in settings.data_dir.rglob("*") if p.is_file()]
    assert any(bundle.shares[0].commitment.encode() in blob for blob in stored)  # the scan sees the data
    assert keyed_tender.output.bundle in stored  # ... and the blob store
    for secret in secrets:
        assert not any(secret in blob for blob in stored)


def test_the_opening_certificate_names_the_tender(keyed_tender: KeyedTender) -> None:
    names = keyed_tender.opening_certificate.extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    ).value
    assert names.get_values_for_type(x509.UniformResourceIdentifier) == [keyed_tender.tender_id.urn]
