"""Settings of the opening (``[opening]`` in TOML, ``SEALBID_OPENING__<FIELD>`` in the environment)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class OpeningSettings(BaseModel):
    """The opening: bidder-decryption window and the like."""

    model_config = ConfigDict(extra="forbid", frozen=True)
