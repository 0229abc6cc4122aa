"""Settings of the call and SMS confirmation of drawn experts (``[telephony]`` in TOML).

Environment: ``SEALBID_TELEPHONY__<FIELD>``. The code using them is in ``experts``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class TelephonySettings(BaseModel):
    """Voice call and SMS confirmation of drawn experts, and the telephony provider."""

    model_config = ConfigDict(extra="forbid", frozen=True)
