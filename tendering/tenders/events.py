"""Transparency-log events of the tender domain (Measures Art. 49: operator, role, address, time).

Every state change calls :func:`log_event` inside its transaction. Entries carry hashes, ids and
public facts only. Events that would reveal who obtained documents or asked a question (Law Art. 22)
are *blinded*: they name no tender, and their data is a salted commitment to the private record
(:func:`record_commitment`), which the platform can open to a monitor later.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

import rfc8785
from sqlalchemy.orm import Session

from tendering.identity.audit import Actor
from tendering.translog import LogActor, LogEvent

if TYPE_CHECKING:
    from tendering.platform import Platform

RECORD_DOMAIN: Final = b"sealbid.tenders.record.v1\x00"
SALT_BYTES: Final = 32


def log_actor(actor: Actor) -> LogActor:
    """The log's view of an actor: role, opaque operator id and address (hidden behind a commitment)."""
    return LogActor(
        role=actor.role,
        operator=actor.operator,
        address=actor.address,
        public=actor.role in ("system", "console"),
    )


def log_event(
    platform: Platform,
    session: Session,
    event_type: str,
    actor: Actor,
    tender: uuid.UUID | None,
    **data: Any,
) -> None:
    """Append ``event_type`` to the transparency log in ``session``'s transaction."""
    platform.translog.submit(session, LogEvent(event_type, log_actor(actor), tender, data))


def new_salt() -> bytes:
    """A fresh salt for a record commitment."""
    return secrets.token_bytes(SALT_BYTES)


def record_commitment(salt: bytes, record: Mapping[str, Any]) -> str:
    """Hex SHA-256 over the domain tag, the salt and the canonical JSON of the private ``record``."""
    return hashlib.sha256(RECORD_DOMAIN + salt + bytes(rfc8785.dumps(dict(record)))).hexdigest()


def text_sha256(text: str) -> str:
    """Hex SHA-256 of a UTF-8 text (reasons, notice bodies)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
