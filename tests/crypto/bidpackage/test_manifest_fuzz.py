"""Property tests of the manifest parser: any JSON value, any bytes -> a Manifest or a PackageError."""

from __future__ import annotations

from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.bidpackage import Manifest, PackageError, parse_manifest
from crypto.bidpackage.prices import parse_decimal_price

_json: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6),
    max_leaves=40,
)
_fields = st.fixed_dictionaries(
    {
        "type": st.just("sealbid.bid-package.v1") | st.text(max_size=5),
        "tender_id": st.text(max_size=10),
        "lot_ids": st.lists(st.text(max_size=4), max_size=3),
        "bidder_uscc": st.just("91350100MA1DEB015Q") | st.text(max_size=18),
        "prices": _json,
        "files": _json,
        "created_at": st.just("2026-11-23T09:30:00Z") | st.text(max_size=20),
        "client": _json,
        "machine_code": st.just("ab" * 32) | st.text(max_size=64),
    }
)


def _outcome(raw: bytes) -> Manifest | PackageError:
    try:
        return parse_manifest(raw)
    except PackageError as exc:
        return exc


@settings(max_examples=150, deadline=None)
@given(value=_json)
def test_any_json_value(value: Any) -> None:
    assert isinstance(_outcome(rfc8785.dumps(value)), Manifest | PackageError)


@settings(max_examples=150, deadline=None)
@given(value=_fields)
def test_manifest_shaped_values(value: dict[str, Any]) -> None:
    assert isinstance(_outcome(rfc8785.dumps(value)), Manifest | PackageError)


@settings(max_examples=400, deadline=None)
@given(raw=st.binary(max_size=512))
def test_any_bytes(raw: bytes) -> None:
    assert isinstance(_outcome(raw), PackageError)


@settings(max_examples=400, deadline=None)
@given(value=st.text(max_size=30))
def test_prices_are_plain_decimals_or_refused(value: str) -> None:
    try:
        amount = parse_decimal_price(value, "total_price")
    except PackageError as exc:
        assert exc.code == "package-price-invalid"
    else:
        assert format(amount, "f") == value and amount >= 0
