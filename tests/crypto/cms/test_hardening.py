"""Untrusted input: every parser fails with a CmsError - never another exception, a hang or a big
allocation - on random bytes, truncations, bit flips, huge declared lengths and deep nesting."""

from __future__ import annotations

import contextlib
import io
import tracemalloc
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.cms import (
    CmsError,
    LimitExceeded,
    Limits,
    MalformedCms,
    Signer,
    open_envelope,
    peek_envelope,
    seal_bytes,
    sign_attached,
    sign_detached,
    verify_signed,
)
from crypto.cms.der import der_tlv
from crypto.cms.stream import BerReader
from tests.crypto.cms.testpki import Pki

FUZZ = settings(max_examples=150, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture])
SMALL = Limits(max_size=1 << 20, max_metadata=64 << 10, max_depth=16, chunk_size=4096)


@pytest.fixture(scope="module")
def samples(pki: Pki) -> dict[str, bytes]:
    signer = Signer(pki.ec_signer.cert, pki.ec_signer.key, (pki.intermediate.cert,))
    return {
        "envelope": seal_bytes(b"bid" * 100, [pki.ec_recipient.cert, pki.rsa_recipient.cert]),
        "attached": sign_attached(b"bid" * 100, signer),
        "detached": sign_detached(b"bid" * 100, signer),
    }


def _parsers(pki: Pki) -> dict[str, Callable[[bytes], object]]:
    return {
        "peek": lambda data: peek_envelope(data, limits=SMALL),
        "open-ec": lambda data: open_envelope(
            data, io.BytesIO(), pki.ec_recipient.cert, pki.ec_recipient.key, limits=SMALL
        ),
        "open-rsa": lambda data: open_envelope(
            data, io.BytesIO(), pki.rsa_recipient.cert, pki.rsa_recipient.key, limits=SMALL
        ),
        "verify-attached": lambda data: verify_signed(data, limits=SMALL),
        "verify-detached": lambda data: verify_signed(data, detached_content=b"bid" * 100, limits=SMALL),
    }


def only_cms_errors(parse: Callable[[bytes], object], data: bytes) -> None:
    with contextlib.suppress(CmsError):
        parse(data)


@pytest.mark.parametrize("parser", ["peek", "open-ec", "open-rsa", "verify-attached", "verify-detached"])
@FUZZ
@given(data=st.binary(max_size=2048))
def test_random_bytes(pki: Pki, parser: str, data: bytes) -> None:
    only_cms_errors(_parsers(pki)[parser], data)


@pytest.mark.parametrize("parser", ["peek", "open-ec", "verify-attached", "verify-detached"])
@FUZZ
@given(
    prefix=st.sampled_from([b"\x30\x80", b"\x30\x82\x01\x00", b"\x30\x84\xff\xff\xff\xf0"]), data=st.binary()
)
def test_random_bytes_behind_a_plausible_header(pki: Pki, parser: str, prefix: bytes, data: bytes) -> None:
    only_cms_errors(_parsers(pki)[parser], prefix + b"\x06\x09\x2a\x86\x48\x86\xf7\x0d\x01\x07\x02" + data)


SAMPLE_FOR = {
    "peek": "envelope",
    "open-ec": "envelope",
    "open-rsa": "envelope",
    "verify-attached": "attached",
    "verify-detached": "detached",
}


