"""The Twilio adapter: voice calls with a keypad gather, SMS, and signed webhooks.

Calls are created with ``Url`` = our voice webhook (which answers with the TwiML prompt, see
``api/telephony.py``) and ``StatusCallback`` = our call-status webhook; SMS with ``StatusCallback`` = our
SMS-status webhook; the Twilio number's "A message comes in" webhook is our inbound-SMS URL. Webhooks are
verified with :class:`twilio.request_validator.RequestValidator` over the full public URL
(``public_webhook_base_url`` + path) and the form parameters. ``twilio_api_base_url`` points the REST
client elsewhere (the fake server in tests).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from twilio.base.exceptions import TwilioException  # type: ignore[import-untyped]
from twilio.request_validator import RequestValidator  # type: ignore[import-untyped]
from twilio.rest import Client  # type: ignore[import-untyped]
from twilio.twiml.voice_response import VoiceResponse  # type: ignore[import-untyped]

from experts.telephony.protocol import ProviderError, ProviderEvent, VoicePrompt
from tendering.errors import InvalidInput

if TYPE_CHECKING:
    from tendering.telephony_settings import TelephonySettings

WEBHOOK_PREFIX = "/telephony/twilio"
VOICE_PATH = f"{WEBHOOK_PREFIX}/voice"
GATHER_PATH = f"{WEBHOOK_PREFIX}/gather"
CALL_STATUS_PATH = f"{WEBHOOK_PREFIX}/call-status"
SMS_STATUS_PATH = f"{WEBHOOK_PREFIX}/sms-status"
INBOUND_SMS_PATH = f"{WEBHOOK_PREFIX}/sms"
GATHER_TIMEOUT_SECONDS = 8


class TwilioProvider:
    """Voice and SMS through the Twilio REST API."""

    name = "twilio"

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        public_webhook_base_url: str,
        api_base_url: str = "https://api.twilio.com",
    ) -> None:
        self.from_number = from_number
        self.public_base = public_webhook_base_url.rstrip("/")
        self.client: Any = Client(account_sid, auth_token)
        self.client.api.base_url = api_base_url.rstrip("/")
        self.validator: Any = RequestValidator(auth_token)

    @classmethod
    def from_settings(cls, settings: TelephonySettings) -> TwilioProvider:
        """The adapter configured by ``[telephony] twilio_*`` (every field is required)."""
        token = settings.twilio_token()
        missing = [
            name
            for name, value in (
                ("twilio_account_sid", settings.twilio_account_sid),
                ("twilio_auth_token(_file)", token),
                ("twilio_from_number", settings.twilio_from_number),
                ("public_webhook_base_url", settings.public_webhook_base_url),
            )
            if not value
        ]
        if missing:
            raise InvalidInput(
                f"telephony provider twilio needs {', '.join(missing)}", code="telephony-config"
            )
        assert settings.twilio_account_sid and token and settings.twilio_from_number
        assert settings.public_webhook_base_url
        return cls(
            account_sid=settings.twilio_account_sid,
            auth_token=token,
            from_number=settings.twilio_from_number,
            public_webhook_base_url=settings.public_webhook_base_url,
            api_base_url=settings.twilio_api_base_url,
        )

    def url(self, path: str) -> str:
        """The full public URL of one of our webhooks."""
        return self.public_base + path

    def place_call(self, to: str, prompt: VoicePrompt, *, ring_timeout_seconds: int) -> str:
        """Create the call; Twilio fetches the prompt from our voice webhook when the expert answers."""
        try:
            call = self.client.calls.create(
                to=to,
                from_=self.from_number,
                url=self.url(VOICE_PATH),
                method="POST",
                status_callback=self.url(CALL_STATUS_PATH),
                status_callback_method="POST",
                timeout=ring_timeout_seconds,
            )
        except TwilioException as exc:
            raise ProviderError(f"Twilio refused the call: {exc}") from exc
        return str(call.sid)

    def send_sms(self, to: str, body: str) -> str:
        """Send the SMS with a delivery status callback."""
        try:
            message = self.client.messages.create(
                to=to, from_=self.from_number, body=body, status_callback=self.url(SMS_STATUS_PATH)
            )
        except TwilioException as exc:
            raise ProviderError(f"Twilio refused the SMS: {exc}") from exc
        return str(message.sid)

    def poll(self, now: datetime) -> list[ProviderEvent]:
        """Twilio reports through webhooks only."""
        return []

    def verify_webhook(self, url: str, params: Mapping[str, str], signature: str) -> bool:
        """Check ``X-Twilio-Signature`` (HMAC-SHA1 with the auth token over URL and sorted parameters)."""
        if not signature:
            return False
        return bool(self.validator.validate(url, dict(params), signature))


# Webhook parameters -> events ------------------------------------------------------------------------


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise InvalidInput(f"webhook without {name}", code="telephony-webhook-malformed")
    return value


def call_status_event(params: Mapping[str, str]) -> ProviderEvent:
    """A call status callback (``CallSid``, ``CallStatus``)."""
    sid, status = _required(params, "CallSid"), _required(params, "CallStatus").lower()
    return ProviderEvent("call_status", "twilio", sid, f"call:{sid}:status:{status}", status=status)


def gather_event(params: Mapping[str, str], idempotency_token: str | None) -> ProviderEvent:
    """A gather result (``CallSid``, ``Digits``); Twilio's idempotency token keys retries of one press."""
    sid, digits = _required(params, "CallSid"), params.get("Digits", "").strip()
    key = f"call:{sid}:gather:{idempotency_token or digits}"
    return ProviderEvent("keypress", "twilio", sid, key, digits=digits)


def sms_status_event(params: Mapping[str, str]) -> ProviderEvent:
    """An SMS status callback (``MessageSid``, ``MessageStatus``)."""
    sid, status = _required(params, "MessageSid"), _required(params, "MessageStatus").lower()
    return ProviderEvent("sms_status", "twilio", sid, f"sms:{sid}:status:{status}", status=status)


def inbound_sms_event(params: Mapping[str, str]) -> ProviderEvent:
    """An inbound SMS (``MessageSid``, ``From``, ``Body``)."""
    sid, sender = _required(params, "MessageSid"), _required(params, "From")
    return ProviderEvent(
        "sms_inbound", "twilio", sid, f"inbound:{sid}", from_number=sender, body=params.get("Body", "")
    )


# TwiML -------------------------------------------------------------------------------------------------


def prompt_twiml(prompt: VoicePrompt, gather_url: str, *, retry: bool) -> str:
    """Say the prompt inside a one-digit ``<Gather>``; if no key comes, say goodbye and hang up."""
    response = VoiceResponse()
    gather = response.gather(
        num_digits=1,
        action=gather_url,
        method="POST",
        timeout=GATHER_TIMEOUT_SECONDS,
        action_on_empty_result=False,
    )
    if retry:
        gather.say(prompt.retry_text, language=prompt.language)
    gather.say(prompt.text, language=prompt.language)
    response.say(prompt.goodbye_text, language=prompt.language)
    response.hangup()
    return str(response)


def say_twiml(text: str, language: str) -> str:
    """Say ``text`` and hang up."""
    response = VoiceResponse()
    response.say(text, language=language)
    response.hangup()
    return str(response)


def redirect_twiml(url: str) -> str:
    """Fetch the next TwiML from ``url`` (the voice webhook, to prompt again)."""
    response = VoiceResponse()
    response.redirect(url, method="POST")
    return str(response)


def empty_twiml() -> str:
    """An empty response (nothing to say or send back)."""
    return str(VoiceResponse())
