"""What an agency writes: the tender specification, checked for shape (not yet for the rules).

A :class:`TenderSpec` is the content of a draft: project, parties, lots with money, evaluation method and
criteria, timetable and opening policy. Its validation here is structural only (types, lengths, money
with at most two decimals, known time zone); whether it obeys the procedure table is decided by
:mod:`tendering.tenders.rules` when the draft is submitted and again when it is approved.

Times without a zone are read in the tender's ``time_zone``; all times are kept in UTC. A spec without a
``time_zone`` takes the platform's ``Settings.default_time_zone``: the service fills it in
(:meth:`TenderSpec.with_zone`) before anything is checked or stored, and only then are times without a
zone read in it.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import rfc8785
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from tendering.tenders.procedures import REGION, Category

Text300 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
EvaluationMethod = Literal["comprehensive_scoring", "lowest_evaluated_price"]
CriterionKind = Literal["technical", "commercial", "price", "other"]


def _cents(value: Decimal) -> Decimal:
    if not value.is_finite():
        msg = "amount must be a finite number"
        raise ValueError(msg)
    if value != value.quantize(Decimal("0.01")):
        msg = "amounts have at most two decimal places"
        raise ValueError(msg)
    if abs(value) >= Decimal("1e16"):
        msg = "amount is too large"
        raise ValueError(msg)
    return value.quantize(Decimal("0.01"))


def _no_float(value: Any) -> Any:
    if isinstance(value, float):
        msg = 'write decimal amounts as strings (for example "1250000.00"), never as binary floats'
        raise ValueError(msg)  # noqa: TRY004 - pydantic reports ValueError as a validation error
    return value


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Money(_Spec):
    """An amount with its currency (the amount is a Decimal, written as a string in JSON)."""

    amount: Decimal
    currency: CurrencyCode = "CNY"

    _floats = field_validator("amount", mode="before")(_no_float)

    @field_validator("amount")
    @classmethod
    def _amount(cls, value: Decimal) -> Decimal:
        return _cents(value)

    def document(self) -> dict[str, str]:
        """``{"amount": "1250000.00", "currency": "CNY"}``."""
        return {"amount": f"{self.amount:.2f}", "currency": self.currency}


class LotSpec(_Spec):
    """A lot (标段): number, name, estimated price, ceiling price and bid bond."""

    number: int = Field(ge=1, le=999)
    name: Text300
    description: str = Field(default="", max_length=20_000)
    estimated_price: Money
    ceiling_price: Money | None = None
    bid_bond: Money | None = None
    qualification: str = Field(default="", max_length=20_000)

    @model_validator(mode="after")
    def _one_currency(self) -> LotSpec:
        amounts = (self.estimated_price, self.ceiling_price, self.bid_bond)
        if len({m.currency for m in amounts if m is not None}) > 1:
            msg = "all amounts of a lot must be in one currency"
            raise ValueError(msg)
        return self


class CriterionSpec(_Spec):
    """An evaluation criterion and its weight (percent)."""

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    kind: CriterionKind = "technical"
    weight: Decimal
    description: str = Field(default="", max_length=5000)

    _floats = field_validator("weight", mode="before")(_no_float)

    @field_validator("weight")
    @classmethod
    def _weight(cls, value: Decimal) -> Decimal:
        return _cents(value)


class EvaluationSpec(_Spec):
    """The evaluation method, its criteria, and the committee's composition."""

    method: EvaluationMethod
    criteria: tuple[CriterionSpec, ...] = ()
    committee_size: int = Field(default=5, ge=1, le=99)
    tenderee_representatives: int = Field(default=0, ge=0, le=99)


class TimetableSpec(_Spec):
    """Publication, document period, clarification deadline, bid deadline (= opening), evaluation."""

    publication_time: datetime
    document_period_start: datetime | None = None
    document_period_end: datetime
    clarification_deadline: datetime
    bid_deadline: datetime
    evaluation_date: datetime
    publicity_days: int = Field(default=3, ge=0, le=365)

    def times(self) -> dict[str, datetime | None]:
        """The datetime fields by name."""
        return {
            "publication_time": self.publication_time,
            "document_period_start": self.document_period_start,
            "document_period_end": self.document_period_end,
            "clarification_deadline": self.clarification_deadline,
            "bid_deadline": self.bid_deadline,
            "evaluation_date": self.evaluation_date,
        }


