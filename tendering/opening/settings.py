"""Settings of the opening (``[opening]`` in TOML, ``SEALBID_OPENING__<FIELD>`` in the environment)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class OpeningSettings(BaseModel):
    """The opening: closing margin and the bidders' decryption window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    #: The closing runs this many seconds after the deadline at the earliest, so a submission whose
    #: recording transaction started just before the deadline has committed (or failed) by then.
    closing_grace_seconds: float = Field(default=2.0, ge=0, le=300)
    #: How long bidders have to decrypt their own layer once the platform layer is removed (Art. 30).
    bidder_decryption_window_minutes: int = Field(default=30, ge=1, le=24 * 60)
