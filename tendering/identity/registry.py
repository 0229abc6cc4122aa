"""The identity registry: organisations, persons, their certificates and their roles.

Every function here runs inside the caller's transaction and records each state change through the
given :class:`~tendering.identity.audit.AuditTrail` in that same transaction.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select
from sqlalchemy.orm import Session

from tendering.errors import Conflict, InvalidInput, NotFound
from tendering.identity.audit import Actor, AuditTrail, about
from tendering.identity.models import (
    Certificate,
    CertificatePurpose,
    CertificateStatus,
    Identity,
    IdentityKind,
    Organisation,
    Person,
    Role,
    RoleGrant,
)

ROLES: tuple[str, ...] = tuple(role.value for role in Role)


def subject_key(kind: str, subject_id: str) -> str:
    """The unique key of an identity: ``uscc:<code>`` or ``person:<id>``."""
    if kind == IdentityKind.ENTERPRISE:
        return f"uscc:{subject_id}"
    if kind == IdentityKind.PERSON:
        return f"person:{subject_id}"
    raise InvalidInput(f"unknown identity kind {kind!r}", code="identity-kind-unknown")


def fingerprint_of(der: bytes) -> str:
    """Lower-case hex SHA-256 of a certificate's DER encoding."""
    return hashlib.sha256(der).hexdigest()


def parse_role(value: str) -> Role:
    """A role by name, or InvalidInput listing the valid ones."""
    try:
        return Role(value)
    except ValueError:
        raise InvalidInput(
            f"unknown role {value!r}; roles are {', '.join(ROLES)}", code="role-unknown"
        ) from None


@dataclass(frozen=True)
class IdentitySummary:
    """What the platform knows about an identity (for ``/auth/me`` and admin listings)."""

    id: uuid.UUID
    kind: str
    subject_id: str
    name: str
    roles: tuple[str, ...]
    certificates: tuple[tuple[str, str, str], ...]  # (fingerprint, purpose, status)


def find_identity(session: Session, kind: str, subject_id: str) -> Identity | None:
    """The identity with this USCC or person id, if registered."""
    return session.scalar(select(Identity).where(Identity.subject_key == subject_key(kind, subject_id)))


def get_identity(session: Session, identity_id: uuid.UUID) -> Identity:
    """The identity with this id, or NotFound."""
    identity = session.get(Identity, identity_id)
    if identity is None:
        raise NotFound("no such identity", code="identity-unknown")
    return identity


def register_identity(
    session: Session,
    audit: AuditTrail,
    *,
    kind: str,
    subject_id: str,
    name: str,
    now: datetime,
    actor: Actor,
    organisation_kind: str = "enterprise",
) -> Identity:
    """Register an organisation (by USCC) or a person (by person id); Conflict if already there."""
    if find_identity(session, kind, subject_id) is not None:
        raise Conflict("this identity is already registered", code="identity-exists")
    identity = Identity(
        id=uuid.uuid4(),
        kind=kind,
        subject_key=subject_key(kind, subject_id),
        display_name=name,
        created_at=now,
    )
    session.add(identity)
    if kind == IdentityKind.ENTERPRISE:
        session.add(Organisation(identity_id=identity.id, uscc=subject_id, name=name, kind=organisation_kind))
    else:
        session.add(Person(identity_id=identity.id, person_id=subject_id, name=name))
    session.flush()
    audit.record(session, "identity.registered", actor, now, kind=kind, **about(identity.id, actor))
    return identity


def certificate_by_fingerprint(session: Session, fingerprint: str) -> Certificate | None:
    """The registered certificate with this SHA-256 fingerprint."""
    return session.scalar(select(Certificate).where(Certificate.fingerprint == fingerprint))


