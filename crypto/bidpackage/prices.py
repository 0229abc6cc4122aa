"""The structured price form of a bid: total price (a decimal string, never a float), currency,
duration, quality commitment and other declared fields; one form per lot.

Two readers: :func:`price_form_from_manifest` (strict, for the manifest of a package: exactly the
canonical field set) and :func:`price_forms_from_input` (the bidder's form file, TOML or JSON, with
plain-language errors about what to fix).
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, Final

from crypto.bidpackage.errors import PackageError

__all__ = [
    "CURRENCIES",
    "PriceForm",
    "check_text",
    "parse_decimal_price",
    "price_form_from_manifest",
    "price_forms_from_input",
    "read_price_form_file",
]

_DECIMAL: Final = re.compile(r"^(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?$")
MAX_DURATION_DAYS: Final = 36_500
MAX_QUALITY: Final = 500
MAX_DECLARED: Final = 64
MAX_DECLARED_KEY: Final = 64
MAX_DECLARED_VALUE: Final = 2_000

# ISO 4217 active alphabetic codes (2024).
_ISO_4217: Final = """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BRL BSD BTN BWP BYN
    BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL GHS
    GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW
    KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD
    NGN NIO NOK NPR NZD OMR PAB PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD
    SHP SLE SOS SRD SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VED
    VES VND VUV WST XAF XCD XOF XPF YER ZAR ZMW ZWL
"""
CURRENCIES: Final = frozenset(_ISO_4217.split())
_CURRENCY_HINTS: Final = {"RMB": "CNY", "CNH": "CNY", "YUAN": "CNY", "元": "CNY", "人民币": "CNY"}
_PRICE_FIELDS: Final = frozenset({"total_price", "currency", "duration_days", "quality", "declared"})


@dataclass(frozen=True)
class PriceForm:
    """One lot's price form (``lot_id`` is ``None`` for a tender without lots)."""

    lot_id: str | None
    total_price: Decimal
    currency: str
    duration_days: int
    quality: str
    declared: tuple[tuple[str, str], ...] = ()

    def to_json(self) -> dict[str, Any]:
        """The manifest form (``total_price`` as a plain decimal string)."""
        out: dict[str, Any] = {
            "total_price": format(self.total_price, "f"),
            "currency": self.currency,
            "duration_days": self.duration_days,
            "quality": self.quality,
            "declared": dict(self.declared),
        }
        if self.lot_id is not None:
            out["lot_id"] = self.lot_id
        return out


def _price_error(message: str) -> PackageError:
    return PackageError("package-price-invalid", message)


def check_text(value: object, what: str, *, max_length: int, code: str = "package-manifest-invalid") -> str:
    """A non-empty string of at most ``max_length`` characters without control characters."""
    if not isinstance(value, str) or not value.strip():
        raise PackageError(code, f"{what} must be a non-empty text")
    if len(value) > max_length:
        raise PackageError(code, f"{what} is longer than {max_length} characters")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Cs", "Co", "Cn") and c not in "\n\t" for c in value):
        raise PackageError(code, f"{what} contains control characters")
    return value