class OpeningPolicySpec(_Spec):
    """Who holds the opening key (custodian identity ids; any ``threshold`` of them open the bids)."""

    custodians: tuple[uuid.UUID, ...] = Field(min_length=1, max_length=15)
    threshold: int = Field(ge=1, le=15)
    bidder_decryption: bool = False


class TenderSpec(_Spec):
    """The whole content of a tender as the agency drafts it."""

    title: Text300
    project_name: Text300
    project_code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    description: str = Field(default="", max_length=100_000)
    procedure: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "open_works"
    category: Category
    region: Annotated[str, StringConstraints(pattern=REGION.pattern)]
    #: The tenderee's unified social credit code (the organisation must be registered).
    tenderee_uscc: Annotated[str, StringConstraints(strip_whitespace=True, min_length=18, max_length=18)]
    #: IANA zone; None: the platform's default (``Settings.default_time_zone``), see :meth:`with_zone`.
    time_zone: str | None = None
    qualification_requirements: tuple[Annotated[str, StringConstraints(max_length=2000)], ...] = ()
    lots: tuple[LotSpec, ...] = Field(min_length=1, max_length=200)
    evaluation: EvaluationSpec
    timetable: TimetableSpec
    opening: OpeningPolicySpec

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            msg = f"unknown time zone {value!r} (use an IANA name such as Asia/Shanghai)"
            raise ValueError(msg) from None
        return value

    @model_validator(mode="after")
    def _utc_times(self) -> TenderSpec:
        if self.time_zone is None:
            return self  # times without a zone are read once the zone is known (with_zone)
        zone = ZoneInfo(self.time_zone)
        fixed = {
            name: (when.replace(tzinfo=zone) if when.tzinfo is None else when).astimezone(UTC)
            for name, when in self.timetable.times().items()
            if when is not None
        }
        object.__setattr__(self, "timetable", self.timetable.model_copy(update=fixed))
        return self

    @property
    def zone(self) -> str:
        """The tender's time zone (ValueError while it is still to be filled in by :meth:`with_zone`)."""
        if self.time_zone is None:
            msg = "the spec has no time zone yet: fill in the platform's default with with_zone()"
            raise ValueError(msg)
        return self.time_zone

    def with_zone(self, default: str) -> TenderSpec:
        """This spec, or a copy in ``default`` when it names no time zone (its times without a zone are
        then read in ``default``)."""
        if self.time_zone is not None:
            return self
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        return TenderSpec.model_validate({**fields, "time_zone": default})

    def canonical(self) -> bytes:
        """RFC 8785 canonical JSON of the content (decimals and times as strings)."""
        self.zone  # noqa: B018 - only a spec with its time zone has a canonical form
        return bytes(rfc8785.dumps(spec_document(self)))

    def sha256(self) -> str:
        """Hex SHA-256 of :meth:`canonical`: what the log records instead of the content."""
        return hashlib.sha256(self.canonical()).hexdigest()


def utc_text(when: datetime) -> str:
    """``2026-01-05T01:00:00Z``."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_text(when: datetime, zone: str) -> str:
    """The time in ``zone`` with its offset: ``2026-01-05T09:00:00+08:00``."""
    return when.astimezone(ZoneInfo(zone)).isoformat(timespec="seconds")


def spec_document(spec: TenderSpec) -> dict[str, Any]:
    """The spec as plain JSON values (amounts and weights as strings, times as UTC text)."""
    document = spec.model_dump(mode="json")
    for name, when in spec.timetable.times().items():
        document["timetable"][name] = utc_text(when) if when is not None else None
    for lot_doc, lot in zip(document["lots"], spec.lots, strict=True):
        for field in ("estimated_price", "ceiling_price", "bid_bond"):
            money = getattr(lot, field)
            lot_doc[field] = money.document() if money is not None else None
    for criterion_doc, criterion in zip(
        document["evaluation"]["criteria"], spec.evaluation.criteria, strict=True
    ):
        criterion_doc["weight"] = f"{criterion.weight:.2f}"
    return document
