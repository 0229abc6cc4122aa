"""The opening key of a tender, as the server sees it: registered by the custodians' ceremony.

The ceremony runs on the lead custodian's machine (``sealbid custodian ceremony``,
``docs/ceremony.md``). The server hands the ceremony tool the tender's custodians and their current
encryption certificates, then verifies and registers the signed bundle: opening certificate,
encrypted shares and commitments (never a plaintext share or key). The lead custodian is the
first custodian listed in the tender's opening policy; custodian i (1-based, in the policy's order)
receives share index i. A tender cannot take bids until this is
done: the submission service calls :func:`require_opening_key`.
"""

from __future__ import annotations

import hashlib
import io
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from crypto.ceremony import MAX_BUNDLE_SIZE, CeremonyError, OpeningKeyBundle, verify_bundle
from crypto.cms import CmsError, peek_envelope
from tendering.bids.opening_key_models import (
    CeremonyPlan,
    CustodianCertificate,
    OwnShare,
    Registration,
    TenderKeyShare,
    TenderOpeningKey,
)
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLate
from tendering.identity import pki
from tendering.identity.audit import Actor
from tendering.identity.models import Certificate, CertificatePurpose, CertificateStatus, Identity
from tendering.tenders.events import log_event
from tendering.tenders.models import Tender
from tendering.tenders.store import load, tender_not_found, unit
from tendering.tenders.workflow import State

if TYPE_CHECKING:
    from tendering.platform import Platform

OPENING_KEY_MISSING: Final = "opening-key-missing"
#: The opening certificate must stay valid at least this long after the bid deadline (the opening).
MIN_VALIDITY_AFTER_DEADLINE: Final = timedelta(days=7)
#: What the ceremony tool asks for: the deadline plus this (room for a moved deadline).
SUGGESTED_VALIDITY_AFTER_DEADLINE: Final = timedelta(days=60)
MAX_SIGNATURE_SIZE: Final = 64 * 1024
#: States in which the opening policy is final and bids are not yet due.
CEREMONY_STATES: Final = frozenset({State.APPROVED.value, State.PUBLISHED.value})
REGISTERED_EVENT: Final = "tender.opening_key.registered"


def require_opening_key(session: Session, tender_id: uuid.UUID) -> TenderOpeningKey:
    """The tender's registered opening key, or a Conflict (``opening-key-missing``).

    Bids are sealed to the opening certificate, so without a registered ceremony bundle there is
    nothing a bid could be sealed to and no way to open it later.
    """
    key = session.get(TenderOpeningKey, tender_id)
    if key is None:
        raise Conflict(
            "this tender cannot take bids yet: its custodians have not registered the opening key",
            code=OPENING_KEY_MISSING,
        )
    return key


def _identity(actor: Actor) -> uuid.UUID:
    if actor.identity_id is None:
        raise Forbidden("only a logged-in custodian may do this", code="role-required")
    return actor.identity_id


def _custodian_of(tender: Tender, identity_id: uuid.UUID) -> int:
    """The caller's share index (1-based rank among the tender's custodians); NotFound for others."""
    for index, row in enumerate(tender.custodians, start=1):
        if row.identity_id == identity_id:
            return index
    raise tender_not_found()


def current_encryption_certificate(
    platform: Platform, session: Session, identity_id: uuid.UUID
) -> Certificate | None:
    """The identity's newest active registered encryption certificate that the PKI accepts now."""
    now = platform.clock.now()
    rows = session.scalars(
        select(Certificate)
        .where(
            Certificate.identity_id == identity_id,
            Certificate.purpose == CertificatePurpose.ENCRYPTION.value,
            Certificate.status == CertificateStatus.ACTIVE.value,
            Certificate.not_before <= now,
            Certificate.not_after > now,
        )
        .order_by(Certificate.registered_at.desc(), Certificate.not_after.desc())
    )
    for row in rows:
        if platform.certificates.validate(row.der, purpose="encryption").ok:
            return row
    return None


