"""Browser sign-in: a logged-in client hands its identity to a browser through a single-use link.

A browser cannot hold the certificate's private key, so it cannot answer a login challenge. Instead a
client that logged in with the certificate (bearer token) asks for a sign-in link
(:func:`issue_signin_link`): a random secret, valid for :data:`LINK_TTL` and usable once, bound to the
token's identity, certificate fingerprint and roles. Opening the link and confirming
(:func:`redeem_signin_link`) creates a server-side :class:`~tendering.identity.models.BrowserSession`
whose secret goes into an HttpOnly cookie. Only SHA-256 digests of the secrets are stored.

Every request with the cookie goes through :func:`authenticate_browser`, which re-checks exactly what a
token request re-checks (the certificate is still registered, active and accepted by the PKI; roles are
those still granted), and enforces an idle timeout (:data:`SESSION_IDLE`) and an absolute lifetime
(:data:`SESSION_MAX`). Sign-in and sign-out are recorded in the transparency log like logins.

State-changing browser requests carry :func:`csrf_token` (derived from the session secret, so only a
page rendered for that session knows it).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from sqlalchemy import select, update

from tendering.errors import InvalidInput, Unauthorized
from tendering.identity.audit import Actor, audit_for
from tendering.identity.models import BrowserSession, BrowserSignInLink, Identity
from tendering.identity.sessions import Principal, bound_principal, recheck_certificate

if TYPE_CHECKING:
    from tendering.platform import Platform

#: How long a sign-in link may be opened after it was issued.
LINK_TTL: Final = timedelta(seconds=60)
#: A browser session ends after this long without a request.
SESSION_IDLE: Final = timedelta(minutes=30)
#: A browser session ends this long after sign-in whatever happens.
SESSION_MAX: Final = timedelta(hours=8)
#: ``last_seen_at`` is written at most this often (a page view is otherwise a read).
_TOUCH_EVERY: Final = timedelta(seconds=60)
_MAX_NEXT: Final = 500


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def csrf_token(session_secret: str) -> str:
    """The anti-forgery token of the browser session with cookie value ``session_secret``."""
    mac = hmac.new(session_secret.encode("ascii", "replace"), b"sealbid csrf v1", hashlib.sha256)
    return mac.hexdigest()


def csrf_matches(session_secret: str, offered: str | None) -> bool:
    """Whether ``offered`` is this session's anti-forgery token (constant-time)."""
    return bool(offered) and hmac.compare_digest(csrf_token(session_secret), str(offered))


def safe_next_path(raw: str | None) -> str:
    """A local path to continue to after signing in (``/announcements`` unless ``raw`` is one)."""
    if not raw:
        return "/announcements"
    if (
        len(raw) > _MAX_NEXT
        or not raw.startswith("/")
        or raw.startswith("//")
        or "\\" in raw
        or any(ord(c) < 0x21 for c in raw)
    ):
        raise InvalidInput("next must be a path on this server, e.g. /announcements", code="invalid-next")
    return raw


@dataclass(frozen=True)
class SignInLink:
    """A freshly issued link secret (shown once) and when it expires."""

    secret: str
    expires_at: datetime
    next_path: str


@dataclass(frozen=True)
class PendingSignIn:
    """What a still-usable link would sign the browser in as (for the confirmation page)."""

    name: str
    roles: tuple[str, ...]
    expires_at: datetime
    next_path: str


@dataclass(frozen=True)
class BrowserIdentity:
    """The signed-in browser: the principal, its display name and the session's anti-forgery token."""

    principal: Principal
    name: str
    csrf: str


def issue_signin_link(platform: Platform, principal: Principal, next_path: str | None = None) -> SignInLink:
    """A single-use sign-in link secret for the identity, certificate and roles of ``principal``."""
    now = platform.clock.now()
    secret = secrets.token_urlsafe(32)
    target = safe_next_path(next_path)
    expires = now + LINK_TTL
    with platform.transaction() as session:
        session.add(
            BrowserSignInLink(
                secret_sha256=_digest(secret),
                identity_id=principal.identity_id,
                fingerprint=principal.fingerprint,
                roles=" ".join(principal.roles),
                next_path=target,
                issued_at=now,
                expires_at=expires,
            )
        )
    return SignInLink(secret, expires, target)


def _link_refused() -> Unauthorized:
    return Unauthorized(
        "this sign-in link is unknown, used or expired; run `sealbid login --browser` for a new one",
        code="signin-link-invalid",
    )


