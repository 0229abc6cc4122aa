"""Identity services for the API and the command line (one function per use case)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select

from tendering.errors import InvalidInput
from tendering.identity import pki
from tendering.identity.audit import Actor, audit_for
from tendering.identity.challenges import ChallengeView, issue_challenge
from tendering.identity.login import load_certificate
from tendering.identity.models import CertificatePurpose, Identity, IdentityKind
from tendering.identity.registry import (
    IdentitySummary,
    find_identity,
    get_identity,
    grant_role,
    parse_role,
    register_certificate,
    register_identity,
    revoke_certificate,
    revoke_role,
    summarise,
)

if TYPE_CHECKING:
    from tendering.identity.sessions import Principal
    from tendering.platform import Platform

ORGANISATION_KINDS = ("enterprise", "agency", "authority", "platform")


def issue_login_challenge(platform: Platform) -> ChallengeView:
    """A new login challenge for this server's audience."""
    settings = platform.settings
    with platform.transaction() as session:
        return issue_challenge(
            session,
            now=platform.clock.now(),
            audience=settings.public_url,
            ttl_seconds=settings.challenge_ttl_seconds,
        )


def who_am_i(platform: Platform, principal: Principal) -> IdentitySummary:
    """The registry's view of the logged-in identity."""
    with platform.transaction() as session:
        return summarise(session, get_identity(session, principal.identity_id))


def grant_by_certificate(
    platform: Platform,
    certificate_der: bytes,
    roles: list[str],
    *,
    actor: Actor,
    basis: str = "admin",
    organisation_kind: str = "enterprise",
    purpose: str = "signing",
) -> IdentitySummary:
    """Register the certificate's subject (if new) and the certificate, and grant it ``roles``.

    The certificate is validated first (trust, validity, key usage for ``purpose``, revocation); this is
    how an administrator enrols experts, custodians, officers and other administrators.
    """
    parsed_roles = [parse_role(role) for role in roles]
    if purpose not in (CertificatePurpose.SIGNING, CertificatePurpose.ENCRYPTION):
        raise InvalidInput(f"purpose must be signing or encryption, not {purpose!r}", code="purpose-unknown")
    if organisation_kind not in ORGANISATION_KINDS:
        msg = f"unknown organisation kind {organisation_kind!r}; use one of {', '.join(ORGANISATION_KINDS)}"
        raise InvalidInput(msg, code="organisation-kind-unknown")
    certificate = load_certificate(certificate_der)
    now = platform.clock.now()
    verdict = platform.certificates.validate(certificate, purpose=purpose)
    if not verdict.ok:
        raise pki.refusal(verdict, as_input=True)
    subject = pki.subject_of(certificate, pki.identity_mapping(platform.settings.identity_uscc_oids))
    audit = audit_for(platform)
    with platform.transaction() as session:
        identity = find_identity(session, subject.kind, subject.subject_id)
        if identity is None:
            identity = register_identity(
                session,
                audit,
                kind=subject.kind,
                subject_id=subject.subject_id,
                name=subject.name,
                now=now,
                actor=actor,
                organisation_kind=organisation_kind
                if subject.kind == IdentityKind.ENTERPRISE
                else "enterprise",
            )
        register_certificate(
            session, audit, identity, certificate, purpose=CertificatePurpose(purpose), now=now, actor=actor
        )
        for role in parsed_roles:
            grant_role(session, audit, identity, role, basis=basis, now=now, actor=actor)
        return summarise(session, identity)


def grant_to_identity(
    platform: Platform, identity_id: uuid.UUID, role: str, *, actor: Actor
) -> IdentitySummary:
    """Grant ``role`` to a registered identity."""
    parsed = parse_role(role)
    with platform.transaction() as session:
        identity = get_identity(session, identity_id)
        grant_role(
            session,
            audit_for(platform),
            identity,
            parsed,
            basis="admin",
            now=platform.clock.now(),
            actor=actor,
        )
        return summarise(session, identity)


def revoke_from_identity(
    platform: Platform, identity_id: uuid.UUID, role: str, *, actor: Actor
) -> IdentitySummary:
    """Take ``role`` away from a registered identity."""
    parsed = parse_role(role)
    with platform.transaction() as session:
        identity = get_identity(session, identity_id)
        revoke_role(session, audit_for(platform), identity, parsed, now=platform.clock.now(), actor=actor)
        return summarise(session, identity)


def revoke_registered_certificate(
    platform: Platform, fingerprint: str, *, reason: str, actor: Actor
) -> IdentitySummary:
    """Revoke a certificate on the platform; tokens bound to it stop working at once."""
    with platform.transaction() as session:
        row = revoke_certificate(
            session,
            audit_for(platform),
            fingerprint.lower(),
            reason=reason,
            now=platform.clock.now(),
            actor=actor,
        )
        return summarise(session, get_identity(session, row.identity_id))


def list_identities(platform: Platform, *, limit: int = 200, offset: int = 0) -> list[IdentitySummary]:
    """Registered identities, oldest first."""
    with platform.transaction() as session:
        rows = session.scalars(
            select(Identity).order_by(Identity.created_at, Identity.id).limit(limit).offset(offset)
        )
        return [summarise(session, identity) for identity in rows]
