"""Settings of sealed bids (``[bids]`` in TOML, ``SEALBID_BIDS__<FIELD>`` in the environment)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class BidSettings(BaseModel):
    """Sealed bids: submission limits, upload sessions, and how receipts are signed and time-stamped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_envelope_bytes: int = Field(
        default=2 << 30, ge=1024, description="Largest sealed envelope a bidder may upload (bytes)."
    )
    max_chunk_bytes: int = Field(
        default=32 << 20, ge=1024, description="Largest single upload chunk (one PATCH body)."
    )
    upload_ttl_seconds: int = Field(
        default=24 * 3600, ge=60, description="An upload session untouched this long expires and is removed."
    )
    upload_dir: Path | None = Field(default=None, description="Partial uploads; default data_dir/uploads.")
    receipt_signer_p12: Path | None = Field(
        default=None,
        description="PKCS#12 of the platform's receipt-signing certificate; default the development PKI's "
        "'platform-signing' service certificate (refused in production).",
    )
    receipt_signer_password_file: Path | None = Field(
        default=None, description="File holding the password of receipt_signer_p12."
    )
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 time-stamping authority for receipts; default the development TSA.",
    )
    tsa_timeout_seconds: float = Field(default=10.0, gt=0)