def _custodian_certificates(
    platform: Platform, session: Session, tender: Tender
) -> tuple[CustodianCertificate, ...]:
    out = []
    for index, row in enumerate(tender.custodians, start=1):
        identity = session.get(Identity, row.identity_id)
        cert = current_encryption_certificate(platform, session, row.identity_id)
        out.append(
            CustodianCertificate(
                index=index,
                identity_id=row.identity_id,
                name=identity.display_name if identity else "",
                certificate_der=cert.der if cert else None,
                certificate_sha256=cert.fingerprint if cert else None,
            )
        )
    return tuple(out)


def ceremony_plan(platform: Platform, tender_id: uuid.UUID, *, actor: Actor) -> CeremonyPlan:
    """The custodians and their current encryption certificates (custodians of the tender only)."""
    with platform.session_factory() as session:
        tender = load(session, tender_id)
        _custodian_of(tender, _identity(actor))
        key = session.get(TenderOpeningKey, tender_id)
        return CeremonyPlan(
            tender_id=tender.id,
            title=tender.title,
            state=tender.state,
            threshold=tender.opening_threshold,
            publication_time=tender.publication_time,
            bid_deadline=tender.bid_deadline,
            custodians=_custodian_certificates(platform, session, tender),
            registered_certificate_sha256=key.certificate_sha256 if key else None,
            suggested_not_after=tender.bid_deadline + SUGGESTED_VALIDITY_AFTER_DEADLINE,
        )


def _check_state(tender: Tender, now: datetime) -> None:
    if tender.state in (State.CANCELLED.value, State.FAILED.value):
        raise Conflict(f"the tender is {tender.state}; it needs no opening key", code="tender-closed")
    if tender.state not in CEREMONY_STATES:
        raise Conflict(
            "the opening key is made once the authority has approved the tender "
            "(until then its custodians and threshold may still change)",
            code="tender-not-approved",
        )
    if now >= tender.bid_deadline:
        raise TooLate(
            "the bid deadline has passed; it is too late for the key ceremony", code="tender-closed"
        )


def _check_policy(
    bundle: OpeningKeyBundle, tender: Tender, custodians: tuple[CustodianCertificate, ...]
) -> None:
    if bundle.threshold != tender.opening_threshold or bundle.share_count != len(custodians):
        raise InvalidInput(
            f"the bundle splits the key {bundle.threshold}-of-{bundle.share_count}, but the tender's opening "
            f"policy is {tender.opening_threshold}-of-{len(custodians)}",
            code="bundle-policy-mismatch",
        )
    for share, custodian in zip(bundle.shares, custodians, strict=True):
        if share.custodian != str(custodian.identity_id):
            raise InvalidInput(
                f"share {share.index} is for {share.custodian}, but the tender's custodian "
                f"{custodian.index} is {custodian.identity_id}",
                code="bundle-custodian-mismatch",
            )
        if (
            custodian.certificate_der is None
            or share.custodian_certificate_sha256 != custodian.certificate_sha256
        ):
            raise InvalidInput(
                f"share {share.index} is not encrypted to {custodian.name}'s current encryption certificate",
                code="bundle-certificate-mismatch",
            )
        certificate = x509.load_der_x509_certificate(custodian.certificate_der)
        try:
            addressed = peek_envelope(share.encrypted_share).is_addressed_to(certificate)
        except CmsError:
            addressed = False
        if not addressed:
            raise InvalidInput(
                f"the envelope of share {share.index} is not addressed to "
                f"{custodian.name}'s encryption certificate",
                code="bundle-certificate-mismatch",
            )


def _check_signer(platform: Platform, session: Session, signer: x509.Certificate, actor: Actor) -> None:
    fingerprint = hashlib.sha256(signer.public_bytes(Encoding.DER)).hexdigest()
    row = session.scalar(select(Certificate).where(Certificate.fingerprint == fingerprint))
    if row is None or row.identity_id != actor.identity_id or row.purpose != CertificatePurpose.SIGNING.value:
        raise Forbidden(
            "the bundle must be signed with your own registered signing certificate",
            code="bundle-signer-mismatch",
        )
    if row.status != CertificateStatus.ACTIVE.value:
        raise Forbidden(
            "the certificate that signed the bundle is revoked on the platform", code="certificate-revoked"
        )
    verdict = platform.certificates.validate(signer, purpose="signing")
    if not verdict.ok:
        raise pki.refusal(verdict, what="bundle signer's certificate")


