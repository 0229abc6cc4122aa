"""Recording identity and login events (Measures Art. 49: operator, role, address, time).

Every login success and failure, identity registration, certificate registration or revocation and
role grant or revocation is appended to the transparency log inside the transaction that makes the
change. The public entry carries the event type, the actor's role and time, and data that names no one:
role names, the certificate purpose, a refusal code and — only when an administrator acts on another
identity — that identity's opaque id. The operator (an opaque identity id, or ``certificate:<sha256>``
for a failed login) and the network address are hidden behind the log's actor commitment and kept in
its private audit table; they appear in clear only for administrators and the server console.
Challenge issue and use are not state changes and are not logged.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final, Protocol

from sqlalchemy.orm import Session

from tendering.translog.entries import LogActor, LogEvent

if TYPE_CHECKING:
    from tendering.platform import Platform
    from tendering.translog import TransparencyLog

#: Actor roles whose operator is named in clear in public entries.
PUBLIC_ACTOR_ROLES: Final = frozenset({"admin", "console", "system"})


@dataclass(frozen=True)
class Actor:
    """Who did something: an identity acting in a role, from a network address (or the system)."""

    identity_id: uuid.UUID | None = None
    role: str = "system"
    address: str | None = None
    #: The certificate fingerprint, for actors not (yet) known as an identity (failed logins).
    certificate: str | None = None

    @property
    def operator(self) -> str | None:
        """The opaque operator id recorded (privately) for this actor."""
        if self.identity_id is not None:
            return str(self.identity_id)
        return f"certificate:{self.certificate}" if self.certificate else None

    @classmethod
    def system(cls, role: str = "system") -> Actor:
        """The platform itself, or an operator at the server's console (``role="console"``)."""
        return cls(None, role, None)


def about(subject: uuid.UUID, actor: Actor) -> dict[str, str]:
    """``{"subject": id}`` when an identified ``actor`` acts on someone else, else nothing.

    Never unblind the actor: self-registration (no actor identity yet) names nobody, because the
    new identity's id would link a tenderer's later entries.
    """
    if actor.identity_id is None or subject == actor.identity_id:
        return {}
    return {"subject": str(subject)}


class AuditTrail(Protocol):
    """Where identity events go."""

    def record(self, session: Session, event_type: str, actor: Actor, when: datetime, **data: Any) -> None:
        """Record one event inside the caller's transaction (``data`` must be public-safe)."""
        ...


def event_document(event_type: str, actor: Actor, when: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The event with its private fields, as the application log and tests see it."""
    return {
        "type": event_type,
        "operator": actor.operator,
        "role": actor.role,
        "address": actor.address,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "data": data,
    }


@dataclass
class MemoryAuditTrail:
    """Keeps events in a list (tests)."""

    events: list[dict[str, Any]] = field(default_factory=list)

    def record(self, session: Session, event_type: str, actor: Actor, when: datetime, **data: Any) -> None:
        """Append the event document."""
        self.events.append(event_document(event_type, actor, when, data))


class TranslogAuditTrail:
    """Appends identity events to the platform's transparency log."""

    def __init__(self, log: TransparencyLog) -> None:
        self.log = log

    def record(self, session: Session, event_type: str, actor: Actor, when: datetime, **data: Any) -> None:
        """Submit the event in ``session``'s transaction (the log stamps its own time)."""
        log_actor = LogActor(
            role=actor.role,
            operator=actor.operator,
            address=actor.address,
            public=actor.role in PUBLIC_ACTOR_ROLES,
        )
        self.log.submit(session, LogEvent(type=event_type, actor=log_actor, data=data))


def audit_for(platform: Platform) -> AuditTrail:
    """The audit trail of ``platform``: its transparency log."""
    return TranslogAuditTrail(platform.translog)
