"""The procedure table: declarative parameters per procedure type, with jurisdiction overrides.

The table is a TOML file (``procedures.toml`` in this package by default). :meth:`ProcedureTable.rules`
resolves the parameters for one procedure in one region: the global defaults, then the procedure's
row, then each jurisdiction containing the region from the broadest (province) to the most specific
(county), each with its own defaults and procedure rows. The result is a frozen, typed
:class:`ProcedureRules`; every rule check of the tender workflow reads it.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tendering.errors import InvalidInput, NotFound

Category = Literal["works", "goods", "services"]
CATEGORIES: tuple[str, ...] = ("works", "goods", "services")
REGION = re.compile(r"^[1-8][0-9]{5}$")


class StepLimit(BaseModel):
    """A supervised step: its limit after the step starts, and how long before it a warning is yellow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    limit_hours: int = Field(ge=0)
    warn_hours: int = Field(ge=0)

    @property
    def limit(self) -> timedelta:
        """The limit as a duration from the start of the step."""
        return timedelta(hours=self.limit_hours)

    @property
    def warn_before(self) -> timedelta:
        """How long before the limit the yellow warning is raised."""
        return timedelta(hours=self.warn_hours)


class ProcedureRules(BaseModel):
    """The resolved parameters of one procedure type in one region (see ``procedures.toml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    procedure: str
    region: str | None = None
    jurisdictions: tuple[str, ...] = ()
    name: Mapping[str, str]
    method: Literal["open", "invited"]
    categories: tuple[Category, ...]
    supported: bool = True

    min_days_issue_to_deadline: int = Field(ge=0)
    min_document_period_days: int = Field(ge=0)
    amendment_min_days_before_deadline: int = Field(ge=0)
    clarification_request_min_days_before_deadline: int = Field(ge=0)
    opening_at_deadline: bool
    min_bids: int = Field(ge=1)
    candidates_publish_within_days: int = Field(ge=0)
    candidate_publicity_min_days: int = Field(ge=0)
    award_publicity_days: int = Field(ge=0)
    objection_answer_days: int = Field(ge=0)
    committee_min_size: int = Field(ge=1)
    committee_size_odd: bool
    experts_min_fraction: Fraction
    bid_bond_max_percent: Decimal = Field(ge=0, le=100)
    ceiling_at_most_estimate: bool
    contract_within_days: int = Field(ge=0)
    bad_record_publish_within_days: int = Field(ge=0)
    min_custodians: int = Field(ge=1)
    min_threshold: int = Field(ge=1)
    currencies: tuple[str, ...]
    time_limits: Mapping[str, StepLimit]

    @field_validator("experts_min_fraction", mode="before")
    @classmethod
    def _fraction(cls, value: Any) -> Fraction:
        if isinstance(value, float):
            msg = "write fractions as strings such as '2/3'"
            raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueError as a validation error
        result = Fraction(str(value))
        if not 0 <= result <= 1:
            msg = "experts_min_fraction must lie between 0 and 1"
            raise ValueError(msg)
        return result

    @field_validator("bid_bond_max_percent", mode="before")
    @classmethod
    def _no_float(cls, value: Any) -> Any:
        if isinstance(value, float):
            msg = "write percentages as strings such as '2' (no binary floats)"
            raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueError as a validation error
        return value

    def min_days(self, name: str) -> timedelta:
        """A day-count parameter as a duration."""
        return timedelta(days=int(getattr(self, name)))

    def step(self, name: str) -> StepLimit:
        """The time limit of a supervised step; NotFound if the table has none."""
        try:
            return self.time_limits[name]
        except KeyError:
            raise NotFound(
                f"the procedure table has no time limit for step {name!r}", code="step-unknown"
            ) from None

    def public_document(self) -> dict[str, Any]:
        """The resolved parameters as plain JSON values (decimals and fractions as strings)."""
        document = self.model_dump(mode="python")
        document["experts_min_fraction"] = str(self.experts_min_fraction)
        document["bid_bond_max_percent"] = str(self.bid_bond_max_percent)
        document["categories"] = list(self.categories)
        document["currencies"] = list(self.currencies)
        document["jurisdictions"] = list(self.jurisdictions)
        document["name"] = dict(self.name)
        document["time_limits"] = {
            step: {"limit_hours": limit.limit_hours, "warn_hours": limit.warn_hours}
            for step, limit in self.time_limits.items()
        }
        return document


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(dict(merged[key]), value)
        else:
            merged[key] = value
    return merged


def region_chain(region: str) -> tuple[str, ...]:
    """The division codes containing ``region``, broadest first: province, city, county."""
    if not REGION.match(region):
        raise InvalidInput(
            f"region {region!r} is not a six-digit administrative division code (GB/T 2260)",
            code="region-invalid",
        )
    chain = [region[:2] + "0000", region[:4] + "00", region]
    return tuple(dict.fromkeys(chain))


class ProcedureTable:
    """The loaded table: defaults, procedure rows and jurisdiction overrides."""

    def __init__(self, document: Mapping[str, Any], *, source: str = "<memory>") -> None:
        unknown = set(document) - {"defaults", "procedures", "jurisdictions"}
        if unknown:
            msg = f"{source}: unknown top-level keys {sorted(unknown)}"
            raise ValueError(msg)
        self.source = source
        self._defaults: dict[str, Any] = dict(document.get("defaults", {}))
        self._procedures: dict[str, dict[str, Any]] = dict(document.get("procedures", {}))
        self._jurisdictions: dict[str, dict[str, Any]] = {
            str(code): dict(body) for code, body in document.get("jurisdictions", {}).items()
        }
        for code, body in self._jurisdictions.items():
            if not REGION.match(code):
                msg = f"{source}: jurisdiction {code!r} is not a division code"
                raise ValueError(msg)
            extra = set(body) - {"name", "defaults", "procedures"}
            if extra:
                msg = f"{source}: jurisdiction {code}: unknown keys {sorted(extra)}"
                raise ValueError(msg)
        # Resolve every procedure at every jurisdiction once, so a broken table fails at load time.
        for procedure in self._procedures:
            self.rules(procedure)
            for code in self._jurisdictions:
                self.rules(procedure, code)

    @classmethod
    def load(cls, path: Path) -> ProcedureTable:
        """Load a table from a TOML file."""
        with path.open("rb") as handle:
            return cls(tomllib.load(handle), source=str(path))

    @property
    def procedures(self) -> tuple[str, ...]:
        """The procedure type names, in table order."""
        return tuple(self._procedures)

    def jurisdiction_names(self) -> dict[str, Mapping[str, str]]:
        """Division code -> localized name of every jurisdiction with overrides."""
        return {code: body.get("name", {}) for code, body in self._jurisdictions.items()}

    @functools.lru_cache(maxsize=1024)  # noqa: B019 - tables live as long as the process
    def rules(self, procedure: str, region: str | None = None) -> ProcedureRules:
        """The resolved rules of ``procedure`` in ``region`` (None: the national defaults)."""
        if procedure not in self._procedures:
            known = ", ".join(self._procedures)
            raise InvalidInput(
                f"unknown procedure type {procedure!r}; the table has {known}", code="procedure-unknown"
            )
        merged = _merge(self._defaults, self._procedures[procedure])
        applied: list[str] = []
        for code in region_chain(region) if region else ():
            body = self._jurisdictions.get(code)
            if body is None:
                continue
            merged = _merge(merged, body.get("defaults", {}))
            merged = _merge(merged, body.get("procedures", {}).get(procedure, {}))
            applied.append(code)
        merged.update(procedure=procedure, region=region, jurisdictions=tuple(applied))
        try:
            return ProcedureRules.model_validate(merged)
        except ValidationError as exc:
            where = f"{procedure} in {region}" if region else procedure
            msg = f"{self.source}: procedure {where}: {exc}"
            raise ValueError(msg) from exc


class ProcedureTableError(ValueError):
    """A procedure table file that cannot be used (missing, not TOML, or not a valid table)."""


def load_table(path: Path | None) -> ProcedureTable:
    """The platform's procedure table: the file ``path`` (``Settings.procedure_table_file``, same format
    as ``procedures.toml``) or, without one, the shipped table. Loaded once when the platform is built;
    every procedure is resolved in every jurisdiction then, so a bad file stops the start-up with a
    :class:`ProcedureTableError` naming the file and what is wrong."""
    if path is None:
        return default_table()
    try:
        table = ProcedureTable.load(path)
    except FileNotFoundError:
        msg = f"procedure table {path}: no such file (settings: procedure_table_file)"
        raise ProcedureTableError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"procedure table {path}: not valid TOML: {exc}"
        raise ProcedureTableError(msg) from None
    except (OSError, ValueError, InvalidInput) as exc:
        msg = f"procedure table {path}: {exc}"
        raise ProcedureTableError(msg) from None
    if not table.procedures:
        msg = f"procedure table {path}: defines no [procedures.<name>]"
        raise ProcedureTableError(msg)
    return table


@functools.cache
def default_table() -> ProcedureTable:
    """The table shipped with sealbid (``tendering/tenders/procedures.toml``), loaded once."""
    text = resources.files("tendering.tenders").joinpath("procedures.toml").read_bytes()
    return ProcedureTable(tomllib.loads(text.decode("utf-8")), source="tendering/tenders/procedures.toml")
