"""Settings of the call and SMS confirmation of drawn experts (``[telephony]`` in TOML).

Environment: ``SEALBID_TELEPHONY__<FIELD>``. The code using them is in ``experts`` (see
``docs/telephony.md``). The Twilio auth token is never written in a settings file that is
committed: give ``twilio_auth_token_file`` (a file only the service can read) or
``SEALBID_TELEPHONY__TWILIO_AUTH_TOKEN``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

ProviderName = Literal["memory", "simulator", "twilio"]


class TelephonySettings(BaseModel):
    """Voice call and SMS confirmation of drawn experts, and the telephony provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    provider: ProviderName = Field(
        default="simulator",
        description="memory (tests), simulator (demo: simulated experts), twilio (real calls and SMS).",
    )
    ring_timeout_seconds: int = Field(default=30, ge=5, le=600, description="How long a call rings.")
    call_guard_seconds: int = Field(
        default=600,
        ge=60,
        description="A call with no final status after ring timeout plus this long counts as failed.",
    )
    attempts_per_number: int = Field(default=2, ge=1, le=10, description="Calls per phone number.")
    retry_spacing_seconds: int = Field(default=300, ge=0, description="Wait between calls to one number.")
    gather_attempts: int = Field(default=3, ge=1, le=5, description="Prompts per answered call.")
    sms_reply_timeout_seconds: int = Field(
        default=7200, ge=60, description="After the SMS, how long to wait for a reply before no_answer."
    )
    code_length: int = Field(default=6, ge=4, le=10, description="Digits of the one-time SMS code.")
    code_ttl_seconds: int = Field(default=7200, ge=60, description="How long an SMS code is accepted.")
    max_wrong_codes: int = Field(default=5, ge=1, description="Wrong replies before an SMS code is void.")

    # Twilio (provider = "twilio")
    twilio_account_sid: str | None = None
    twilio_auth_token: SecretStr | None = Field(default=None, description="Prefer twilio_auth_token_file.")
    twilio_auth_token_file: Path | None = None
    twilio_from_number: str | None = Field(default=None, description="The E.164 caller id and SMS sender.")
    twilio_api_base_url: str = Field(
        default="https://api.twilio.com", description="Overridable for a fake server in tests."
    )
    public_webhook_base_url: str | None = Field(
        default=None,
        description="The public https base URL Twilio posts webhooks to (signatures cover the full URL).",
    )

    # Simulator (provider = "simulator")
    simulator_confirm_probability: float = Field(default=0.7, ge=0, le=1)
    simulator_decline_probability: float = Field(default=0.15, ge=0, le=1)
    simulator_sms_reply_probability: float = Field(default=0.8, ge=0, le=1)
    simulator_min_delay_seconds: int = Field(default=5, ge=0)
    simulator_max_delay_seconds: int = Field(default=60, ge=0)
    simulator_seed: int | None = Field(default=None, description="Fix it for reproducible demos.")

    @model_validator(mode="after")
    def _consistent(self) -> TelephonySettings:
        if self.simulator_confirm_probability + self.simulator_decline_probability > 1:
            msg = "simulator confirm + decline probabilities exceed 1"
            raise ValueError(msg)
        if self.simulator_min_delay_seconds > self.simulator_max_delay_seconds:
            msg = "simulator_min_delay_seconds exceeds simulator_max_delay_seconds"
            raise ValueError(msg)
        if self.code_ttl_seconds < self.sms_reply_timeout_seconds:
            msg = "code_ttl_seconds must cover sms_reply_timeout_seconds"
            raise ValueError(msg)
        return self

    def twilio_token(self) -> str | None:
        """The Twilio auth token: from the file if set, else from the setting (environment)."""
        if self.twilio_auth_token_file is not None:
            return self.twilio_auth_token_file.read_text(encoding="utf-8").strip()
        return self.twilio_auth_token.get_secret_value() if self.twilio_auth_token else None
