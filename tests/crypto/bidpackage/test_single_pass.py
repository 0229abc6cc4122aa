"""The opening reads each envelope once: fused hashes, no plaintext spool, and nothing kept before the tag.

GCM authenticates only at the end, so a bit flipped late in a large envelope is found after the
signature reader has already consumed (and the package sink written) most of the plaintext: the
verdict must still be ``envelope-not-opened`` with nothing kept and no signature reported.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

import pytest

from crypto.bidpackage import PackageFile, build_package, open_bid, seal_bid
from crypto.bidpackage.hashing import HashingSource, HashingWriter
from crypto.cms import DecryptionError, Limits, peek_envelope, seal_bytes, sign_attached, verify_signed
from crypto.cms.envelope_stream import content_of, decrypting_reader
from crypto.pki import BuiltPki
from tests.crypto.bidpackage.helpers import (
    CLIENT,
    MACHINE,
    NOW,
    TENDER,
    Opening,
    build_sample,
    make_opening,
    price,
    signer_of,
    uscc_of,
)

SMALL_CHUNKS = Limits(chunk_size=64 << 10)


@pytest.fixture(scope="module")
def opening(tmp_path_factory: pytest.TempPathFactory) -> Opening:
    return make_opening(tmp_path_factory.mktemp("opening"))


@pytest.fixture(scope="module")
def large(dev: BuiltPki, tmp_path_factory: pytest.TempPathFactory, opening: Opening) -> tuple[bytes, bytes]:
    """A 3 MiB stored package and its sealed envelope (many 64 KiB chunks)."""
    work = tmp_path_factory.mktemp("large")
    source = work / "plans.bin"
    source.write_bytes(os.urandom(3 << 20))
    package = io.BytesIO()
    build_package(
        package,
        [PackageFile("技术标/plans.bin", source)],
        tender_id=TENDER,
        lot_ids=["1"],
        bidder_uscc=uscc_of(dev, "tenderer-1"),
        prices=[price("1")],
        machine_code=MACHINE,
        client=CLIENT,
        created_at=NOW,
        compression="stored",
    )
    envelope = io.BytesIO()
    seal_bid(
        io.BytesIO(package.getvalue()),
        envelope,
        signer_of(dev, "tenderer-1"),
        opening_certificate=opening.certificate,
    )
    return package.getvalue(), envelope.getvalue()


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_hashes_come_from_the_single_pass(
    tmp_path: Path, opening: Opening, large: tuple[bytes, bytes]
) -> None:
    package, envelope = large
    kept = tmp_path / "package.zip"
    verdict = open_bid(
        io.BytesIO(envelope),
        opening.certificate,
        opening.key,
        check_certificate=None,
        cms_limits=SMALL_CHUNKS,
        package_destination=kept,
        workdir=tmp_path,
    )
    assert verdict.ok, verdict.reasons
    assert (verdict.envelope_sha256, verdict.envelope_size) == (_sha(envelope), len(envelope))
    assert (verdict.package_sha256, verdict.package_size) == (_sha(package), len(package))
    assert kept.read_bytes() == package
    assert verdict.signature is not None and verdict.signature.content_sha256 == _sha(package)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["package.zip"]  # no spool file left


@pytest.mark.parametrize("from_end", [40, 1000, 200_000])  # signer info, certificates, package end
def test_a_bit_flipped_late_in_a_large_envelope_opens_nothing_and_keeps_nothing(
    tmp_path: Path, opening: Opening, large: tuple[bytes, bytes], from_end: int
) -> None:
    _, envelope = large
    tampered = bytearray(envelope)
    tampered[len(tampered) - from_end] ^= 0x04
    kept = tmp_path / "package.zip"
    verdict = open_bid(
        io.BytesIO(bytes(tampered)),
        opening.certificate,
        opening.key,
        check_certificate=None,
        cms_limits=SMALL_CHUNKS,
        package_destination=kept,
        workdir=tmp_path,
    )
    assert (verdict.ok, verdict.code, verdict.envelope_opened) == (False, "envelope-not-opened", False)
    assert verdict.signature is None and verdict.manifest is None and verdict.package_sha256 is None
    assert verdict.envelope_sha256 == _sha(bytes(tampered))  # hashed all the same
    assert not kept.exists() and list(tmp_path.iterdir()) == []


def test_a_broken_envelope_is_still_hashed_completely(opening: Opening) -> None:
    data = b"\x30\x80" + os.urandom(300_000)
    verdict = open_bid(io.BytesIO(data), opening.certificate, opening.key, check_certificate=None)
    assert verdict.code == "envelope-not-opened"
    assert (verdict.envelope_sha256, verdict.envelope_size) == (_sha(data), len(data))


def test_the_bidder_layer_is_kept_as_written_once(dev: BuiltPki, tmp_path: Path, opening: Opening) -> None:
    package, _ = build_sample(tmp_path / "p", uscc_of(dev, "tenderer-2"))
    bidder = dev.encryption("tenderer-2")
    envelope = io.BytesIO()
    seal_bid(
        io.BytesIO(package),
        envelope,
        signer_of(dev, "tenderer-2"),
        opening_certificate=opening.certificate,
        bidder_encryption_certificate=bidder.certificate,
    )
    middle = tmp_path / "middle.p7m"
    locked = open_bid(
        io.BytesIO(envelope.getvalue()),
        opening.certificate,
        opening.key,
        check_certificate=None,
        middle_destination=middle,
        package_destination=tmp_path / "never.zip",
    )
    assert (locked.code, locked.envelope_opened, locked.bidder_layer) == ("bidder-layer-locked", True, True)
    assert locked.middle_sha256 == _sha(middle.read_bytes()) and locked.middle_size == middle.stat().st_size
    assert peek_envelope(middle.read_bytes()).is_addressed_to(bidder.certificate)
    assert not (tmp_path / "never.zip").exists()
    tampered = bytearray(envelope.getvalue())
    tampered[-60] ^= 0x01
    middle.unlink()
    refused = open_bid(
        io.BytesIO(bytes(tampered)),
        opening.certificate,
        opening.key,
        check_certificate=None,
        middle_destination=middle,
    )
    assert refused.code == "envelope-not-opened" and refused.middle_sha256 is None and not middle.exists()


def test_a_damaged_signed_layer_inside_an_intact_envelope_is_the_signatures_fault(
    dev: BuiltPki, opening: Opening, tmp_path: Path
) -> None:
    package, _ = build_sample(tmp_path, uscc_of(dev, "tenderer-1"))
    signed = bytearray(sign_attached(package, signer_of(dev, "tenderer-1")))
    del signed[-30:]  # truncated SignedData, sealed correctly
    verdict = open_bid(
        io.BytesIO(seal_bytes(bytes(signed), [opening.certificate])),
        opening.certificate,
        opening.key,
        check_certificate=None,
    )
    assert (verdict.code, verdict.envelope_opened) == ("signature-invalid", True)


def test_the_decrypting_reader_raises_on_a_bad_tag_only_at_the_end(opening: Opening) -> None:
    plaintext = os.urandom(300_000)
    envelope = bytearray(seal_bytes(plaintext, [opening.certificate]))
    envelope[-100] ^= 0x01
    stream = decrypting_reader(bytes(envelope), opening.certificate, opening.key, limits=SMALL_CHUNKS)
    assert stream.read(200_000)[:1000] == plaintext[:1000]  # provisional bytes
    with pytest.raises(DecryptionError):
        content_of(stream).drain()
    assert isinstance(content_of(stream).failure, DecryptionError) and not content_of(stream).finished
    with pytest.raises(DecryptionError):
        stream.read()


@pytest.mark.parametrize("background", [False, True])
def test_hashing_source_hashes_the_whole_stream_whatever_the_reads(background: bool) -> None:
    data = os.urandom(700_000)
    source = HashingSource(io.BytesIO(data), background=background, chunk_size=4096)
    assert source.read(100) == data[:100]
    source.seek(500_000)
    assert source.read(10) == data[500_000:500_010]  # beyond the mark: not hashed yet
    source.seek(0)
    assert source.read(50) == data[:50]  # before the mark: not hashed twice
    assert source.read(200) == data[50:250]
    assert source.finish() == (_sha(data), len(data))
    assert source.finish() == (_sha(data), len(data))
    source.close()


@pytest.mark.parametrize("background", [False, True])
def test_hashing_source_keeps_the_order_of_small_and_large_reads(background: bool) -> None:
    data = os.urandom(3 << 20)
    source = HashingSource(io.BytesIO(data), background=background)
    got = [source.read(1) for _ in range(300)]  # a structure walk: one byte at a time
    got.append(source.read(1 << 20))  # then content in large reads
    got += [source.read(7) for _ in range(10)]
    got.append(source.read(1 << 20))
    assert b"".join(got) == data[: len(b"".join(got))]
    assert source.finish() == (_sha(data), len(data))
    source.close()


def test_hashing_writer_and_detached_content_digest(dev: BuiltPki) -> None:
    sink = io.BytesIO()
    writer = HashingWriter(sink)
    writer.write(b"abc")
    writer.write(b"def")
    assert (writer.hexdigest(), writer.size, sink.getvalue()) == (_sha(b"abcdef"), 6, b"abcdef")
    from crypto.cms import sign_detached

    content = os.urandom(5000)
    verdict = verify_signed(sign_detached(content, signer_of(dev, "tenderer-1")), detached_content=content)
    assert verdict.intact and verdict.content_sha256 == _sha(content)
