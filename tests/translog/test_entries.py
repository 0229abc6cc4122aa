"""The entry format: canonical JSON identical to the rfc8785 reference, commitments, validation."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from tendering.errors import InvalidInput
from tendering.translog import LogActor, LogEvent
from tendering.translog.entries import (
    ACTOR_DOMAIN,
    actor_commitment,
    canonical_json,
    format_time,
    prepare_entry,
)

WHEN = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)

scalars = st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text()
keys = st.text(max_size=6)
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(keys, inner, max_size=4),
    max_leaves=20,
)


def has_wide_key(document: object) -> bool:
    if isinstance(document, list):
        return any(has_wide_key(item) for item in document)
    if isinstance(document, dict):
        return any((k and max(k) > "\uffff") or has_wide_key(v) for k, v in document.items())
    return False


@settings(max_examples=400)
@given(documents)
def test_fast_canonical_json_equals_the_reference(document: object) -> None:
    try:
        reference = rfc8785.dumps(document)
    except ValueError:  # lone surrogates: both must refuse
        with pytest.raises(InvalidInput):
            canonical_json(document)
        return
    if has_wide_key(document):
        return  # such documents are routed to the reference by prepare_entry
    assert canonical_json(document) == reference


@settings(max_examples=200)
@given(st.dictionaries(keys, documents, max_size=5))
def test_prepared_entries_are_rfc8785(data: dict[str, object]) -> None:
    try:
        rfc8785.dumps(data)
    except ValueError:
        return
    entry = prepare_entry(
        LogEvent("bid.submitted", LogActor("tenderer", "id-1", "::1"), "t", data), WHEN
    ).entry
    assert rfc8785.dumps(json.loads(entry)) == entry


def test_keys_outside_the_bmp_sort_by_utf16() -> None:
    data = {"\U0001f600": 1, "\ufb01": 2}  # UTF-16 puts the emoji (D83D...) before U+FB01
    entry = prepare_entry(LogEvent("x.y", LogActor("agency"), None, data), WHEN).entry
    assert entry == rfc8785.dumps(json.loads(entry))
    assert entry.index("\U0001f600".encode()) < entry.index("\ufb01".encode())


def test_commitment_is_sha256_over_tag_salt_and_canonical_opening() -> None:
    salt = bytes(range(32))
    expected = hashlib.sha256(ACTOR_DOMAIN + salt + b'{"address":"10.0.0.1","operator":"op"}').hexdigest()
    assert actor_commitment(salt, "op", "10.0.0.1") == expected
    assert (
        actor_commitment(salt, None, None)
        == hashlib.sha256(ACTOR_DOMAIN + salt + b'{"address":null,"operator":null}').hexdigest()
    )
    with pytest.raises(InvalidInput):
        actor_commitment(b"short", "op", None)


def test_entry_layout() -> None:
    entry = prepare_entry(
        LogEvent(
            "tender.published", LogActor("agency", "agency-1", "192.0.2.7", public=True), "t-9", {"n": 3}
        ),
        WHEN + timedelta(microseconds=123456),
        salt=b"\x01" * 32,
    )
    document = json.loads(entry.entry)
    assert document == {
        "v": 1,
        "type": "tender.published",
        "time": "2026-01-05T01:00:00.123Z",
        "tender": "t-9",
        "actor": {
            "role": "agency",
            "operator": "agency-1",
            "commitment": actor_commitment(b"\x01" * 32, "agency-1", "192.0.2.7"),
        },
        "data": {"n": 3},
    }
    assert (entry.operator, entry.role, entry.address, entry.salt) == (
        "agency-1",
        "agency",
        "192.0.2.7",
        b"\x01" * 32,
    )


def test_time_is_utc_with_z() -> None:
    shanghai = timezone(timedelta(hours=8))
    assert format_time(datetime(2026, 1, 5, 9, 0, tzinfo=shanghai)) == "2026-01-05T01:00:00.000Z"
    with pytest.raises(InvalidInput):
        format_time(datetime(2026, 1, 5, 9, 0))


@pytest.mark.parametrize(
    "actor",
    [
        LogActor("tenderer", 42),  # type: ignore[arg-type]
        LogActor("tenderer", "x", 7),  # type: ignore[arg-type]
        LogActor("Tenderer"),
        LogActor("tenderer", ""),
        LogActor("tenderer", None, "a" * 101),
    ],
)
def test_malformed_actors_are_refused(actor: LogActor) -> None:
    with pytest.raises(InvalidInput):
        prepare_entry(LogEvent("bid.submitted", actor), WHEN)


def test_lone_surrogates_are_refused() -> None:
    with pytest.raises(InvalidInput, match="canonicalised"):
        prepare_entry(LogEvent("bid.submitted", LogActor("tenderer"), None, {"x": "\ud800"}), WHEN)
