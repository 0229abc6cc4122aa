"""Provider events (keypresses, call and SMS statuses, SMS replies) applied to confirmations, and the sweep.

:func:`handle_event` records each event once under its provider's unique key (a repeat returns
``"duplicate"`` and changes nothing), logs it, and moves the confirmation on. :func:`sweep` collects the
events of polling providers and fires due timers; the task ``experts.sweep`` runs it.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from experts.confirmation import (
    call_failed,
    code_matches,
    due_confirmations,
    fire_timer,
    settle,
    sms_failed,
)
from experts.confirmation_models import ContactAttempt, ExpertConfirmation, TelephonyEvent
from experts.notify_committee import Outcome
from experts.notify_log import log_confirmation, provider_ref
from experts.notify_messages import parse_reply
from experts.telephony import ProviderEvent, provider_for
from experts.telephony.protocol import CALL_FAILED_STATUSES, CALL_FINAL_STATUSES
from tendering.tasks import enqueue

if TYPE_CHECKING:
    from tendering.platform import Platform

EVENTS_TASK = "experts.events"

#: Results of :func:`handle_event`.
CONFIRMED, DECLINED, INVALID_KEY, CLOSED = "confirmed", "declined", "invalid-key", "closed"
DUPLICATE, UNKNOWN, RECORDED = "duplicate", "unknown", "recorded"
WRONG_CODE, LATE, MALFORMED = "wrong-code", "late", "malformed"


def is_known(platform: Platform, provider: str, provider_id: str) -> bool:
    """Whether ``provider_id`` is a call or SMS we made (webhooks about anything else are refused)."""
    with platform.session_factory() as session:
        found = session.scalar(
            select(ContactAttempt.id).where(
                ContactAttempt.provider == provider, ContactAttempt.provider_id == provider_id
            )
        )
        return found is not None


def handle_event(platform: Platform, event: ProviderEvent) -> str:
    """Apply ``event`` once; return what it did (see the result constants)."""
    with platform.transaction() as session:
        record = TelephonyEvent(
            provider=event.provider,
            event_key=event.event_key[:160],
            kind=event.kind,
            provider_id=event.provider_id[:64],
            assignment_id=None,
            result=RECORDED,
            detail=_detail(event),
            received_at=platform.clock.now(),
        )
        try:
            with session.begin_nested():
                session.add(record)
                session.flush()
        except IntegrityError:
            return DUPLICATE
        if event.kind == "sms_inbound":
            result, assignment = _inbound(platform, session, event)
        else:
            result, assignment = _about_attempt(platform, session, event)
        record.result, record.assignment_id = result, assignment
        return result


def _detail(event: ProviderEvent) -> dict[str, Any]:
    detail: dict[str, Any] = {"status": event.status, "digits": event.digits}
    if event.kind == "sms_inbound":  # the reply holds the code: keep its hash, not the text
        detail["from"] = event.from_number
        detail["body_sha256"] = hashlib.sha256(event.body.encode()).hexdigest()
    return detail


def _attempt(session: Session, provider: str, provider_id: str) -> ContactAttempt | None:
    """The attempt, locked after its confirmation row (always row, then attempt: no lock-order deadlock)."""
    found = session.scalars(
        select(ContactAttempt.assignment_id).where(
            ContactAttempt.provider == provider, ContactAttempt.provider_id == provider_id
        )
    ).one_or_none()
    if found is None:
        return None
    session.get(ExpertConfirmation, found, with_for_update=True)
    return session.scalars(
        select(ContactAttempt)
        .where(ContactAttempt.provider == provider, ContactAttempt.provider_id == provider_id)
        .with_for_update()
    ).one()


def _about_attempt(
    platform: Platform, session: Session, event: ProviderEvent
) -> tuple[str, uuid.UUID | None]:
    attempt = _attempt(session, event.provider, event.provider_id)
    if attempt is None:
        return UNKNOWN, None
    row = session.get(ExpertConfirmation, attempt.assignment_id, with_for_update=True)
    assert row is not None
    current = row.state == "calling" and attempt.step == row.step - 1
    common = {"attempt": str(attempt.id), "ref": provider_ref(attempt.provider, attempt.provider_id)}
    if event.kind == "keypress":
        attempt.digits = event.digits[:16]
        log_confirmation(platform, session, "keypress", row.assignment_id, digits=event.digits[:16], **common)
        if not current:
            return CLOSED, row.assignment_id
        if event.digits in ("1", "2"):
            outcome: Outcome = "confirmed" if event.digits == "1" else "declined"
            settle(platform, session, row, outcome, {"channel": "voice", "attempt": str(attempt.id)})
            return (CONFIRMED if outcome == "confirmed" else DECLINED), row.assignment_id
        return INVALID_KEY, row.assignment_id
    status = event.status.lower()
    if attempt.channel == "voice":
        if status not in CALL_FINAL_STATUSES:
            return RECORDED, row.assignment_id  # ringing, in-progress: the final status decides
        attempt.status, attempt.finished_at = status, platform.clock.now()
        log_confirmation(platform, session, "call_status", row.assignment_id, status=status, **common)
        if current and (status in CALL_FAILED_STATUSES or attempt.digits not in ("1", "2")):
            call_failed(platform, session, row, attempt)
        return RECORDED, row.assignment_id
    attempt.status = status
    if status in ("delivered", "undelivered", "failed"):
        attempt.finished_at = platform.clock.now()
    log_confirmation(platform, session, "sms_status", row.assignment_id, status=status, **common)
    if status in ("undelivered", "failed"):
        sms_failed(platform, session, row, attempt)
    return RECORDED, row.assignment_id


def _inbound(platform: Platform, session: Session, event: ProviderEvent) -> tuple[str, uuid.UUID | None]:
    """An SMS reply: match it to a waiting confirmation of the sender's number by its code."""
    code_length = platform.settings.telephony.code_length
    max_wrong = platform.settings.telephony.max_wrong_codes
    now = platform.clock.now()
    rows = session.scalars(
        select(ExpertConfirmation)
        .join(ContactAttempt, ContactAttempt.assignment_id == ExpertConfirmation.assignment_id)
        .where(ContactAttempt.channel == "sms", ContactAttempt.phone_number == event.from_number)
        .order_by(ExpertConfirmation.created_at)
        .with_for_update()
    ).all()
    waiting = [row for row in rows if row.state == "sms_wait"]
    reply = parse_reply(event.body, code_length)
    if not rows:
        return UNKNOWN, None
    inbound = {"ref": provider_ref(event.provider, event.provider_id) or ""}
    if reply is None:
        target = waiting[0] if len(waiting) == 1 else rows[-1]
        log_confirmation(platform, session, "sms_reply", target.assignment_id, result=MALFORMED, **inbound)
        return MALFORMED, target.assignment_id
    for row in waiting:
        usable = (
            row.code_expires_at is not None and now <= row.code_expires_at and row.wrong_codes < max_wrong
        )
        if usable and code_matches(row, reply.code):
            choice: Outcome = "confirmed" if reply.choice == "1" else "declined"
            log_confirmation(platform, session, "sms_reply", row.assignment_id, result=choice, **inbound)
            settle(platform, session, row, choice, {"channel": "sms", **inbound})
            return (CONFIRMED if choice == "confirmed" else DECLINED), row.assignment_id
    late = next((row for row in rows if row.state == "settled" and code_matches(row, reply.code)), None)
    if late is not None:
        log_confirmation(platform, session, "sms_reply", late.assignment_id, result=LATE, **inbound)
        return LATE, late.assignment_id
    for row in waiting:
        row.wrong_codes += 1
        row.updated_at = now
    target = waiting[0] if waiting else rows[-1]
    log_confirmation(platform, session, "sms_reply", target.assignment_id, result=WRONG_CODE, **inbound)
    return WRONG_CODE, target.assignment_id


def apply_events(platform: Platform, events: list[dict[str, Any]]) -> list[str]:
    """Apply serialised events in order (the ``experts.events`` task); each is applied at most once."""
    return [handle_event(platform, ProviderEvent(**fields)) for fields in events]


@dataclass(frozen=True)
class SweepResult:
    """What one sweep did."""

    events: int
    timers: int


def sweep(platform: Platform, now: datetime | None = None) -> SweepResult:
    """Hand the events a polling provider has due to the workers, then fire due timers.

    The events are written to the outbox in one transaction (so none is lost once polled), one
    ``experts.events`` task per call or message: the events of one call stay in order (a keypress before
    the call's final status), different calls are applied in parallel.
    """
    now = now or platform.clock.now()
    events = provider_for(platform).poll(now)
    if events:
        groups: dict[str, list[dict[str, str]]] = {}
        for event in events:
            groups.setdefault(event.provider_id, []).append(asdict(event))
        with platform.transaction() as session:
            for group in groups.values():
                enqueue(session, EVENTS_TASK, platform.clock, events=group)
    fired = 0
    for assignment_id in due_confirmations(platform, now):
        if fire_timer(platform, assignment_id, now) is not None:
            fired += 1
    return SweepResult(len(events), fired)
