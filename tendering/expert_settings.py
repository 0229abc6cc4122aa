"""Settings of the expert pool and of the call/SMS confirmation (``[experts]``, ``[telephony]``).

They live in ``tendering`` because the one settings object does; the code using them is in ``experts``.
Environment: ``SEALBID_EXPERTS__<FIELD>``, ``SEALBID_TELEPHONY__<FIELD>``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ExpertSettings(BaseModel):
    """The expert pool and extraction."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TelephonySettings(BaseModel):
    """Voice call and SMS confirmation of drawn experts, and the telephony provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)
