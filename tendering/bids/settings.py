"""Settings of sealed bids (``[bids]`` in TOML, ``SEALBID_BIDS__<FIELD>`` in the environment)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class BidSettings(BaseModel):
    """Sealed bids: submission limits and upload sessions."""

    model_config = ConfigDict(extra="forbid", frozen=True)
