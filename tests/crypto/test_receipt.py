"""The offline receipt verifier: a good receipt passes every check, each kind of tampering fails its own."""

from __future__ import annotations

import base64
import hashlib
import io
import json
from dataclasses import replace
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from crypto.checkpoint import Checkpoint, sign_checkpoint
from crypto.cms import PyhankoTimeStamper, Signer, sign_detached
from crypto.cms.timestamps import resolve
from crypto.merkle import MemoryNodeStore, inclusion_proof
from crypto.pki import BuiltPki, CertificateChecker, Purpose, RevocationPolicy, VerdictReason
from crypto.receipt import (
    RECEIPT_TYPE,
    ReceiptBundle,
    ReceiptError,
    bidder_commitment,
    canonical,
    verify_receipt,
    version_commitment,
)
from crypto.signednote import generate_signer
from tests.identity.conftest import identity_pki

ORIGIN = "sealbid.test/log"
SALT = bytes(range(32))
ENVELOPE = b"sealed envelope bytes"


@pytest.fixture(scope="module")
def pki() -> BuiltPki:
    return identity_pki()


@pytest.fixture(scope="module")
def log_keys() -> tuple[str, str]:
    return generate_signer(ORIGIN)


def _signer(pki: BuiltPki, name: str) -> Signer:
    credential = pki.credential(name)
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return Signer(credential.certificate, key, tuple(pki.chain(name)))


def _fields(**overrides: Any) -> dict[str, Any]:
    bidder = bidder_commitment("bid-1", "91350100MA1DEB0199", SALT)
    fields: dict[str, Any] = {
        "type": RECEIPT_TYPE,
        "bid": "bid-1",
        "version": 1,
        "kind": "submitted",
        "tender": "tender-1",
        "lots": [1],
        "envelope_sha256": hashlib.sha256(ENVELOPE).hexdigest(),
        "envelope_size": len(ENVELOPE),
        "bidder_commitment": bidder,
        "received_at": "2026-01-05T01:00:00Z",
        "opening": {"bidder_uscc": "91350100MA1DEB0199", "salt": SALT.hex()},
    }
    fields["commitment"] = version_commitment(
        tender="tender-1",
        bid="bid-1",
        version=1,
        kind="submitted",
        lots=[1],
        envelope_sha256=fields["envelope_sha256"],
        bidder=bidder,
        salt=SALT,
    )
    fields.update(overrides)
    return fields


def make_bundle(
    pki: BuiltPki, signer_key: str, *, entry_tender: str | None = None, **overrides: Any
) -> ReceiptBundle:
    """A receipt as the server makes one: entry 2 of a 5-entry log."""
    fields = _fields(**overrides)
    entry = canonical(
        {"v": 1, "type": "bid.version", "tender": entry_tender, "data": {"commitment": fields["commitment"]}}
    )
    store = MemoryNodeStore()
    store.append_entries([b"a", b"b", entry, b"d", b"e"])
    fields["log"] = {
        "origin": ORIGIN,
        "index": 2,
        "checkpoint_size": 5,
        "checkpoint_root": base64.b64encode(store.root()).decode(),
    }
    receipt = canonical(fields)
    tsa = pki.tsa("tsa")
    token = resolve(
        PyhankoTimeStamper(tsa.timestamper()).timestamp(hashlib.sha256(receipt).digest(), "sha256")
    )
    return ReceiptBundle(
        receipt=receipt,
        signature=sign_detached(receipt, _signer(pki, "platform-signing")),
        timestamp_token=token,
        log_entry=entry,
        inclusion_proof=tuple(inclusion_proof(store, 2, 5)),
        checkpoint=sign_checkpoint(Checkpoint(ORIGIN, 5, store.root()), signer_key),
    )


def _ca(pki: BuiltPki) -> list[x509.Certificate]:
    return [*pki.roots, *pki.intermediates]


def _failed(bundle: ReceiptBundle, pki: BuiltPki, log_key: str, envelope: bytes | None = None) -> set[str]:
    verdict = verify_receipt(
        bundle, ca_certificates=_ca(pki), log_key=log_key, envelope=io.BytesIO(envelope) if envelope else None
    )
    return {c.name for c in verdict.checks if not c.ok}