def _registration(key: TenderOpeningKey, shares: list[TenderKeyShare], *, created: bool) -> Registration:
    return Registration(
        tender_id=key.tender_id,
        opening_certificate_sha256=key.certificate_sha256,
        bundle_sha256=key.bundle_sha256,
        threshold=key.threshold,
        share_count=key.share_count,
        commitments=tuple(sorted((s.share_index, s.commitment) for s in shares)),
        created=created,
    )


def _shares_of(session: Session, tender_id: uuid.UUID) -> list[TenderKeyShare]:
    return list(session.scalars(select(TenderKeyShare).where(TenderKeyShare.tender_id == tender_id)))


def _replay(session: Session, tender_id: uuid.UUID, bundle_sha256: str) -> Registration | None:
    key = session.get(TenderOpeningKey, tender_id)
    if key is None:
        return None
    if key.bundle_sha256 != bundle_sha256:
        raise Conflict(
            "this tender's opening key is already registered (a different ceremony bundle)",
            code="opening-key-registered",
        )
    return _registration(key, _shares_of(session, tender_id), created=False)


def register_bundle(
    platform: Platform, tender_id: uuid.UUID, bundle: bytes, signature: bytes, *, actor: Actor
) -> Registration:
    """Verify the lead custodian's signed ceremony bundle against the tender and register it.

    A byte-identical re-upload answers with the registration (``created=False``); a different bundle
    after registration is a Conflict. Logs ``tender.opening_key.registered`` in the same transaction.
    """
    if len(bundle) > MAX_BUNDLE_SIZE or len(signature) > MAX_SIGNATURE_SIZE:
        raise InvalidInput("the bundle or its signature is too large", code="bundle-too-large")
    bundle_sha256 = hashlib.sha256(bundle).hexdigest()
    now = platform.clock.now()
    with platform.session_factory() as session:
        tender = load(session, tender_id)
        if _custodian_of(tender, _identity(actor)) != 1:
            raise Forbidden(
                "only the lead custodian (the first custodian of the tender) runs the key ceremony",
                code="not-lead-custodian",
            )
        replay = _replay(session, tender_id, bundle_sha256)
        if replay is not None:
            return replay
        _check_state(tender, now)
        try:
            verified = verify_bundle(
                bundle,
                signature,
                tender_id=str(tender.id),
                valid_at=now,
                valid_until=tender.bid_deadline + MIN_VALIDITY_AFTER_DEADLINE,
            )
        except CeremonyError as exc:
            raise InvalidInput(
                f"the ceremony bundle is not acceptable: {exc}", code="bundle-invalid"
            ) from None
        _check_signer(platform, session, verified.signer_certificate, actor)
        custodians = _custodian_certificates(platform, session, tender)
        _check_policy(verified.bundle, tender, custodians)
    platform.blobs.put(io.BytesIO(bundle), expected_sha256=bundle_sha256)
    signature_sha256 = platform.blobs.put(io.BytesIO(signature)).sha256
    try:
        return _store(
            platform,
            tender_id,
            verified.bundle,
            custodians=custodians,
            actor=actor,
            bundle_sha256=bundle_sha256,
            signature_sha256=signature_sha256,
        )
    except IntegrityError:  # a concurrent upload won; answer as a re-upload would
        with platform.session_factory() as session:
            replay = _replay(session, tender_id, bundle_sha256)
        if replay is None:  # pragma: no cover - the conflicting row must exist
            raise
        return replay


