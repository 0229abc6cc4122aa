"""Transparency-log events of the expert confirmation: ids, hashes and statuses, never numbers or names.

Every call, SMS, keypress, delivery status, reply and settlement is appended to the public log in the
transaction that records it. Entries name the assignment (an opaque id), the attempt (an opaque id), a
SHA-256 of the provider's call or message id (so a monitor holding the provider's records can match
them), the phone's position in the expert's list and the status. The phone number, the texts and the
reply itself stay in the confidential tables (:mod:`experts.confirmation_models`).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from tendering.translog import LogActor, LogEvent

if TYPE_CHECKING:
    from tendering.platform import Platform

PREFIX = "experts.confirmation."


def provider_ref(provider: str, provider_id: str | None) -> str | None:
    """The logged reference of a provider id: hex SHA-256 of ``provider:id``."""
    if not provider_id:
        return None
    return hashlib.sha256(f"{provider}:{provider_id}".encode()).hexdigest()


def log_confirmation(
    platform: Platform, session: Session, event: str, assignment_id: uuid.UUID, **data: Any
) -> None:
    """Append ``experts.confirmation.<event>`` about ``assignment_id`` (the platform acts)."""
    payload = {"assignment": str(assignment_id), **{k: v for k, v in data.items() if v is not None}}
    platform.translog.submit(session, LogEvent(PREFIX + event, LogActor.system(), None, payload))