def test_a_good_receipt_passes_every_check(pki: BuiltPki, log_keys: tuple[str, str]) -> None:
    bundle = make_bundle(pki, log_keys[0])
    verdict = verify_receipt(
        bundle, ca_certificates=_ca(pki), log_key=log_keys[1], envelope=io.BytesIO(ENVELOPE)
    )
    assert verdict.ok, verdict.checks
    assert len(verdict.checks) == 7
    # and it survives its file format
    again = ReceiptBundle.from_json(bundle.to_json())
    assert again == bundle


def test_each_kind_of_tampering_fails_its_check(pki: BuiltPki, log_keys: tuple[str, str]) -> None:
    signer_key, log_key = log_keys
    bundle = make_bundle(pki, signer_key)
    # another envelope
    assert _failed(bundle, pki, log_key, ENVELOPE + b"!") == {"envelope"}
    # another log key
    _, stranger_key = generate_signer(ORIGIN)
    assert _failed(bundle, pki, stranger_key) == {"checkpoint"}
    # a proof hash changed
    proof = (bytes(32), *bundle.inclusion_proof[1:])
    assert _failed(replace(bundle, inclusion_proof=proof), pki, log_key) == {"inclusion"}
    # a time-stamp over something else
    other = make_bundle(pki, signer_key, received_at="2026-01-05T01:00:01Z")
    assert _failed(replace(bundle, timestamp_token=other.timestamp_token), pki, log_key) == {"timestamp"}
    # a signature over something else
    assert _failed(replace(bundle, signature=other.signature), pki, log_key) == {"platform-signature"}
    # a log entry that names the tender
    assert "commitment" in _failed(make_bundle(pki, signer_key, entry_tender="tender-1"), pki, log_key)


def test_a_receipt_signed_outside_the_ca_bundle_is_not_trusted(
    pki: BuiltPki, log_keys: tuple[str, str]
) -> None:
    bundle = make_bundle(pki, log_keys[0])
    # a bundle whose only root is another CA's
    from crypto.pki import CASpec, PkiSpec, build_pki
    from tests.identity.conftest import _enterprise

    other = build_pki(
        PkiSpec(
            roots=(CASpec(name="other-root", display_name="Other Root", leaves=(_enterprise("x", 80),)),),
            base_url="http://other.invalid/pki",
            now=pki.now,
        )
    )
    verdict = verify_receipt(bundle, ca_certificates=other.roots, log_key=log_keys[1])
    assert {c.name for c in verdict.checks if not c.ok} == {"platform-signature", "timestamp"}


def test_a_changed_opening_does_not_give_the_commitments(pki: BuiltPki, log_keys: tuple[str, str]) -> None:
    tampered = make_bundle(pki, log_keys[0], opening={"bidder_uscc": "91350100MA1DEB0199", "salt": "00" * 32})
    assert _failed(tampered, pki, log_keys[1]) == {"commitment"}


def test_a_receipt_not_in_canonical_form_fails_format(pki: BuiltPki, log_keys: tuple[str, str]) -> None:
    bundle = make_bundle(pki, log_keys[0])
    spaced = json.dumps(json.loads(bundle.receipt), indent=1).encode()
    verdict = verify_receipt(replace(bundle, receipt=spaced), ca_certificates=_ca(pki), log_key=log_keys[1])
    assert not verdict.ok and [c.name for c in verdict.checks] == ["format"]


@pytest.mark.parametrize(
    "document",
    [
        {},
        {"type": "sealbid.receipt-bundle.v1"},
        {"type": "sealbid.receipt-bundle.v1", "receipt": "***", "inclusion_proof": [], "checkpoint": ""},
        {"type": "sealbid.receipt-bundle.v1", "receipt": "", "inclusion_proof": "x", "checkpoint": ""},
    ],
)
def test_malformed_bundles_are_refused_plainly(document: dict[str, Any]) -> None:
    with pytest.raises(ReceiptError):
        ReceiptBundle.from_document(document)
    with pytest.raises(ReceiptError):
        ReceiptBundle.from_json(b"not json")


