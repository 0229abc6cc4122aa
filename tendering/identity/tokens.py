"""Short-lived login tokens: HMAC-SHA256 JWTs bound to a certificate fingerprint.

Claims (RFC 7519, RFC 8705 for ``cnf``)::

    iss, aud   settings.public_url
    sub        the identity id (opaque UUID)
    iat, nbf   issue time; exp = iat + settings.token_ttl_seconds
    jti        a random token id
    kind       "enterprise" or "person"
    roles      the identity's roles at login, sorted
    cnf        {"x5t#S256": base64url(SHA-256(certificate DER))}

Time is checked against the platform clock (not the machine clock), so tests and sandboxes with an
accelerated clock see tokens expire when their clock says so. The key lives in
``settings.effective_token_secret_file``; it is created (mode 0600) on first use, except in production,
where it must be provisioned beforehand.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt

from tendering.errors import Unauthorized, Unavailable

ALGORITHM = "HS256"
_MIN_SECRET_BYTES = 32


def fingerprint_to_x5t(fingerprint_hex: str) -> str:
    """The RFC 8705 ``x5t#S256`` value for a hex SHA-256 fingerprint."""
    return base64.urlsafe_b64encode(bytes.fromhex(fingerprint_hex)).rstrip(b"=").decode("ascii")


def x5t_to_fingerprint(x5t: str) -> str:
    """The hex SHA-256 fingerprint for an ``x5t#S256`` value (Unauthorized when malformed)."""
    try:
        raw = base64.urlsafe_b64decode(x5t + "=" * (-len(x5t) % 4))
    except (ValueError, TypeError):
        raise Unauthorized("the token's certificate binding is malformed", code="token-invalid") from None
    if len(raw) != 32:
        raise Unauthorized("the token's certificate binding is malformed", code="token-invalid")
    return raw.hex()


def load_or_create_secret(path: Path, *, create: bool) -> bytes:
    """Read the token key at ``path``; create it (0600, 32 random bytes) when allowed and missing."""
    if not path.exists():
        if not create:
            msg = f"the token key {path} does not exist; provision it (32+ random bytes, mode 0600)"
            raise Unavailable(msg, code="token-key-missing")
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it first; read theirs
        else:
            with os.fdopen(fd, "wb") as handle:
                handle.write(base64.b64encode(secrets.token_bytes(_MIN_SECRET_BYTES)) + b"\n")
    data = path.read_bytes().strip()
    try:
        secret = base64.b64decode(data, validate=True)
    except ValueError:
        secret = data
    if len(secret) < _MIN_SECRET_BYTES:
        msg = f"the token key {path} is shorter than {_MIN_SECRET_BYTES} bytes"
        raise Unavailable(msg, code="token-key-weak")
    return secret


@dataclass(frozen=True)
class TokenClaims:
    """The verified content of a login token."""

    identity_id: uuid.UUID
    kind: str
    roles: tuple[str, ...]
    fingerprint: str
    issued_at: datetime
    expires_at: datetime
    token_id: str


class TokenService:
    """Issues and verifies login tokens with a lazily loaded HMAC key."""

    def __init__(self, secret_file: Path, *, issuer: str, ttl_seconds: int, create_secret: bool) -> None:
        self.secret_file = secret_file
        self.issuer = issuer
        self.ttl = timedelta(seconds=ttl_seconds)
        self._create = create_secret
        self._secret: bytes | None = None
        self._lock = threading.Lock()

    def _key(self) -> bytes:
        with self._lock:
            if self._secret is None:
                self._secret = load_or_create_secret(self.secret_file, create=self._create)
            return self._secret

    def issue(
        self, *, identity_id: uuid.UUID, kind: str, roles: tuple[str, ...], fingerprint: str, now: datetime
    ) -> tuple[str, TokenClaims]:
        """A signed token and its claims, valid from ``now`` for the configured lifetime."""
        issued = now.replace(microsecond=0)
        claims = TokenClaims(
            identity_id=identity_id,
            kind=kind,
            roles=tuple(sorted(roles)),
            fingerprint=fingerprint,
            issued_at=issued,
            expires_at=issued + self.ttl,
            token_id=secrets.token_urlsafe(16),
        )
        payload: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": str(identity_id),
            "iat": int(issued.timestamp()),
            "nbf": int(issued.timestamp()),
            "exp": int(claims.expires_at.timestamp()),
            "jti": claims.token_id,
            "kind": kind,
            "roles": list(claims.roles),
            "cnf": {"x5t#S256": fingerprint_to_x5t(fingerprint)},
        }
        return jwt.encode(payload, self._key(), algorithm=ALGORITHM), claims

    def verify(self, token: str, *, now: datetime) -> TokenClaims:
        """The claims of a valid token, or Unauthorized (``token-invalid`` / ``token-expired``)."""
        try:
            payload = jwt.decode(
                token,
                self._key(),
                algorithms=[ALGORITHM],
                audience=self.issuer,
                issuer=self.issuer,
                options={
                    "verify_exp": False,  # checked below against the platform clock
                    "verify_nbf": False,
                    "verify_iat": False,
                    "require": ["exp", "iat", "sub", "cnf", "roles"],
                },
            )
            claims = TokenClaims(
                identity_id=uuid.UUID(payload["sub"]),
                kind=str(payload.get("kind", "")),
                roles=tuple(str(role) for role in payload["roles"]),
                fingerprint=x5t_to_fingerprint(str(payload["cnf"]["x5t#S256"])),
                issued_at=datetime.fromtimestamp(int(payload["iat"]), tz=now.tzinfo),
                expires_at=datetime.fromtimestamp(int(payload["exp"]), tz=now.tzinfo),
                token_id=str(payload.get("jti", "")),
            )
        except jwt.InvalidTokenError as exc:
            raise Unauthorized(
                f"the login token is not valid ({exc}); log in again", code="token-invalid"
            ) from None
        except (KeyError, TypeError, ValueError):
            raise Unauthorized("the login token is not valid; log in again", code="token-invalid") from None
        if now >= claims.expires_at:
            raise Unauthorized("the login token has expired; log in again", code="token-expired")
        if now < claims.issued_at - timedelta(seconds=60):
            raise Unauthorized("the login token is not valid yet; check the clock", code="token-invalid")
        return claims
