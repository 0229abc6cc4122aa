"""Untrusted ceremony documents: random bytes and mutations give CeremonyError, never a crash."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.ceremony import (
    CeremonyError,
    CeremonyOutput,
    CustodianRecipient,
    SharePlaintext,
    parse_bundle,
    run_ceremony,
)
from crypto.cms import Signer
from tests.identity.conftest import identity_pki

NOW = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
TENDER = "0196f0e8-1234-7abc-8def-0123456789ab"


@pytest.fixture(scope="module")
def output() -> CeremonyOutput:
    pki = identity_pki()
    lead = pki.signing("custodian-1")
    return run_ceremony(
        tender_id=TENDER,
        threshold=2,
        custodians=[
            CustodianRecipient(i, f"c{i}", pki.encryption(f"custodian-{i}").certificate) for i in (1, 2, 3)
        ],
        lead=Signer(lead.certificate, lead.private_key),  # type: ignore[arg-type]
        not_before=NOW - timedelta(hours=1),
        not_after=NOW + timedelta(days=60),
        now=NOW,
    )


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=512))
def test_random_bytes_are_refused_cleanly(data: bytes) -> None:
    with pytest.raises(CeremonyError):
        parse_bundle(data)
    with pytest.raises(CeremonyError):
        SharePlaintext.from_bytes(data)


def _paths(document: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(document, dict):
        for key, value in document.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for i, value in enumerate(document):
            out += _paths(value, (*prefix, i))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(choice=st.integers(min_value=0), value=JSON_VALUES)
def test_any_field_replaced_by_any_json_value_is_refused_or_still_well_formed(
    output: CeremonyOutput, choice: int, value: Any
) -> None:
    document = json.loads(output.bundle)
    paths = _paths(document)
    path = paths[choice % len(paths)]
    target: Any = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    data = bytes(rfc8785.dumps(document))
    try:
        bundle = parse_bundle(data)
    except CeremonyError:
        return
    assert bundle.to_bytes() == data  # whatever is accepted is a complete, canonical bundle


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(position=st.integers(min_value=0), byte=st.integers(min_value=0, max_value=255))
def test_byte_flips_anywhere_are_refused_or_harmless(
    output: CeremonyOutput, position: int, byte: int
) -> None:
    data = bytearray(output.bundle)
    data[position % len(data)] = byte
    with contextlib.suppress(CeremonyError):
        parse_bundle(bytes(data))


def test_deep_nesting_and_huge_numbers_are_refused(output: CeremonyOutput) -> None:
    with pytest.raises(CeremonyError):
        parse_bundle(b"[" * 200_000 + b"]" * 200_000)
    huge = output.bundle.replace(b'"threshold":2', b'"threshold":' + b"9" * 4000)
    with pytest.raises(CeremonyError, match="threshold must be an integer"):
        parse_bundle(huge)