def test_a_ca_bundle_without_a_root_is_an_error(pki: BuiltPki, log_keys: tuple[str, str]) -> None:
    bundle = make_bundle(pki, log_keys[0])
    with pytest.raises(ReceiptError):
        verify_receipt(bundle, ca_certificates=pki.intermediates, log_key=log_keys[1])


def test_the_time_stamping_purpose_needs_the_tsa_extended_key_usage(pki: BuiltPki) -> None:
    checker = CertificateChecker(pki.roots, intermediates=pki.intermediates, revocation=RevocationPolicy.OFF)
    tsa = checker.validate(pki.credential("tsa").certificate, purpose=Purpose.TIME_STAMPING)
    assert tsa.ok, tsa.message
    platform = checker.validate(pki.credential("platform-signing").certificate, purpose=Purpose.TIME_STAMPING)
    assert not platform.ok and platform.reason is VerdictReason.WRONG_KEY_USAGE
    # and a TSA certificate is still no signing certificate
    assert not checker.validate(pki.credential("tsa").certificate, purpose=Purpose.SIGNING).ok


_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
)
_JSON = st.recursive(
    _SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=20,
)
_BUNDLE_FIELDS = [
    "type",
    "receipt",
    "signature",
    "timestamp_token",
    "log_entry",
    "inclusion_proof",
    "checkpoint",
]


def _parses_or_refuses(data: bytes) -> None:
    """``from_json`` either gives a bundle or raises its documented ReceiptError, nothing else."""
    try:
        bundle = ReceiptBundle.from_json(data)
    except ReceiptError:
        return
    assert ReceiptBundle.from_json(bundle.to_json()) == bundle


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=400))
def test_from_json_on_arbitrary_bytes(data: bytes) -> None:
    _parses_or_refuses(data)


@settings(max_examples=400, deadline=None)
@given(
    changes=st.dictionaries(
        st.sampled_from(_BUNDLE_FIELDS), _JSON | st.lists(st.text(max_size=8)), max_size=4
    ),
    drop=st.sets(st.sampled_from(_BUNDLE_FIELDS), max_size=3),
)
def test_from_json_on_bundles_with_fields_replaced_or_dropped(
    changes: dict[str, Any], drop: set[str]
) -> None:
    document: dict[str, Any] = {
        "type": "sealbid.receipt-bundle.v1",
        "receipt": base64.b64encode(b"{}").decode(),
        "signature": base64.b64encode(b"\x30\x00").decode(),
        "timestamp_token": base64.b64encode(b"\x30\x00").decode(),
        "log_entry": base64.b64encode(b"{}").decode(),
        "inclusion_proof": [base64.b64encode(bytes(32)).decode()],
        "checkpoint": "origin\n1\nAAAA\n",
    }
    _parses_or_refuses(json.dumps(document).encode())  # the starting point parses
    document.update(changes)
    for name in drop:
        document.pop(name, None)
    _parses_or_refuses(json.dumps(document, allow_nan=True).encode())


@settings(max_examples=200, deadline=None)
@given(text=st.text(alphabet=st.sampled_from('{}[]",:0123456789.eE+-tfnrul\\ ud800abc=/'), max_size=300))
def test_from_json_on_json_like_text(text: str) -> None:
    _parses_or_refuses(text.encode("utf-8", "surrogatepass"))


@pytest.mark.parametrize(
    "data",
    [
        b"[" * 100_000,
        b'{"type":"sealbid.receipt-bundle.v1","x":' + b"[" * 50_000 + b"]" * 50_000 + b"}",
        b'{"type":"sealbid.receipt-bundle.v1","inclusion_proof":[],"checkpoint":"\\ud800",'
        b'"receipt":"","signature":"","timestamp_token":"","log_entry":""}',
        b'{"type":"sealbid.receipt-bundle.v1","inclusion_proof":["\\u00e9"],"checkpoint":"c"}',
        b"\xff\xfe\x00",
    ],
)
def test_from_json_refuses_hostile_files_plainly(data: bytes) -> None:
    with pytest.raises(ReceiptError):
        ReceiptBundle.from_json(data)