@pytest.mark.parametrize("parser", list(SAMPLE_FOR))
def test_every_truncation_is_malformed(pki: Pki, samples: dict[str, bytes], parser: str) -> None:
    data = samples[SAMPLE_FOR[parser]]
    parse = _parsers(pki)[parser]
    for cut in range(0, len(data), max(1, len(data) // 300)):
        with pytest.raises(CmsError):
            parse(data[:cut])


@pytest.mark.parametrize("parser", list(SAMPLE_FOR))
@FUZZ
@given(data=st.data())
def test_bit_flips(pki: Pki, samples: dict[str, bytes], parser: str, data: st.DataObject) -> None:
    sample = bytearray(samples[SAMPLE_FOR[parser]])
    flips = data.draw(
        st.sets(st.tuples(st.integers(0, len(sample) - 1), st.integers(0, 7)), min_size=1, max_size=3)
    )
    for position, bit in flips:
        sample[position] ^= 1 << bit
    sink = io.BytesIO()
    try:
        if parser.startswith("open"):
            cred = pki.ec_recipient if parser == "open-ec" else pki.rsa_recipient
            open_envelope(bytes(sample), sink, cred.cert, cred.key, limits=SMALL)
        elif parser == "verify-attached":
            if not verify_signed(bytes(sample), content_sink=sink, limits=SMALL).ok:
                return
        else:
            _parsers(pki)[parser](bytes(sample))
            return
    except CmsError:
        return
    # It opened / verified: only possible when the flip hit an unauthenticated part (another
    # recipient's RecipientInfo, a chain certificate) - and then the content must be the original.
    assert sink.getvalue() == b"bid" * 100


@pytest.mark.parametrize("parser", list(SAMPLE_FOR))
def test_one_bit_flip_per_byte_exhaustively(pki: Pki, samples: dict[str, bytes], parser: str) -> None:
    """Every byte of the sample, one bit each: only CmsError or a verdict, never another exception."""
    sample = samples[SAMPLE_FOR[parser]]
    parse = _parsers(pki)[parser]
    for position in range(len(sample)):
        flipped = bytearray(sample)
        flipped[position] ^= 1 << (position % 8)
        only_cms_errors(parse, bytes(flipped))


def test_bit_flips_never_verify_the_content(pki: Pki, samples: dict[str, bytes]) -> None:
    """Exhaustively: flipping any single bit of the eContent is caught."""
    attached = samples["attached"]
    start = attached.index(b"bid" * 100)
    for position in range(start, start + 300, 7):
        flipped = bytearray(attached)
        flipped[position] ^= 0x20
        verdict = verify_signed(bytes(flipped))
        assert not verdict.ok and not verdict.intact


@pytest.mark.parametrize(
    "data",
    [
        b"\x30\x88\x7f\xff\xff\xff\xff\xff\xff\xff",  # 2**63 bytes
        b"\x30\x89" + b"\x01" * 9,  # length of length too long
        b"\x30\x84\x7f\xff\xff\xff\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17",  # 2 GiB envelope
        b"\x30\x80\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17\xa0\x80\x30\x80\x02\x01\x00"
        b"\x31\x84\x40\x00\x00\x00",  # a 1 GiB recipientInfos in an indefinite envelope
    ],
)
def test_huge_declared_lengths_are_refused_before_reading(pki: Pki, data: bytes) -> None:
    tracemalloc.start()
    try:
        for parse in _parsers(pki).values():
            with pytest.raises(CmsError):
                parse(data + b"\x00" * 64)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20


def test_recipient_infos_above_the_metadata_cap(pki: Pki) -> None:
    envelope = seal_bytes(b"x", [pki.ec_recipient.cert] * 3)
    with pytest.raises(LimitExceeded, match="recipientInfos"):
        peek_envelope(envelope, limits=Limits(max_metadata=200))


def test_total_size_cap(pki: Pki, samples: dict[str, bytes]) -> None:
    with pytest.raises(LimitExceeded):
        peek_envelope(samples["envelope"], limits=Limits(max_size=100))
    with pytest.raises(LimitExceeded):
        verify_signed(samples["attached"], limits=Limits(max_size=100))


@pytest.mark.parametrize("depth", [17, 1000, 100_000])
def test_deep_nesting(pki: Pki, depth: int) -> None:
    indefinite = b"\x30\x80" * depth + b"\x00\x00" * depth
    for parse in _parsers(pki).values():
        with pytest.raises(CmsError):
            parse(indefinite)
    # deep nesting inside an element that is read into memory (recipientInfos)
    head = b"\x30\x80\x06\x0b\x2a\x86\x48\x86\xf7\x0d\x01\x09\x10\x01\x17\xa0\x80\x30\x80\x02\x01\x00\x31\x80"
    with pytest.raises(LimitExceeded, match="nesting"):
        peek_envelope(head + b"\x30\x80" * depth + b"\x00\x00" * (depth + 4), limits=SMALL)


def test_reader_rejects_bad_headers() -> None:
    cases = {
        b"\x04\x80": "indefinite length on a primitive",
        b"\x1f\xff\xff\xff\xff\x7f\x00": "tag number too long",
        b"\x00\x00": "end-of-contents",
        b"\x30": "truncated",
    }
    for data, message in cases.items():
        with pytest.raises(MalformedCms, match=message):
            BerReader(io.BytesIO(data)).read_header()


def test_reader_child_overrunning_parent() -> None:
    reader = BerReader(io.BytesIO(b"\x30\x03\x04\x05abcde"))
    reader.enter(reader.read_header())
    with pytest.raises(MalformedCms, match="overruns"):
        reader.next_child()


def test_reader_high_tag_and_long_form() -> None:
    reader = BerReader(io.BytesIO(b"\x9f\x81\x00\x82\x00\x02hi"))
    header = reader.read_header()
    assert (header.tag_class, header.tag, header.length) == (2, 128, 2)
    assert reader.read_primitive(header, what="x") == b"hi"
    assert reader.at_eof()


def test_deep_definite_nesting_inside_metadata_is_contained() -> None:
    """30 000 nested definite-length SEQUENCEs in an OtherRecipientInfo value: asn1crypto would
    recurse without end; the reader turns it into MalformedCms."""
    inner = b"\x05\x00"
    for _ in range(30_000):
        inner = der_tlv(0x30, inner)
    ori = der_tlv(0xA4, der_tlv(0x06, b"\x2a\x03\x04") + inner)
    gcm = bytes.fromhex("301e060960864801650304012e3011040c000000000000000000000000020110")
    eci = der_tlv(0x30, bytes.fromhex("06092a864886f70d010701") + gcm + der_tlv(0x80, b"abc"))
    aed = der_tlv(0x30, b"\x02\x01\x00" + der_tlv(0x31, ori) + eci + der_tlv(0x04, bytes(16)))
    envelope = der_tlv(0x30, bytes.fromhex("060b2a864886f70d0109100117") + der_tlv(0xA0, aed))
    with pytest.raises(MalformedCms, match="recipientInfos"):
        peek_envelope(envelope)
