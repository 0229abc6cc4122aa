"""What an answered call hears (Twilio TwiML): the prompt, a re-prompt, the answer to a keypress.

The prompt is the one stored with the call attempt when it was placed (time and place, press 1 or 2);
it is served at most ``gather_attempts`` times per call.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from experts.confirmation_models import ContactAttempt, ExpertConfirmation
from experts.notify_events import CLOSED, CONFIRMED, DECLINED, DUPLICATE, INVALID_KEY
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


def voice_twiml(platform: Platform, provider: TwilioProvider, call_sid: str) -> str | None:
    """The TwiML for an answered call (None: not a call of ours)."""
    limit = platform.settings.telephony.gather_attempts
    with platform.transaction() as session:
        attempt = session.scalars(
            select(ContactAttempt)
            .where(ContactAttempt.provider == provider.name, ContactAttempt.provider_id == call_sid)
            .with_for_update()
        ).one_or_none()
        if attempt is None or attempt.channel != "voice":
            return None
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
        if result == DUPLICATE:  # a retried webhook: answer from the state it left
            settled_here = row.state == "settled" and attempt.digits in ("1", "2")
            result = (CONFIRMED if attempt.digits == "1" else DECLINED) if settled_here else INVALID_KEY
            if row.state == "settled" and not settled_here:
                result = CLOSED
        if result == CONFIRMED:
            return say_twiml(voice_reply(row.locale, "confirmed"), language)
        if result == DECLINED:
            return say_twiml(voice_reply(row.locale, "declined"), language)
        if result == INVALID_KEY:
            return redirect_twiml(provider.url(VOICE_PATH))
        return say_twiml(voice_reply(row.locale, "closed"), language)