def pending_signin(platform: Platform, link_secret: str) -> PendingSignIn:
    """Who a link signs in as, without using it up; Unauthorized when it cannot be used."""
    now = platform.clock.now()
    with platform.session_factory() as session:
        row = session.execute(
            select(BrowserSignInLink, Identity.display_name)
            .join(Identity, Identity.id == BrowserSignInLink.identity_id)
            .where(BrowserSignInLink.secret_sha256 == _digest(link_secret))
        ).first()
    if row is None or row[0].used_at is not None or now >= row[0].expires_at:
        raise _link_refused()
    link, name = row
    return PendingSignIn(name, tuple(link.roles.split()), link.expires_at, link.next_path)


def redeem_signin_link(
    platform: Platform, link_secret: str, *, address: str | None = None
) -> tuple[str, BrowserIdentity, str]:
    """Use the link (once): ``(session secret for the cookie, the signed-in identity, next path)``."""
    now = platform.clock.now()
    digest = _digest(link_secret)
    with platform.transaction() as session:
        used = session.execute(
            update(BrowserSignInLink)
            .where(
                BrowserSignInLink.secret_sha256 == digest,
                BrowserSignInLink.used_at.is_(None),
                BrowserSignInLink.expires_at > now,
            )
            .values(used_at=now)
        )
        if used.rowcount != 1:  # type: ignore[attr-defined]
            raise _link_refused()
        link = session.execute(
            select(BrowserSignInLink).where(BrowserSignInLink.secret_sha256 == digest)
        ).scalar_one()
        identity = session.get(Identity, link.identity_id)
        if identity is None:
            raise _link_refused()
        principal, der = bound_principal(
            session,
            identity_id=link.identity_id,
            kind=identity.kind,
            roles=tuple(link.roles.split()),
            fingerprint=link.fingerprint,
            expires_at=now + SESSION_MAX,
        )
        secret = secrets.token_urlsafe(32)
        session.add(
            BrowserSession(
                secret_sha256=_digest(secret),
                identity_id=principal.identity_id,
                kind=principal.kind,
                fingerprint=principal.fingerprint,
                roles=" ".join(principal.roles),
                created_at=now,
                last_seen_at=now,
                expires_at=principal.expires_at,
            )
        )
        actor = principal.actor(address=address)
        audit_for(platform).record(
            session, "identity.browser.signed-in", actor, now, roles=list(principal.roles)
        )
        name, next_path = identity.display_name, link.next_path
    recheck_certificate(platform, principal, der, address=address)
    return secret, BrowserIdentity(principal, name, csrf_token(secret)), next_path


def _session_over() -> Unauthorized:
    return Unauthorized(
        "your browser session has ended; sign in again with `sealbid login --browser`",
        code="browser-session-ended",
    )


def authenticate_browser(
    platform: Platform, session_secret: str, *, address: str | None = None
) -> BrowserIdentity:
    """The signed-in identity of the browser session with cookie value ``session_secret``."""
    now = platform.clock.now()
    with platform.transaction() as session:
        row = session.execute(
            select(BrowserSession, Identity.display_name)
            .join(Identity, Identity.id == BrowserSession.identity_id)
            .where(BrowserSession.secret_sha256 == _digest(session_secret))
        ).first()
        if row is None:
            raise _session_over()
        browser, name = row
        if (
            browser.ended_at is not None
            or now >= browser.expires_at
            or now >= browser.last_seen_at + SESSION_IDLE
        ):
            raise _session_over()
        principal, der = bound_principal(
            session,
            identity_id=browser.identity_id,
            kind=browser.kind,
            roles=tuple(browser.roles.split()),
            fingerprint=browser.fingerprint,
            expires_at=min(browser.expires_at, now + SESSION_IDLE),
        )
        if now - browser.last_seen_at >= _TOUCH_EVERY:
            browser.last_seen_at = now
    recheck_certificate(platform, principal, der, address=address)
    return BrowserIdentity(principal, name, csrf_token(session_secret))


def end_browser_session(platform: Platform, session_secret: str, *, address: str | None = None) -> bool:
    """Sign the browser out (idempotent); whether a live session ended."""
    now = platform.clock.now()
    with platform.transaction() as session:
        browser = session.execute(
            select(BrowserSession).where(
                BrowserSession.secret_sha256 == _digest(session_secret), BrowserSession.ended_at.is_(None)
            )
        ).scalar_one_or_none()
        if browser is None:
            return False
        browser.ended_at = now
        roles = browser.roles.split()
        actor = Actor(browser.identity_id, roles[0] if roles else browser.kind, address)
        audit_for(platform).record(session, "identity.browser.signed-out", actor, now)
    return True
