"""Settings of the expert pool and extraction (``[experts]`` in TOML, ``SEALBID_EXPERTS__<FIELD>``).

They live in ``tendering`` because the one settings object does; the code using them is in ``experts``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class ExpertSettings(BaseModel):
    """The expert pool and extraction."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    recent_participation_days: int = Field(
        default=180,
        ge=0,
        le=3650,
        description="An expert who served the same tenderee within this many days is avoided (0: off).",
    )
    sealed_list_key_file: Path | None = Field(
        default=None,
        description="AES-256 key (32 raw bytes) sealing the drawn lists; default data_dir/experts-list.key. "
        "Created on first use outside production; production refuses a missing file.",
    )
    default_reserves: int = Field(
        default=2, ge=0, le=50, description="Reserve experts per specialty line when a request gives none."
    )
    max_manual_avoid: int = Field(
        default=20, ge=0, le=500, description="Most experts one request avoids by hand (each with a reason)."
    )
    csv_max_rows: int = Field(default=200_000, ge=1, description="Most rows one CSV import accepts.")
