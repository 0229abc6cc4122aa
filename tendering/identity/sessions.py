"""Authenticating requests that carry a login token.

:func:`authenticate` verifies the token (signature, audience, expiry by the platform clock), then checks
that the certificate it is bound to is still registered and active, and that the PKI still accepts it
(through the certificate checker's cache, so revocation in the PKI takes effect within
``cert_cache_ttl_seconds``). The principal's roles are the token's roles that the identity still holds:
a role revoked after login is gone on the next request, a role granted after login needs a new login.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from tendering.errors import Unauthorized
from tendering.identity import pki
from tendering.identity.audit import Actor, audit_for
from tendering.identity.models import CertificateStatus
from tendering.identity.registry import active_roles, certificate_by_fingerprint, revoke_certificate

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from tendering.platform import Platform


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    identity_id: uuid.UUID
    kind: str
    roles: tuple[str, ...]
    fingerprint: str
    expires_at: datetime

    def actor(self, role: str | None = None, address: str | None = None) -> Actor:
        """This principal as the actor of an audited change (in ``role``, default its first role)."""
        acting = role or (self.roles[0] if self.roles else self.kind)
        return Actor(self.identity_id, acting, address)


def authenticate(platform: Platform, token: str, *, address: str | None = None) -> Principal:
    """The principal behind ``token``, or Unauthorized with the reason."""
    now = platform.clock.now()
    claims = platform.tokens.verify(token, now=now)
    with platform.transaction() as session:
        principal, der = bound_principal(
            session,
            identity_id=claims.identity_id,
            kind=claims.kind,
            roles=claims.roles,
            fingerprint=claims.fingerprint,
            expires_at=claims.expires_at,
        )
    recheck_certificate(platform, principal, der, address=address)
    return principal


def bound_principal(
    session: Session,
    *,
    identity_id: uuid.UUID,
    kind: str,
    roles: tuple[str, ...],
    fingerprint: str,
    expires_at: datetime,
) -> tuple[Principal, bytes]:
    """The principal of a login bound to ``fingerprint``, if that certificate is still registered to
    ``identity_id`` and active; its roles are ``roles`` that the identity still holds.

    Also returns the certificate's DER, for :func:`recheck_certificate`."""
    cert = certificate_by_fingerprint(session, fingerprint)
    if cert is None or cert.identity_id != identity_id:
        raise Unauthorized("the login token names an unknown certificate; log in again", code="token-invalid")
    if cert.status != CertificateStatus.ACTIVE:
        raise Unauthorized(
            "the certificate this login is bound to has been revoked", code="certificate-revoked"
        )
    held = tuple(role for role in active_roles(session, identity_id) if role in roles)
    return Principal(identity_id, kind, held, fingerprint, expires_at), cert.der


def recheck_certificate(
    platform: Platform, principal: Principal, der: bytes, *, address: str | None = None
) -> None:
    """Ask the PKI (through the checker's cache) whether the principal's certificate is still good;
    a revocation by the issuing CA is recorded in the registry and ends the login."""
    now = platform.clock.now()
    verdict = platform.certificates.validate(der, purpose="login")
    if not verdict.ok and pki.reason_name(verdict) in pki.FATAL_AFTER_LOGIN:
        if pki.reason_name(verdict) == "REVOKED":
            with platform.transaction() as session:
                revoke_certificate(
                    session,
                    audit_for(platform),
                    principal.fingerprint,
                    reason="revoked by the issuing CA",
                    now=now,
                    actor=Actor(None, "system", address),
                )
        raise pki.refusal(verdict)
