"""What an answered call hears (Twilio TwiML): the prompt, a re-prompt, the answer to a keypress.

The prompt is the one stored with the call attempt when it was placed (time and place, press 1 or 2);
it is served at most ``gather_attempts`` times per call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from experts.confirmation_models import ContactAttempt, ExpertConfirmation, TelephonyEvent
from experts.notify_events import CONFIRMED, DECLINED, INVALID_KEY
from experts.notify_messages import voice_reply
from experts.telephony.protocol import VoicePrompt
from experts.telephony.twilio import (
    GATHER_PATH,
    VOICE_PATH,
    TwilioProvider,
    prompt_twiml,
    redirect_twiml,
    say_twiml,
)

if TYPE_CHECKING:
    from tendering.platform import Platform


def _prompt(attempt: ContactAttempt) -> VoicePrompt:
    content = attempt.content
    return VoicePrompt(
        text=str(content["text"]),
        language=str(content["language"]),
        retry_text=str(content["retry"]),
        goodbye_text=str(content["goodbye"]),
    )


#: :func:`voice_twiml`'s answer to a repeated request (same idempotency token).
REPLAYED = "replayed"


def voice_twiml(platform: Platform, provider: TwilioProvider, call_sid: str, token: str | None) -> str | None:
    """The TwiML for an answered call; None if it is not a call of ours, :data:`REPLAYED` for a repeat.

    Each prompt served is recorded once under the request's idempotency ``token`` (when the provider
    sends one), so a replayed request does not use up the call's prompts.
    """
    limit = platform.settings.telephony.gather_attempts
    with platform.transaction() as session:
        attempt = session.scalars(
            select(ContactAttempt).where(
                ContactAttempt.provider == provider.name, ContactAttempt.provider_id == call_sid
            )
        ).one_or_none()
        if attempt is None or attempt.channel != "voice":
            return None
        session.get(ExpertConfirmation, attempt.assignment_id, with_for_update=True)  # row, then attempt
        session.refresh(attempt, with_for_update=True)
        if token:
            served = TelephonyEvent(
                provider=provider.name,
                event_key=f"call:{call_sid}:voice:{token}"[:160],
                kind="voice",
                provider_id=call_sid[:64],
                assignment_id=attempt.assignment_id,
                result="prompt",
                detail={},
                received_at=platform.clock.now(),
            )
            try:
                with session.begin_nested():
                    session.add(served)
                    session.flush()
            except IntegrityError:
                return REPLAYED
        prompt = _prompt(attempt)
        row = session.get(ExpertConfirmation, attempt.assignment_id)
        assert row is not None
        if row.state != "calling" or attempt.step != row.step - 1:
            return say_twiml(voice_reply(row.locale, "closed"), prompt.language)
        attempt.prompts += 1
        if attempt.prompts > limit:
            return say_twiml(prompt.goodbye_text, prompt.language)
        return prompt_twiml(prompt, provider.url(GATHER_PATH), retry=attempt.prompts > 1)


def gather_twiml(platform: Platform, provider: TwilioProvider, call_sid: str, result: str) -> str:
    """The TwiML after a keypress was applied with ``result`` (see :mod:`experts.notify_events`)."""
    with platform.session_factory() as session:
        attempt = session.scalars(
            select(ContactAttempt).where(
                ContactAttempt.provider == provider.name, ContactAttempt.provider_id == call_sid
            )
        ).one()
        row = session.get(ExpertConfirmation, attempt.assignment_id)
        assert row is not None
        language = _prompt(attempt).language
        if result == CONFIRMED:
            return say_twiml(voice_reply(row.locale, "confirmed"), language)
        if result == DECLINED:
            return say_twiml(voice_reply(row.locale, "declined"), language)
        if result == INVALID_KEY:
            return redirect_twiml(provider.url(VOICE_PATH))
        return say_twiml(voice_reply(row.locale, "closed"), language)