def _store(
    platform: Platform,
    tender_id: uuid.UUID,
    bundle: OpeningKeyBundle,
    *,
    custodians: tuple[CustodianCertificate, ...],
    actor: Actor,
    bundle_sha256: str,
    signature_sha256: str,
) -> Registration:
    now = platform.clock.now()
    with unit(platform) as session:
        tender = load(session, tender_id, lock=True)
        _check_state(tender, now)
        if [c.identity_id for c in tender.custodians] != [c.identity_id for c in custodians]:
            raise Conflict(
                "the tender's custodians changed meanwhile; run the ceremony again", code="tender-changed"
            )
        replay = _replay(session, tender_id, bundle_sha256)
        if replay is not None:
            return replay
        key = TenderOpeningKey(
            tender_id=tender_id,
            certificate_der=bundle.opening_certificate_der,
            certificate_sha256=bundle.opening_certificate_sha256,
            threshold=bundle.threshold,
            share_count=bundle.share_count,
            lead_custodian_id=_identity(actor),
            bundle_sha256=bundle_sha256,
            signature_sha256=signature_sha256,
            registered_at=now,
        )
        session.add(key)
        session.flush()
        shares = [
            TenderKeyShare(
                tender_id=tender_id,
                share_index=share.index,
                custodian_id=custodian.identity_id,
                custodian_certificate_sha256=share.custodian_certificate_sha256,
                encrypted_share=share.encrypted_share,
                commitment=share.commitment,
            )
            for share, custodian in zip(bundle.shares, custodians, strict=True)
        ]
        session.add_all(shares)
        session.flush()
        log_event(
            platform,
            session,
            REGISTERED_EVENT,
            actor,
            tender_id,
            opening_certificate_sha256=bundle.opening_certificate_sha256,
            threshold=bundle.threshold,
            share_count=bundle.share_count,
            commitments=[{"index": s.index, "commitment": s.commitment} for s in bundle.shares],
            bundle_sha256=bundle_sha256,
        )
        return _registration(key, shares, created=True)


def public_opening_certificate(platform: Platform, tender_id: uuid.UUID) -> bytes:
    """The DER opening certificate of a published tender (not secret); NotFound otherwise."""
    with platform.session_factory() as session:
        tender = session.get(Tender, tender_id)
        if tender is None or tender.published_at is None:
            raise tender_not_found()
        key = session.get(TenderOpeningKey, tender_id)
        if key is None:
            raise NotFound(
                "the custodians have not registered this tender's opening key yet", code=OPENING_KEY_MISSING
            )
        return key.certificate_der


def own_share(platform: Platform, tender_id: uuid.UUID, *, actor: Actor) -> OwnShare:
    """The calling custodian's encrypted share, its commitment and the opening certificate."""
    with platform.session_factory() as session:
        tender = load(session, tender_id)
        _custodian_of(tender, _identity(actor))
        key = require_opening_key(session, tender_id)
        share = session.scalar(
            select(TenderKeyShare).where(
                TenderKeyShare.tender_id == tender_id, TenderKeyShare.custodian_id == actor.identity_id
            )
        )
        if share is None:  # pragma: no cover - every custodian got a share at registration
            raise NotFound(
                "no share of this tender's opening key is registered for you", code="share-unknown"
            )
        return OwnShare(
            tender_id=tender_id,
            index=share.share_index,
            threshold=key.threshold,
            share_count=key.share_count,
            encrypted_share=share.encrypted_share,
            commitment=share.commitment,
            custodian_certificate_sha256=share.custodian_certificate_sha256,
            opening_certificate_der=key.certificate_der,
            opening_certificate_sha256=key.certificate_sha256,
        )


def opening_key_status(session: Session, tender_id: uuid.UUID) -> dict[str, object] | None:
    """Public facts about a registered opening key (for the agency's and supervisor's views), or None."""
    key = session.get(TenderOpeningKey, tender_id)
    if key is None:
        return None
    return {
        "registered_at": key.registered_at.isoformat(),
        "opening_certificate_sha256": key.certificate_sha256,
        "threshold": key.threshold,
        "share_count": key.share_count,
    }