def parse_decimal_price(value: object, what: str) -> Decimal:
    """A non-negative plain decimal string: digits, an optional point and 1-6 decimals.

    Refused: numbers that are not strings (a JSON/TOML float may already have been rounded),
    exponents, signs, thousands separators, NaN and infinities, more than 18 integer digits.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        raise _price_error(
            f'{what} must be written as a quoted decimal string such as "1234567.89" '
            "(a bare number may be rounded)"
        )
    if not _DECIMAL.match(value):
        raise _price_error(
            f"{what} {value!r} is not a plain decimal amount: use digits with an optional point and up "
            'to 6 decimals, no sign, exponent, spaces or thousands separators (e.g. "1234567.89")'
        )
    return Decimal(value)


def _currency(value: object, what: str) -> str:
    if not isinstance(value, str) or value not in CURRENCIES:
        hint = _CURRENCY_HINTS.get(str(value).strip().upper()) if isinstance(value, str) else None
        suffix = f" (did you mean {hint}?)" if hint else " (an ISO 4217 code such as CNY)"
        raise _price_error(f"{what} {value!r} is not a currency code{suffix}")
    return value


def _duration(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _price_error(f"{what} must be a whole number of days")
    if not 1 <= value <= MAX_DURATION_DAYS:
        raise _price_error(f"{what} must be between 1 and {MAX_DURATION_DAYS} days, not {value}")
    return value


def _declared(value: object, what: str, code: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise PackageError(code, f"{what} must be a table of names and texts")
    if len(value) > MAX_DECLARED:
        raise PackageError(code, f"{what} has more than {MAX_DECLARED} fields")
    items = []
    for key, item in value.items():
        check_text(key, f"a field name in {what}", max_length=MAX_DECLARED_KEY, code=code)
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise PackageError(code, f"{what}.{key} must be a text (quote numbers)")
        text = str(item)
        check_text(text, f"{what}.{key}", max_length=MAX_DECLARED_VALUE, code=code)
        items.append((str(key), text))
    return tuple(sorted(items))


def price_form_from_manifest(data: object, where: str) -> PriceForm:
    """Strict reading of one price form in a manifest (``where`` names it in messages)."""
    if not isinstance(data, dict):
        raise PackageError("package-manifest-invalid", f"{where} must be an object")
    unknown = set(data) - _PRICE_FIELDS - {"lot_id"}
    missing = _PRICE_FIELDS - set(data)
    if unknown or missing:
        raise PackageError(
            "package-manifest-invalid",
            f"{where}: unknown fields {sorted(unknown)}, missing fields {sorted(missing)}",
        )
    lot_id = data.get("lot_id")
    if lot_id is not None:
        check_text(lot_id, f"{where}.lot_id", max_length=64)
    declared = data["declared"]
    if isinstance(declared, dict) and any(not isinstance(v, str) for v in declared.values()):
        raise PackageError("package-manifest-invalid", f"{where}.declared values must be texts")
    return PriceForm(
        lot_id=lot_id,
        total_price=parse_decimal_price(data["total_price"], f"{where}.total_price"),
        currency=_currency(data["currency"], f"{where}.currency"),
        duration_days=_duration(data["duration_days"], f"{where}.duration_days"),
        quality=check_text(data["quality"], f"{where}.quality", max_length=MAX_QUALITY),
        declared=_declared(declared, f"{where}.declared", "package-manifest-invalid"),
    )


def _one_input_form(data: Mapping[str, Any], lot_id: str | None, where: str) -> PriceForm:
    code = "package-price-invalid"
    unknown = sorted(set(data) - _PRICE_FIELDS)
    if unknown:
        raise _price_error(
            f"{where}: unknown field(s) {', '.join(unknown)}; other declared values go under [declared]"
        )
    if "total_price" not in data:
        raise _price_error(f"{where}: the total price (total_price) is missing")
    price = data["total_price"]
    if isinstance(price, int) and not isinstance(price, bool) and price >= 0:
        price = str(price)  # an integer is exact; floats are refused by parse_decimal_price
    for field in ("currency", "duration_days", "quality"):
        if field not in data:
            raise _price_error(f"{where}: {field} is missing")
    return PriceForm(
        lot_id=lot_id,
        total_price=parse_decimal_price(price, f"{where}: total_price"),
        currency=_currency(data["currency"], f"{where}: currency"),
        duration_days=_duration(data["duration_days"], f"{where}: duration_days"),
        quality=check_text(data["quality"], f"{where}: quality", max_length=MAX_QUALITY, code=code),
        declared=_declared(data.get("declared", {}), f"{where}: declared", code),
    )


def price_forms_from_input(data: Mapping[str, Any], lot_ids: Sequence[str]) -> tuple[PriceForm, ...]:
    """The price forms of a bidder's form file, one per lot in ``lot_ids`` order.

    Without lots (or with one lot) the fields may sit at the top level; with several lots each lot has
    a table ``[lots."<lot id>"]`` with the same fields. Raises ``package-price-invalid`` in plain words.
    """
    lots = data.get("lots")
    if lots is None:
        if len(lot_ids) > 1:
            raise _price_error(f'the bid covers {len(lot_ids)} lots: give one [lots."<id>"] table per lot')
        return (_one_input_form(data, lot_ids[0] if lot_ids else None, "price form"),)
    if not isinstance(lots, Mapping) or set(data) - {"lots"}:
        raise _price_error("with [lots] tables, put every field inside its lot's table")
    if not lot_ids:
        raise _price_error("the price form has lots: name them with --lot")
    missing = [lot for lot in lot_ids if lot not in lots]
    extra = sorted(set(lots) - set(lot_ids))
    if missing or extra:
        raise _price_error(
            f"the price form's lots do not match the bid's: missing {missing or 'none'}, "
            f"not in the bid {extra or 'none'}"
        )
    forms = []
    for lot in lot_ids:
        if not isinstance(lots[lot], Mapping):
            raise _price_error(f"lots.{lot} must be a table")
        forms.append(_one_input_form(lots[lot], lot, f"lot {lot}"))
    return tuple(forms)


def read_price_form_file(path: Path) -> dict[str, Any]:
    """The raw fields of a price form file: TOML, or JSON when the name ends in ``.json``.

    Raises ``package-price-invalid`` in plain words when the file cannot be read or parsed; check the
    fields with :func:`price_forms_from_input`.
    """
    kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _price_error(f"cannot read the price form {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise _price_error(f"the price form {path} is not UTF-8 text") from None
    try:
        data = json.loads(text) if kind == "JSON" else tomllib.loads(text)
    except (ValueError, RecursionError) as exc:  # TOMLDecodeError is a ValueError
        raise _price_error(f"the price form {path} is not valid {kind}: {exc}") from None
    if not isinstance(data, dict):
        raise _price_error(f"the price form {path} must be a table of fields")
    return data
