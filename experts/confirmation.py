"""The confirmation state machine: call each number, retry, then SMS a one-time code, then settle.

Per assignment (see ``docs/telephony.md``):

1. :func:`start` (task ``experts.confirm``) opens the confirmation and places the first call.
2. A keypress 1 settles ``confirmed``, 2 settles ``declined`` (the draw then calls a replacement).
3. A call that ends without a valid key (no answer, busy, failed, hung up) is retried on the same number
   after ``retry_spacing_seconds`` up to ``attempts_per_number`` calls, then the next number is called.
4. When every number is exhausted, an SMS with a one-time code goes to the first number (to the next
   one, with a new code, if the provider refuses it or reports it undeliverable); a reply
   ``<code> 1`` / ``<code> 2`` settles; no valid reply within ``sms_reply_timeout_seconds`` settles
   ``no_answer``.

Before each contact the draw's status of the assignment is checked: one that is no longer pending
(avoided when the session started, say) is closed without another call.

Contact actions run as the task ``experts.contact`` with the row's ``step``; an action or event for an
older step changes nothing, and each provider event is recorded once under its unique key, so redelivered
messages and repeated webhooks are harmless. Timers (retry spacing, SMS timeout, a call whose final
status never arrives) are ``due_at`` on the row, fired by :func:`sweep` (task ``experts.sweep``), which
also collects the events of polling providers (simulator, in-memory). Provider requests are made outside
database transactions: the attempt is recorded first (``placing``), then the provider is asked, then its
id is recorded; a crash in between leaves a ``placing`` attempt that the sweep counts as failed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from experts.confirmation_models import ContactAttempt, ExpertConfirmation
from experts.notify_committee import ContactCardView, Outcome, assignment_status, committee_for
from experts.notify_log import log_confirmation, provider_ref
from experts.notify_messages import sms_text, voice_prompt
from experts.telephony import ProviderError, VoicePrompt, provider_for
from tendering.identity.audit import Actor
from tendering.tasks import enqueue

if TYPE_CHECKING:
    from tendering.platform import Platform
    from tendering.telephony_settings import TelephonySettings

CONTACT_TASK = "experts.contact"
#: Who reads contact cards and settles: the notification worker (the platform itself).
NOTIFIER = Actor.system()
OPEN_STATES = frozenset({"dial", "calling", "retry_wait", "sms", "sms_wait"})


def code_digest(salt: str, assignment_id: uuid.UUID, code: str) -> str:
    """Hex SHA-256 of a one-time code, salted and bound to its assignment (the code itself is not kept)."""
    return hashlib.sha256(f"{salt}:{assignment_id}:{code}".encode()).hexdigest()


def new_code(length: int) -> str:
    """A random numeric one-time code of ``length`` digits."""
    return "".join(secrets.choice("0123456789") for _ in range(length))


def code_matches(row: ExpertConfirmation, code: str) -> bool:
    """Whether ``code`` is the confirmation's current code (constant-time comparison)."""
    if row.code_salt is None or row.code_hash is None:
        return False
    return hmac.compare_digest(code_digest(row.code_salt, row.assignment_id, code), row.code_hash)


