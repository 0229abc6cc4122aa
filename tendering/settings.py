"""The one typed settings object.

Built once (in the app factory, the CLI or a test) and passed down; nothing in sealbid reads the
environment at import time. Values come from, in order of precedence: keyword overrides, environment
variables ``SEALBID_*``, an optional TOML file (``SEALBID_CONFIG`` or ``--config``), and the defaults
below, which describe the embedded default: SQLite in the data directory, in-process tasks, the local
development PKI and time-stamping authority.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from tendering.bids.settings import BidSettings
from tendering.expert_settings import ExpertSettings
from tendering.opening.settings import OpeningSettings
from tendering.telephony_settings import TelephonySettings

Environment = Literal["development", "sandbox", "test", "production"]
RevocationPolicy = Literal["require", "soft-fail"]


class Settings(BaseSettings):
    """Everything sealbid can be configured with."""

    model_config = SettingsConfigDict(
        env_prefix="SEALBID_", env_nested_delimiter="__", extra="forbid", frozen=True
    )

    environment: Environment = "development"
    data_dir: Path = Field(default=Path(".sealbid"), description="Where the embedded default keeps state.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    database_pool_size: int = Field(
        default=30,
        ge=1,
        le=1000,
        description="PostgreSQL connections each process keeps open: about as many as its request "
        "threads (40) that hold a session at once, so connections are not opened and closed under load.",
    )
    database_max_overflow: int = Field(
        default=10, ge=0, le=1000, description="Extra PostgreSQL connections a process opens at a peak."
    )
    redis_url: str | None = Field(default=None, description="Redis for Dramatiq; unset = in-process tasks.")
    redis_namespace: str = Field(default="sealbid", description="Key prefix of Dramatiq's queues in Redis.")
    blob_dir: Path | None = Field(default=None, description="Blob store root; default data_dir/blobs.")
    public_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    trusted_proxies: tuple[str, ...] = Field(
        default=("127.0.0.1",),
        description="Reverse proxies whose X-Forwarded-For names the client address that is recorded "
        "with every operation (Measures Art. 49). Addresses or CIDR ranges; empty trusts none.",
    )

    maintenance_interval_seconds: float = Field(
        default=5.0, gt=0, description="How often unsent outbox messages and pending log entries are swept."
    )
    clock_speed: float = Field(default=1.0, gt=0, description="Sandbox time acceleration (1 = real time).")

    # Transparency log
    log_origin: str = "sealbid.local/log"
    log_signer_key_file: Path | None = Field(
        default=None, description="C2SP signer key; default in data_dir."
    )
    log_batch_size: int = Field(default=1000, ge=1, le=100_000)

    # PKI and login
    dev_pki: bool = Field(default=True, description="Trust and serve the local development PKI.")
    trust_anchor_files: tuple[Path, ...] = ()
    intermediate_files: tuple[Path, ...] = ()
    revocation_policy: RevocationPolicy = "require"
    cert_cache_ttl_seconds: int = Field(default=300, ge=0)
    challenge_ttl_seconds: int = Field(default=120, ge=10, le=3600)
    token_ttl_seconds: int = Field(default=900, ge=60, le=86_400)
    token_secret_file: Path | None = Field(default=None, description="HMAC key for tokens; default data_dir.")
    identity_uscc_oids: tuple[str, ...] = ("2.5.4.97", "2.5.4.5")

    # Sections of their own (environment: SEALBID_<SECTION>__<FIELD>, TOML: [section])
    bids: BidSettings = Field(default_factory=BidSettings)
    experts: ExpertSettings = Field(default_factory=ExpertSettings)
    opening: OpeningSettings = Field(default_factory=OpeningSettings)
    telephony: TelephonySettings = Field(default_factory=TelephonySettings)

    default_time_zone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone of a tender whose specification names none, and of pages without one.",
    )
    procedure_table_file: Path | None = Field(
        default=None,
        description="Procedure table (TOML, the format of tendering/tenders/procedures.toml, with "
        "jurisdiction overrides) that every rule check reads; default: the shipped table.",
    )
    ocid_prefix: str = Field(
        default="ocds-sealbid",
        pattern=r"^ocds-[a-z0-9]{6,}$",
        description="OCDS OCID prefix of every published tender (register one with the Open Contracting "
        "Partnership for production; the default is a placeholder).",
    )
    default_locale: Literal["zh-CN", "en"] = "zh-CN"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Init kwargs, then environment, then the optional TOML file."""
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if settings_cls.model_config.get("toml_file"):
            sources.append(TomlConfigSettingsSource(settings_cls))
        return tuple(sources)

    @field_validator("default_time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"default_time_zone: unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.environment == "production":
            problems = []
            if self.clock_speed != 1.0:
                problems.append("clock_speed must be 1 (accelerated time is for sandboxes only)")
            if self.dev_pki:
                problems.append("dev_pki must be off (configure trust_anchor_files)")
            if self.revocation_policy != "require":
                problems.append("revocation_policy must be 'require' (hard-fail)")
            if not self.trust_anchor_files:
                problems.append("trust_anchor_files must name at least one CA certificate")
            if problems:
                raise ValueError("production settings refused: " + "; ".join(problems))
        elif self.clock_speed != 1.0 and self.environment not in ("sandbox", "development"):
            msg = "clock_speed other than 1 is only allowed in sandbox or development"
            raise ValueError(msg)
        return self

    # Derived locations -------------------------------------------------------------------------

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or the embedded SQLite file."""
        return self.database_url or f"sqlite:///{(self.data_dir / 'sealbid.db').resolve()}"

    @property
    def effective_blob_dir(self) -> Path:
        """Where blobs live."""
        return self.blob_dir or self.data_dir / "blobs"

    @property
    def effective_log_signer_key_file(self) -> Path:
        """The C2SP signer key of the transparency log."""
        return self.log_signer_key_file or self.data_dir / "keys" / "log-signer.key"

    @property
    def effective_token_secret_file(self) -> Path:
        """The HMAC key that signs login tokens."""
        return self.token_secret_file or self.data_dir / "keys" / "token-secret"

    @property
    def dev_pki_dir(self) -> Path:
        """Where ``sealbid pki init`` writes the development PKI."""
        return self.data_dir / "pki"


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Build settings from ``overrides``, the environment and an optional TOML file.

    ``config_file`` defaults to ``$SEALBID_CONFIG``. A named file that does not exist is an error.
    """
    path = config_file or os.environ.get("SEALBID_CONFIG")
    if not path:
        return Settings(**overrides)
    resolved = Path(path)
    if not resolved.is_file():
        msg = f"settings file not found: {resolved}"
        raise FileNotFoundError(msg)

    class FileSettings(Settings):
        model_config = SettingsConfigDict(**{**Settings.model_config, "toml_file": resolved})

    return Settings.model_validate(FileSettings(**overrides).model_dump())
