"""Login challenges: single-use nonces bound to an audience, a purpose and an expiry.

The bytes a client signs are the RFC 8785 canonical JSON of :meth:`ChallengeView.document`::

    {"audience": "https://tender.example.cn", "expires_at": "2026-01-05T01:02:00Z",
     "id": "0b6c…", "issued_at": "2026-01-05T01:00:00Z", "nonce": "<43 base64url chars>",
     "purpose": "login", "type": "sealbid.login-challenge.v1"}

Consuming a challenge is atomic (a conditional ``UPDATE``), so two concurrent logins with one challenge
cannot both succeed. Issuing and consuming challenges are not state changes of the tendering record
and are not written to the transparency log; the logins they lead to are.
"""

from __future__ import annotations

import base64
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import rfc8785
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from tendering.errors import InvalidInput, NotFound, TooLate, Unauthorized
from tendering.identity.models import LoginChallenge

CHALLENGE_TYPE = "sealbid.login-challenge.v1"
LOGIN_PURPOSE = "login"
#: Expired challenges are deleted this long after they expire.
_KEEP_EXPIRED = timedelta(days=1)


def format_time(when: datetime) -> str:
    """RFC 3339 UTC with second precision, as it appears in signed documents."""
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class ChallengeView:
    """A challenge as issued to a client."""

    id: uuid.UUID
    nonce: str
    audience: str
    purpose: str
    issued_at: datetime
    expires_at: datetime

    def document(self) -> dict[str, Any]:
        """The JSON object whose canonical form is signed."""
        return {
            "type": CHALLENGE_TYPE,
            "id": str(self.id),
            "nonce": self.nonce,
            "audience": self.audience,
            "purpose": self.purpose,
            "issued_at": format_time(self.issued_at),
            "expires_at": format_time(self.expires_at),
        }

    def signing_input(self) -> bytes:
        """The exact bytes the client signs (RFC 8785 canonical JSON, UTF-8)."""
        return canonical_challenge_bytes(self.document())

    @classmethod
    def of(cls, row: LoginChallenge) -> ChallengeView:
        """View a stored challenge."""
        return cls(row.id, row.nonce, row.audience, row.purpose, row.issued_at, row.expires_at)


def canonical_challenge_bytes(document: dict[str, Any]) -> bytes:
    """RFC 8785 canonical JSON of a challenge document."""
    return bytes(rfc8785.dumps(document))


def issue_challenge(
    session: Session, *, now: datetime, audience: str, ttl_seconds: int, purpose: str = LOGIN_PURPOSE
) -> ChallengeView:
    """Store and return a new single-use challenge (and forget long-expired ones)."""
    issued = now.replace(microsecond=0)
    row = LoginChallenge(
        id=uuid.uuid4(),
        nonce=base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii"),
        audience=audience,
        purpose=purpose,
        issued_at=issued,
        expires_at=issued + timedelta(seconds=ttl_seconds),
    )
    session.add(row)
    session.execute(delete(LoginChallenge).where(LoginChallenge.expires_at < now - _KEEP_EXPIRED))
    session.flush()
    return ChallengeView.of(row)


def parse_challenge_id(value: str) -> uuid.UUID:
    """A challenge id from a request, or InvalidInput."""
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise InvalidInput("the challenge id is not a valid id", code="challenge-malformed") from None


def consume_challenge(session: Session, challenge_id: uuid.UUID, *, now: datetime) -> ChallengeView:
    """Mark the challenge used, atomically, and return it; each refusal has its own error code.

    The caller commits right away, before any further check (:func:`check_binding`, the certificate,
    the signature), so that a challenge stays used even when the login it was meant for fails.
    """
    row = session.scalar(select(LoginChallenge).where(LoginChallenge.id == challenge_id))
    if row is None:
        raise NotFound("no such login challenge; ask for a new one", code="challenge-unknown")
    if row.used_at is not None:
        raise TooLate("this login challenge has already been used; ask for a new one", code="challenge-used")
    if row.expires_at <= now:
        raise TooLate(
            f"this login challenge expired at {format_time(row.expires_at)}; ask for a new one",
            code="challenge-expired",
        )
    claimed = session.execute(
        update(LoginChallenge)
        .where(LoginChallenge.id == challenge_id, LoginChallenge.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(claimed, "rowcount", 0) != 1:
        raise TooLate("this login challenge has already been used; ask for a new one", code="challenge-used")
    return ChallengeView.of(row)


def check_binding(challenge: ChallengeView, *, audience: str, purpose: str = LOGIN_PURPOSE) -> None:
    """Refuse a challenge issued for another server (audience) or another purpose."""
    if challenge.audience != audience or challenge.purpose != purpose:
        raise Unauthorized(
            f"this challenge was issued for {challenge.audience!r} ({challenge.purpose}), "
            f"not for {audience!r} ({purpose})",
            code="challenge-wrong-audience",
        )
