"""Certificate login: challenge, signature, certificate validation, identity mapping, token.

The steps, each with its own refusal:

1. the challenge exists, is unused and unexpired, and is marked used (committed at once);
2. it was issued for this server (audience = ``settings.public_url``) and for logging in;
3. the certificate parses and the certificate checker accepts it for signing at the current time
   (trust path, validity, key usage, revocation per ``settings.revocation_policy``);
4. the signature over the canonical challenge bytes verifies with the certificate's key;
5. the certificate's subject maps to a registered identity — except that a valid enterprise certificate
   registers its organisation as a tenderer on first login (self-registration); any other role is
   granted by an administrator;
6. the identity holds at least one role, and the certificate is not revoked in the registry.

Then a token bound to the certificate is issued. Failures after step 1 and every success are recorded
in the audit trail; challenge refusals (unknown, used, expired) are not, since no certificate is
involved yet (they appear in the application log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from cryptography import x509
from sqlalchemy.orm import Session

from tendering.errors import Forbidden, InvalidInput, SealbidError, Unauthorized
from tendering.identity import pki
from tendering.identity.audit import Actor, audit_for
from tendering.identity.challenges import check_binding, consume_challenge, parse_challenge_id
from tendering.identity.models import CertificatePurpose, CertificateStatus, IdentityKind, Role
from tendering.identity.registry import (
    IdentitySummary,
    active_roles,
    find_identity,
    fingerprint_of,
    grant_role,
    register_certificate,
    register_identity,
    summarise,
)
from tendering.identity.signatures import verify_challenge_signature
from tendering.identity.tokens import TokenClaims

if TYPE_CHECKING:
    from tendering.platform import Platform

#: Most intermediate certificates a login request may carry.
MAX_CHAIN = 8


@dataclass(frozen=True)
class LoginRequest:
    """A parsed login request."""

    challenge_id: str
    certificate: bytes
    signature: bytes
    signature_algorithm: str
    chain: tuple[bytes, ...] = ()
    encryption_certificate: bytes | None = None


@dataclass(frozen=True)
class LoginResult:
    """A successful login."""

    token: str
    claims: TokenClaims
    identity: IdentitySummary
    registered: bool


def load_certificate(der: bytes, what: str = "certificate") -> x509.Certificate:
    """Parse a DER (or PEM) certificate, or InvalidInput."""
    try:
        if der.lstrip().startswith(b"-----BEGIN"):
            return x509.load_pem_x509_certificate(der)
        return x509.load_der_x509_certificate(der)
    except ValueError:
        raise InvalidInput(
            f"the {what} is not a valid X.509 certificate", code="certificate-malformed"
        ) from None


def login(platform: Platform, request: LoginRequest, *, address: str | None = None) -> LoginResult:
    """Run the login protocol for ``request``; raise a SealbidError naming the first failed step."""
    settings = platform.settings
    now = platform.clock.now()
    challenge_id = parse_challenge_id(request.challenge_id)
    if len(request.chain) > MAX_CHAIN:
        raise InvalidInput(f"at most {MAX_CHAIN} chain certificates are accepted", code="chain-too-long")
    with platform.transaction() as session:
        challenge = consume_challenge(session, challenge_id, now=now)
    fingerprint = fingerprint_of(request.certificate)
    try:
        check_binding(challenge, audience=settings.public_url)
        certificate = load_certificate(request.certificate)
        fingerprint = fingerprint_of(pki.der_of(certificate))
        # The signature first: it needs no network, so a caller without the private key never makes
        # the server fetch anything on behalf of a certificate it made up.
        verify_challenge_signature(
            certificate, request.signature_algorithm, request.signature, challenge.signing_input()
        )
        verdict = platform.certificates.validate(certificate, purpose="login", intermediates=request.chain)
        if not verdict.ok:
            raise pki.refusal(verdict)
        subject = pki.subject_of(certificate, pki.identity_mapping(platform.settings.identity_uscc_oids))
        encryption = _validated_encryption_certificate(platform, request, subject, now)
        with platform.transaction() as session:
            return _finish(
                platform,
                session,
                certificate=certificate,
                encryption=encryption,
                subject=subject,
                fingerprint=fingerprint,
                now=now,
                address=address,
            )
    except SealbidError as refusal:
        with platform.transaction() as session:
            audit_for(platform).record(
                session,
                "identity.login.failed",
                Actor(None, "anonymous", address, certificate=fingerprint),
                now,
                reason=refusal.code,
            )
        raise


def _validated_encryption_certificate(
    platform: Platform, request: LoginRequest, subject: pki.Subject, now: datetime
) -> x509.Certificate | None:
    """The optional encryption certificate of a dual pair, validated and checked to be the same subject."""
    if request.encryption_certificate is None:
        return None
    certificate = load_certificate(request.encryption_certificate, "encryption certificate")
    verdict = platform.certificates.validate(certificate, purpose="encryption", intermediates=request.chain)
    if not verdict.ok:
        raise pki.refusal(verdict, what="encryption certificate")
    if pki.subject_of(certificate, pki.identity_mapping(platform.settings.identity_uscc_oids)) != subject:
        raise InvalidInput(
            "the encryption certificate names another subject than the signing certificate",
            code="certificate-pair-mismatch",
        )
    return certificate


def _finish(
    platform: Platform,
    session: Session,
    *,
    certificate: x509.Certificate,
    encryption: x509.Certificate | None,
    subject: pki.Subject,
    fingerprint: str,
    now: datetime,
    address: str | None,
) -> LoginResult:
    audit = audit_for(platform)
    identity = find_identity(session, subject.kind, subject.subject_id)
    registered = False
    if identity is None:
        if subject.kind != IdentityKind.ENTERPRISE:
            raise Forbidden(
                "this person is not registered on the platform; an administrator must grant a role first",
                code="identity-unknown",
            )
        actor = Actor(None, Role.TENDERER.value, address)
        identity = register_identity(
            session,
            audit,
            kind=subject.kind,
            subject_id=subject.subject_id,
            name=subject.name,
            now=now,
            actor=actor,
        )
        actor = Actor(identity.id, Role.TENDERER.value, address)
        grant_role(session, audit, identity, Role.TENDERER, basis="self-registration", now=now, actor=actor)
        registered = True
    roles = active_roles(session, identity.id)
    actor = Actor(identity.id, roles[0] if roles else "none", address)
    cert_row = register_certificate(
        session, audit, identity, certificate, purpose=CertificatePurpose.SIGNING, now=now, actor=actor
    )
    if cert_row.status != CertificateStatus.ACTIVE:
        raise Unauthorized("this certificate has been revoked on the platform", code="certificate-revoked")
    if cert_row.purpose != CertificatePurpose.SIGNING:
        raise Unauthorized(
            "this certificate is registered for encryption, not for signing",
            code="certificate-wrong-key-usage",
        )
    if encryption is not None:
        register_certificate(
            session, audit, identity, encryption, purpose=CertificatePurpose.ENCRYPTION, now=now, actor=actor
        )
    if not roles:
        raise Forbidden("this identity holds no role on the platform", code="identity-without-role")
    token, claims = platform.tokens.issue(
        identity_id=identity.id, kind=identity.kind, roles=roles, fingerprint=fingerprint, now=now
    )
    audit.record(session, "identity.login.succeeded", actor, now, roles=list(roles))
    return LoginResult(token, claims, summarise(session, identity), registered)
