"""Property tests of the statement parser: whatever a client sends, the answer is InvalidInput or a
parsed statement, never another exception (a crash would be a 500 and a parser bug)."""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.receipt import SUBMISSION_TYPE, WITHDRAWAL_TYPE, canonical
from tendering.bids.statements import (
    MAX_STATEMENT_BYTES,
    _check_submission_fields,
    _check_withdrawal_fields,
    _parse,
)
from tendering.errors import InvalidInput

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=40)
)
JSON_VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
FIELDS = [
    "type",
    "tender",
    "lots",
    "envelope_sha256",
    "envelope_size",
    "bidder_uscc",
    "nonce",
    "client_time",
    "client",
    "machine_code",
    "bid",
]


def _valid_submission() -> dict[str, Any]:
    return {
        "type": SUBMISSION_TYPE,
        "tender": str(uuid.UUID(int=1)),
        "lots": [1, 2],
        "envelope_sha256": hashlib.sha256(b"x").hexdigest(),
        "envelope_size": 1234,
        "bidder_uscc": "91350100MA1DEB015Q",
        "nonce": "n" * 32,
        "client_time": "2026-01-05T01:00:00Z",
        "client": {"name": "sealbid", "version": "1.0"},
        "machine_code": "m" * 64,
    }


def _valid_withdrawal() -> dict[str, Any]:
    return {
        "type": WITHDRAWAL_TYPE,
        "tender": str(uuid.UUID(int=1)),
        "bid": str(uuid.UUID(int=2)),
        "bidder_uscc": "91350100MA1DEB015Q",
        "nonce": "n" * 32,
        "client_time": "2026-01-05T01:00:00Z",
    }


def _check(raw: bytes, expected_type: str) -> None:
    """Parse and check like :func:`verified_statement` before the signature; InvalidInput or success."""
    try:
        fields = _parse(raw, expected_type)
        if expected_type == SUBMISSION_TYPE:
            _check_submission_fields(fields)
        else:
            _check_withdrawal_fields(fields)
    except InvalidInput as exc:
        assert exc.code == "statement-malformed"


def test_the_valid_statements_pass() -> None:
    _check_submission_fields(_parse(canonical(_valid_submission()), SUBMISSION_TYPE))
    _check_withdrawal_fields(_parse(canonical(_valid_withdrawal()), WITHDRAWAL_TYPE))


@settings(max_examples=400, deadline=None)
@given(raw=st.binary(max_size=400), kind=st.sampled_from([SUBMISSION_TYPE, WITHDRAWAL_TYPE]))
def test_arbitrary_bytes(raw: bytes, kind: str) -> None:
    _check(raw, kind)


@settings(max_examples=400, deadline=None)
@given(
    kind=st.sampled_from([SUBMISSION_TYPE, WITHDRAWAL_TYPE]),
    changes=st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=4),
    drop=st.sets(st.sampled_from(FIELDS), max_size=3),
)
def test_valid_statements_with_fields_replaced_or_dropped(
    kind: str, changes: dict[str, Any], drop: set[str]
) -> None:
    fields = _valid_submission() if kind == SUBMISSION_TYPE else _valid_withdrawal()
    fields.update(changes)
    for name in drop:
        fields.pop(name, None)
    try:
        raw = canonical(fields)
    except ValueError:  # not expressible canonically (e.g. integers beyond 2**53): send plain JSON
        raw = json.dumps(fields).encode()
    _check(raw, kind)


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from('{}[]",:0123456789.eE+-tfnrul\\ ud800abc\n'), max_size=300),
    kind=st.sampled_from([SUBMISSION_TYPE, WITHDRAWAL_TYPE]),
)
def test_json_like_text(text: str, kind: str) -> None:
    _check(text.encode("utf-8", "surrogatepass"), kind)


@pytest.mark.parametrize(
    "raw",
    [
        b"[" * (MAX_STATEMENT_BYTES - 1),  # nesting deeper than the JSON parser recurses
        b'{"type":' + b"[" * 5000 + b"]" * 5000 + b"}",
        b'{"a":' * 3000 + b"1" + b"}" * 3000,
        b'{"type":"sealbid.submission.v1","nonce":"\\ud800\\ud800\\ud800\\ud800\\ud800\\ud800"}',
        b'{"type":"sealbid.submission.v1","x":1e400}',
        b'{"type":"sealbid.submission.v1","x":NaN}',
        b"\xff\xfe{}",
        b"x" * (MAX_STATEMENT_BYTES + 1),
    ],
)
def test_hostile_statements_are_malformed(raw: bytes) -> None:
    with pytest.raises(InvalidInput) as caught:
        fields = _parse(raw, SUBMISSION_TYPE)
        _check_submission_fields(fields)
    assert caught.value.code == "statement-malformed"
