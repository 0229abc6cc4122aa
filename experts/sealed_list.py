"""The sealed drawn list: each assignment's contact card, encrypted, and every read of it logged.

The card (name, phone numbers) is sealed with :mod:`experts.sealing` bound to the assignment and
request ids. Reading it writes a private ``expert_list_reads`` row (who, which role, why, when) and a
public log event ``experts.list_read`` naming the request, the assignment, the reader's role and the
purpose - never the expert.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy.orm import Session

from experts.pool_models import Expert, ExpertAssignment, ExpertListRead, ExpertSealedContact
from experts.sealing import Sealed, load_list_key
from tendering.errors import NotFound
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.translog.entries import LogActor, LogEvent

READ_EVENT: Final = "experts.list_read"


@dataclass(frozen=True)
class OpenedCard:
    """A decrypted card: the expert's name and ordered phone numbers."""

    name: str
    phones: tuple[str, ...]


def _aad(assignment: ExpertAssignment) -> bytes:
    return b"sealbid.experts.card.v1\x00" + assignment.id.bytes + assignment.request_id.bytes


def seal_card(session: Session, platform: Platform, assignment: ExpertAssignment, expert: Expert) -> None:
    """Seal ``expert``'s name and phones for ``assignment`` (the assignment must be flushed)."""
    plaintext = json.dumps({"name": expert.name, "phones": list(expert.phones)}, ensure_ascii=False)
    sealed = load_list_key(platform.settings).seal(plaintext.encode("utf-8"), _aad(assignment))
    session.add(
        ExpertSealedContact(
            assignment_id=assignment.id,
            key_id=sealed.key_id,
            nonce=sealed.nonce,
            ciphertext=sealed.ciphertext,
        )
    )


def log_actor(actor: Actor) -> LogActor:
    """The log actor of an :class:`Actor` (its operator public only in a public role)."""
    return LogActor(actor.role, actor.operator, actor.address, public=actor.role in {"agency", "authority"})


def open_card(
    session: Session, platform: Platform, assignment: ExpertAssignment, *, reader: Actor, purpose: str
) -> OpenedCard:
    """Decrypt ``assignment``'s card and record the read (privately in full, publicly blinded)."""
    row = session.get(ExpertSealedContact, assignment.id)
    if row is None:
        raise NotFound(f"assignment {assignment.id} has no sealed contact card")
    key = load_list_key(platform.settings)
    opened: dict[str, Any] = json.loads(
        key.open(Sealed(row.key_id, row.nonce, row.ciphertext), _aad(assignment)).decode("utf-8")
    )
    record_read(session, platform, assignment, reader=reader, purpose=purpose)
    return OpenedCard(str(opened["name"]), tuple(str(p) for p in opened["phones"]))


def record_read(
    session: Session, platform: Platform, assignment: ExpertAssignment, *, reader: Actor, purpose: str
) -> None:
    """Write the private read record and the blinded public log event."""
    session.add(
        ExpertListRead(
            id=uuid.uuid4(),
            assignment_id=assignment.id,
            reader_id=reader.identity_id,
            reader_role=reader.role,
            purpose=purpose,
            at=platform.clock.now(),
        )
    )
    platform.translog.submit(
        session,
        LogEvent(
            READ_EVENT,
            log_actor(reader),
            None,
            {
                "request": str(assignment.request_id),
                "assignment": str(assignment.id),
                "reader_role": reader.role,
                "purpose": purpose,
            },
        ),
    )