def start(platform: Platform, assignment_id: uuid.UUID) -> bool:
    """Open the confirmation of ``assignment_id`` and make its first contact; False if it was open."""
    now = platform.clock.now()
    with platform.transaction() as session:
        if session.get(ExpertConfirmation, assignment_id) is not None:
            return False
        card = committee_for(platform).contact_card(session, platform, assignment_id, reader=NOTIFIER)
        row = ExpertConfirmation(
            assignment_id=assignment_id,
            state="dial" if card.phones else "settled",
            step=0,
            phone_index=0,
            phone_count=len(card.phones),
            calls_on_number=0,
            locale=card.locale,
            wrong_codes=0,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()
        log_confirmation(platform, session, "started", assignment_id, numbers=len(card.phones))
        if not card.phones:
            settle(platform, session, row, "no_answer", {"reason": "no-phone-number"})
            return True
    contact(platform, assignment_id, 0)
    return True


def contact(platform: Platform, assignment_id: uuid.UUID, step: int) -> None:
    """Make the contact the confirmation is waiting for at ``step`` (a call or the SMS); else nothing."""
    settings = platform.settings.telephony
    provider = provider_for(platform)
    now = platform.clock.now()
    with platform.transaction() as session:
        row = _locked(session, assignment_id)
        if row is None or row.step != step or row.state not in ("dial", "sms"):
            return
        committee = committee_for(platform)
        status = assignment_status(committee, session, assignment_id)
        if status is not None and status != "pending":  # settled elsewhere (avoided at the session start)
            row.state, row.outcome, row.due_at = "settled", status[:16], None
            row.settled_at = row.updated_at = now
            log_confirmation(platform, session, "closed", assignment_id, status=status)
            return
        card = committee.contact_card(session, platform, assignment_id, reader=NOTIFIER)
        if row.phone_index >= len(card.phones):
            settle(platform, session, row, "no_answer", {"reason": "no-phone-number"})
            return
        attempt = ContactAttempt(
            id=uuid.uuid4(),
            assignment_id=assignment_id,
            step=step,
            channel="voice" if row.state == "dial" else "sms",
            provider=provider.name,
            phone_index=row.phone_index,
            phone_number=card.phones[row.phone_index],
            status="placing",
            prompts=0,
            created_at=now,
        )
        prepare = _prepare_call if row.state == "dial" else _prepare_sms
        request = prepare(settings, row, attempt, card, now)
        row.step = step + 1
        row.updated_at = now
        session.add(attempt)
        attempt_id, number = attempt.id, attempt.phone_number
    try:
        if isinstance(request, VoicePrompt):
            provider_id: str | None = provider.place_call(
                number, request, ring_timeout_seconds=settings.ring_timeout_seconds
            )
        else:
            provider_id = provider.send_sms(number, request)
        refused = None
    except ProviderError as exc:
        provider_id, refused = None, type(exc).__name__
    _record_request(platform, attempt_id, provider_id, refused)


def _prepare_call(
    settings: TelephonySettings,
    row: ExpertConfirmation,
    attempt: ContactAttempt,
    card: ContactCardView,
    now: datetime,
) -> VoicePrompt | str:
    """Store the prompt with the attempt and start the call guard timer; return the prompt."""
    prompt = voice_prompt(row.locale, card.evaluation_time, card.time_zone, card.evaluation_place)
    attempt.content = {
        "text": prompt.text,
        "language": prompt.language,
        "retry": prompt.retry_text,
        "goodbye": prompt.goodbye_text,
    }
    row.state = "calling"
    row.due_at = now + timedelta(seconds=settings.ring_timeout_seconds + settings.call_guard_seconds)
    return prompt


def _prepare_sms(
    settings: TelephonySettings,
    row: ExpertConfirmation,
    attempt: ContactAttempt,
    card: ContactCardView,
    now: datetime,
) -> VoicePrompt | str:
    """Make a new one-time code (only its hash is kept), start the reply timer; return the SMS text."""
    code = new_code(settings.code_length)
    row.code_salt = secrets.token_hex(16)
    row.code_hash = code_digest(row.code_salt, row.assignment_id, code)
    row.code_expires_at = now + timedelta(seconds=settings.code_ttl_seconds)
    row.wrong_codes = 0
    body = sms_text(
        row.locale,
        when=card.evaluation_time,
        time_zone=card.time_zone,
        place=card.evaluation_place,
        code=code,
        minutes=settings.code_ttl_seconds // 60,
    )
    attempt.content = {"text": body.replace(code, "*" * len(code))}  # the code is kept hashed only
    row.state = "sms_wait"
    row.due_at = now + timedelta(seconds=settings.sms_reply_timeout_seconds)
    return body


def _record_request(
    platform: Platform, attempt_id: uuid.UUID, provider_id: str | None, refused: str | None
) -> None:
    with platform.transaction() as session:
        assignment_id = session.scalar(
            select(ContactAttempt.assignment_id).where(ContactAttempt.id == attempt_id)
        )
        if assignment_id is None:
            return
        row = _locked(session, assignment_id)  # the row first, then the attempt (one lock order)
        attempt = session.get(ContactAttempt, attempt_id, with_for_update=True, populate_existing=True)
        if row is None or attempt is None or attempt.status != "placing":
            return
        event = "call_placed" if attempt.channel == "voice" else "sms_sent"
        attempt.provider_id = provider_id
        attempt.status = "initiated" if provider_id else "failed"
        log_confirmation(
            platform,
            session,
            event,
            attempt.assignment_id,
            attempt=str(attempt.id),
            phone=attempt.phone_index,
            provider=attempt.provider,
            ref=provider_ref(attempt.provider, provider_id),
            refused=refused,
        )
        if provider_id is None:
            attempt.finished_at = platform.clock.now()
            if attempt.channel == "voice":
                call_failed(platform, session, row, attempt)
            else:
                sms_failed(platform, session, row, attempt)


def call_failed(
    platform: Platform, session: Session, row: ExpertConfirmation, attempt: ContactAttempt
) -> None:
    """The current call got no valid key: retry this number later, else the next number, else the SMS."""
    if row.state != "calling" or attempt.step != row.step - 1:
        return
    settings = platform.settings.telephony
    now = platform.clock.now()
    row.calls_on_number += 1
    row.updated_at = now
    if row.calls_on_number < settings.attempts_per_number and settings.retry_spacing_seconds > 0:
        row.state, row.due_at = "retry_wait", now + timedelta(seconds=settings.retry_spacing_seconds)
        return
    if row.calls_on_number >= settings.attempts_per_number:
        row.phone_index += 1
        row.calls_on_number = 0
    if row.phone_index < row.phone_count:
        row.state = "dial"
    else:  # every number was called: the SMS goes to the first number (then the next if undeliverable)
        row.state, row.phone_index = "sms", 0
    row.due_at = None
    enqueue(session, CONTACT_TASK, platform.clock, assignment_id=str(row.assignment_id), step=row.step)


def sms_failed(
    platform: Platform, session: Session, row: ExpertConfirmation, attempt: ContactAttempt
) -> None:
    """The current SMS was refused or undeliverable: send a new code to the next number, else no_answer."""
    if row.state != "sms_wait" or attempt.step != row.step - 1:
        return
    row.phone_index += 1
    row.updated_at = platform.clock.now()
    if row.phone_index >= row.phone_count:
        settle(platform, session, row, "no_answer", {"reason": "sms-undeliverable"})
        return
    row.state, row.due_at = "sms", None
    row.code_hash = row.code_salt = None  # the undelivered code is void
    enqueue(session, CONTACT_TASK, platform.clock, assignment_id=str(row.assignment_id), step=row.step)


def settle(
    platform: Platform,
    session: Session,
    row: ExpertConfirmation,
    outcome: Outcome,
    evidence: dict[str, str],
) -> None:
    """Settle through the draw (which replaces a decline or no answer) and close the confirmation."""
    now = platform.clock.now()
    result = committee_for(platform).settle(
        session, platform, row.assignment_id, outcome, actor=NOTIFIER, evidence=evidence
    )
    row.state, row.outcome, row.due_at = "settled", outcome, None
    row.settled_at = row.updated_at = now
    log_confirmation(
        platform,
        session,
        "settled",
        row.assignment_id,
        outcome=outcome,
        status=result.status,
        replacement=str(result.replacement_id) if result.replacement_id else None,
        **evidence,
    )
    if result.pool_short:
        log_confirmation(platform, session, "pool_short", row.assignment_id, outcome=outcome)


def _locked(session: Session, assignment_id: uuid.UUID) -> ExpertConfirmation | None:
    return session.get(ExpertConfirmation, assignment_id, with_for_update=True)


TimerResult = Literal["retry", "call-timeout", "sms-timeout", "placing-timeout"]


def fire_timer(platform: Platform, assignment_id: uuid.UUID, now: datetime) -> TimerResult | None:
    """Act on a due timer of one confirmation (idempotent: re-checks under a row lock)."""
    with platform.transaction() as session:
        row = _locked(session, assignment_id)
        if row is None or row.due_at is None or row.due_at > now or row.state not in OPEN_STATES:
            return None
        if row.state == "retry_wait":
            row.state, row.due_at, row.updated_at = "dial", None, now
            enqueue(session, CONTACT_TASK, platform.clock, assignment_id=str(assignment_id), step=row.step)
            return "retry"
        if row.state == "sms_wait":
            settle(platform, session, row, "no_answer", {"reason": "sms-timeout"})
            return "sms-timeout"
        if row.state == "calling":
            attempt = session.scalars(
                select(ContactAttempt).where(
                    ContactAttempt.assignment_id == assignment_id, ContactAttempt.step == row.step - 1
                )
            ).one()
            placing = attempt.status == "placing"
            attempt.status, attempt.finished_at = "failed", now
            log_confirmation(
                platform,
                session,
                "call_status",
                assignment_id,
                attempt=str(attempt.id),
                status="no-final-status",
                ref=provider_ref(attempt.provider, attempt.provider_id),
            )
            call_failed(platform, session, row, attempt)
            return "placing-timeout" if placing else "call-timeout"
    return None


def due_confirmations(platform: Platform, now: datetime, limit: int = 500) -> list[uuid.UUID]:
    """Confirmations whose timer is due by ``now``."""
    with platform.session_factory() as session:
        return list(
            session.scalars(
                select(ExpertConfirmation.assignment_id)
                .where(ExpertConfirmation.due_at.is_not(None), ExpertConfirmation.due_at <= now)
                .order_by(ExpertConfirmation.due_at)
                .limit(limit)
            )
        )