def register_certificate(
    session: Session,
    audit: AuditTrail,
    identity: Identity,
    certificate: x509.Certificate,
    *,
    purpose: CertificatePurpose,
    now: datetime,
    actor: Actor,
) -> Certificate:
    """Register a (validated) certificate to ``identity``; returns the existing row when already there."""
    der = certificate.public_bytes(encoding=Encoding.DER)
    fingerprint = fingerprint_of(der)
    existing = certificate_by_fingerprint(session, fingerprint)
    if existing is not None:
        if existing.identity_id != identity.id:
            raise Conflict("this certificate is registered to another identity", code="certificate-elsewhere")
        return existing
    row = Certificate(
        id=uuid.uuid4(),
        fingerprint=fingerprint,
        der=der,
        purpose=purpose.value,
        identity_id=identity.id,
        subject=certificate.subject.rfc4514_string()[:1000],
        issuer=certificate.issuer.rfc4514_string()[:1000],
        serial_number=format(certificate.serial_number, "x"),
        not_before=certificate.not_valid_before_utc,
        not_after=certificate.not_valid_after_utc,
        status=CertificateStatus.ACTIVE.value,
        registered_at=now,
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        "identity.certificate.registered",
        actor,
        now,
        purpose=purpose.value,
        **about(identity.id, actor),
    )
    return row


def revoke_certificate(
    session: Session, audit: AuditTrail, fingerprint: str, *, reason: str, now: datetime, actor: Actor
) -> Certificate:
    """Mark a registered certificate revoked; later requests with tokens bound to it are refused."""
    row = certificate_by_fingerprint(session, fingerprint)
    if row is None:
        raise NotFound("no certificate with this fingerprint is registered", code="certificate-unknown")
    if row.status != CertificateStatus.REVOKED:
        row.status = CertificateStatus.REVOKED.value
        row.revoked_at = now
        row.revoked_reason = reason[:200]
        session.flush()
        audit.record(
            session,
            "identity.certificate.revoked",
            actor,
            now,
            purpose=row.purpose,
            **about(row.identity_id, actor),
        )
    return row


def active_roles(session: Session, identity_id: uuid.UUID) -> tuple[str, ...]:
    """The roles ``identity_id`` holds now, sorted."""
    rows = session.scalars(
        select(RoleGrant.role).where(RoleGrant.identity_id == identity_id, RoleGrant.revoked_at.is_(None))
    )
    return tuple(sorted(rows))


def grant_role(
    session: Session,
    audit: AuditTrail,
    identity: Identity,
    role: Role,
    *,
    basis: str,
    now: datetime,
    actor: Actor,
) -> bool:
    """Give ``identity`` the ``role``; False when it already held it (nothing changes twice)."""
    grant = session.scalar(
        select(RoleGrant).where(RoleGrant.identity_id == identity.id, RoleGrant.role == role.value)
    )
    if grant is not None and grant.revoked_at is None:
        return False
    if grant is None:
        grant = RoleGrant(id=uuid.uuid4(), identity_id=identity.id, role=role.value)
        session.add(grant)
    grant.granted_by = actor.identity_id
    grant.grant_basis = basis
    grant.granted_at = now
    grant.revoked_at = None
    grant.revoked_by = None
    session.flush()
    audit.record(
        session,
        "identity.role.granted",
        actor,
        now,
        role=role.value,
        basis=basis,
        **about(identity.id, actor),
    )
    return True


def revoke_role(
    session: Session, audit: AuditTrail, identity: Identity, role: Role, *, now: datetime, actor: Actor
) -> bool:
    """Take ``role`` away from ``identity``; False when it did not hold it."""
    grant = session.scalar(
        select(RoleGrant).where(
            RoleGrant.identity_id == identity.id, RoleGrant.role == role.value, RoleGrant.revoked_at.is_(None)
        )
    )
    if grant is None:
        return False
    grant.revoked_at = now
    grant.revoked_by = actor.identity_id
    session.flush()
    audit.record(session, "identity.role.revoked", actor, now, role=role.value, **about(identity.id, actor))
    return True


def summarise(session: Session, identity: Identity) -> IdentitySummary:
    """The identity with its roles and certificates."""
    subject_id = identity.subject_key.split(":", 1)[1]
    certs: Iterable[Certificate] = session.scalars(
        select(Certificate).where(Certificate.identity_id == identity.id).order_by(Certificate.registered_at)
    )
    return IdentitySummary(
        id=identity.id,
        kind=identity.kind,
        subject_id=subject_id,
        name=identity.display_name,
        roles=active_roles(session, identity.id),
        certificates=tuple((c.fingerprint, c.purpose, c.status) for c in certs),
    )
