"""Untrusted packages: zip bombs, overlapping entries, lies about sizes, truncation, random bytes.

Whatever the bytes, ``verify_package`` returns a manifest or raises ``PackageError`` - nothing else,
without hanging and without expanding more than the declared (and limited) sizes.
"""

from __future__ import annotations

import io
import json
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crypto.bidpackage import (
    Manifest,
    PackageError,
    PackageFile,
    PackageLimits,
    build_package,
    verify_package,
)
from crypto.pki import BuiltPki
from crypto.pki.dev import dev_uscc
from tests.crypto.bidpackage.helpers import CLIENT, MACHINE, NOW, TENDER, build_sample, price, rezip, uscc_of

ZEROS_MIB = 64


@pytest.fixture(scope="module")
def package(dev: BuiltPki, tmp_path_factory: pytest.TempPathFactory) -> bytes:
    data, _ = build_sample(tmp_path_factory.mktemp("pkg"), uscc_of(dev, "tenderer-1"))
    return data


def _code(data: bytes, limits: PackageLimits | None = None) -> str:
    with pytest.raises(PackageError) as caught:
        verify_package(io.BytesIO(data), limits=limits)
    return caught.value.code


def _outcome(data: bytes, limits: PackageLimits | None = None) -> Manifest | PackageError:
    try:
        return verify_package(io.BytesIO(data), limits=limits)
    except PackageError as exc:
        return exc


def _deflated_zeros(mib: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = bytes(1 << 20)
    return b"".join(compressor.compress(block) for _ in range(mib)) + compressor.flush()


def _raw_entry_zip(name: str, declared_size: int, payload: bytes, crc: int) -> bytes:
    """A one-entry deflated ZIP whose headers declare ``declared_size`` for ``payload``."""
    raw = name.encode()
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, crc, len(payload), declared_size, len(raw), 0
    )
    central = struct.pack(
        "<4s6H3L5H2L",
        b"PK\x01\x02",
        20,
        20,
        0,
        8,
        0,
        0x21,
        crc,
        len(payload),
        declared_size,
        len(raw),
        0,
        0,
        0,
        0,
        0o100644 << 16,
        0,
    )
    body = local + raw + payload
    directory = central + raw
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 1, 1, len(directory), len(body), 0)
    return body + directory + end


def test_a_real_zip_bomb_is_refused_from_its_directory() -> None:
    payload = _deflated_zeros(ZEROS_MIB)
    bomb = _raw_entry_zip("files/zeros.bin", ZEROS_MIB << 20, payload, zlib.crc32(bytes(ZEROS_MIB << 20)))
    assert len(bomb) < (ZEROS_MIB << 20) // 500
    with pytest.raises(PackageError, match="zip bomb") as caught:
        verify_package(io.BytesIO(bomb))
    assert caught.value.code == "package-too-large"


def test_a_bomb_that_lies_about_its_size_stops_at_the_declared_size() -> None:
    payload = _deflated_zeros(ZEROS_MIB)
    liar = _raw_entry_zip("manifest.json", 1000, payload, 0)
    assert _code(liar) == "package-file-mismatch"  # read stops at 1000 bytes, then the CRC fails


def test_entries_beyond_the_size_limits_are_refused(package: bytes) -> None:
    assert _code(package, PackageLimits(max_entry_size=1000)) == "package-too-large"
    assert _code(package, PackageLimits(max_total_size=20_000)) == "package-too-large"
    assert _code(package, PackageLimits(max_entries=2)) == "package-too-large"
    assert _code(package, PackageLimits(max_archive_size=1000)) == "package-too-large"
    assert _code(package, PackageLimits(max_manifest_size=100)) == "package-too-large"


def test_huge_declared_sizes_are_refused_without_reading(package: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.filelist[0].file_size = 1 << 62  # written into the central directory (ZIP64)
    assert _code(out.getvalue()) == "package-too-large"


def test_overlapping_entries_are_refused(package: bytes) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(package)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        dst.filelist[1].header_offset = dst.filelist[0].header_offset
    assert _code(out.getvalue()) == "package-not-zip"


def test_data_in_front_of_the_archive_is_refused(package: bytes) -> None:
    assert _code(b"MZ\x90\x00 not a zip " * 10 + package) == "package-not-zip"


def test_encrypted_and_unknown_methods_are_refused(package: bytes) -> None:
    index = package.rindex(b"PK\x01\x02")  # the last central directory entry (manifest.json)
    flagged = bytearray(package)
    flagged[index + 8] |= 0x01
    assert _code(bytes(flagged)) == "package-unsupported"
    method = bytearray(package)
    method[index + 10 : index + 12] = struct.pack("<H", 14)  # LZMA
    assert _code(bytes(method)) == "package-unsupported"


def test_a_nested_zip_is_just_a_file(package: bytes, tmp_path: Path) -> None:
    bomb = _raw_entry_zip("zeros.bin", ZEROS_MIB << 20, _deflated_zeros(ZEROS_MIB), 0)
    inner = tmp_path / "inner.zip"
    inner.write_bytes(bomb)
    with zipfile.ZipFile(io.BytesIO(package)) as z:
        uscc = json.loads(z.read("manifest.json"))["bidder_uscc"]
    sink = io.BytesIO()
    build_package(
        sink,
        [PackageFile("附件/nested.zip", inner)],
        tender_id=TENDER,
        lot_ids=["1"],
        bidder_uscc=uscc,
        prices=[price("1")],
        machine_code=MACHINE,
        client=CLIENT,
        created_at=NOW,
    )
    manifest = verify_package(io.BytesIO(sink.getvalue()))
    assert [f.size for f in manifest.files] == [len(bomb)]


def test_directory_entries_and_duplicate_entries_are_refused(package: bytes) -> None:
    assert _code(rezip(package, {}, {"files/folder/": b""})) in {"package-file-extra", "package-unsafe-name"}
    with pytest.warns(UserWarning, match="Duplicate name"):
        twice = rezip(package, {}, {"manifest.json": b"{}"})
    assert _code(twice) == "package-unsafe-name"


def test_every_truncation_is_refused(package: bytes) -> None:
    for length in range(0, len(package), max(1, len(package) // 400)):
        assert isinstance(_outcome(package[:length]), PackageError), length
    for length in range(len(package) - 200, len(package)):
        assert isinstance(_outcome(package[:length]), PackageError), length


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_random_bytes_never_raise_anything_else(data: bytes) -> None:
    assert isinstance(_outcome(data), PackageError)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_corruption_gives_a_manifest_or_a_package_error(data: st.DataObject) -> None:
    package = _small_package()
    mutated = bytearray(package)
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(mutated) - 1))
        mutated[position] = data.draw(st.integers(0, 255))
    outcome = _outcome(bytes(mutated))
    assert isinstance(outcome, Manifest | PackageError)


@settings(max_examples=200, deadline=None)
@given(
    tail=st.binary(min_size=22, max_size=200), count=st.integers(0, 0xFFFF), size=st.integers(0, 0xFFFFFFFF)
)
def test_forged_end_records_are_refused(tail: bytes, count: int, size: int) -> None:
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, size, size // 2, 0)
    assert isinstance(_outcome(tail + end), PackageError)


_SMALL: list[bytes] = []


def _small_package() -> bytes:
    """A stored (uncompressed) package, built once: corruption then hits readable structure."""
    if not _SMALL:
        with tempfile.TemporaryDirectory() as d:
            _SMALL.append(build_sample(Path(d), dev_uscc(1), compression="stored")[0])
    return _SMALL[0]
