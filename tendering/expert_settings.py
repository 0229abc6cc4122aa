"""Settings of the expert pool and extraction (``[experts]`` in TOML, ``SEALBID_EXPERTS__<FIELD>``).

They live in ``tendering`` because the one settings object does; the code using them is in ``experts``.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ExpertSettings(BaseModel):
    """The expert pool and extraction."""

    model_config = ConfigDict(extra="forbid", frozen=True)
