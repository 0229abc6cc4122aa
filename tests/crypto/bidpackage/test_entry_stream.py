"""Files hashed while the package streams: the same verdict as reading them again, without the read."""

from __future__ import annotations

import io
import random
import struct
import zlib
from pathlib import Path

import pytest

from crypto.bidpackage import Manifest, PackageError, PackageLimits, verify_package
from crypto.bidpackage import reader as package_reader
from crypto.bidpackage.entry_stream import EntryScanner, StreamedEntry, StreamedPackage
from crypto.pki import BuiltPki
from tests.crypto.bidpackage.helpers import build_sample, uscc_of


def _scan(data: bytes, limits: PackageLimits | None = None, step: int = 7777) -> dict[int, StreamedEntry]:
    scanner = EntryScanner(limits or PackageLimits())
    for start in range(0, len(data), step):
        scanner.feed(data[start : start + step])
    return scanner.entries


def _outcome(data: bytes, streamed: dict[int, StreamedEntry] | None) -> Manifest | str:
    try:
        return verify_package(io.BytesIO(data), streamed=streamed)
    except PackageError as exc:
        return exc.code


@pytest.mark.parametrize("compression", ["stored", "deflated"])
def test_streamed_entries_stand_in_for_reading_the_files(
    dev: BuiltPki, tmp_path: Path, compression: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    package, manifest = build_sample(tmp_path, uscc_of(dev, "tenderer-1"), compression=compression)
    streamed = _scan(package)
    assert len(streamed) == len(manifest.files) + 1  # every file and manifest.json

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("a streamed entry was read again")

    monkeypatch.setattr(package_reader, "_stream_entry", no_reading)
    assert verify_package(io.BytesIO(package), streamed=streamed) == manifest


def test_whatever_the_damage_the_verdict_is_the_same_as_reading_again(dev: BuiltPki, tmp_path: Path) -> None:
    package, _ = build_sample(tmp_path, uscc_of(dev, "tenderer-1"))
    rng = random.Random(5)
    differing = 0
    for _ in range(300):
        damaged = bytearray(package)
        for _ in range(rng.choice((1, 2, 4))):
            damaged[rng.randrange(len(damaged))] ^= 1 << rng.randrange(8)
        data = bytes(damaged)
        expected = _outcome(data, None)
        assert _outcome(data, _scan(data)) == expected
        differing += expected != _outcome(package, None)
    assert differing > 100  # most damage is caught, and caught the same way


def test_a_lying_local_header_is_not_trusted(dev: BuiltPki, tmp_path: Path) -> None:
    package, manifest = build_sample(tmp_path, uscc_of(dev, "tenderer-1"), compression="stored")
    streamed = _scan(package)
    offset, entry = next((o, e) for o, e in streamed.items() if e.name.startswith(b"files/"))
    forged = {**streamed, offset: StreamedEntry(**{**_fields(entry), "sha256": manifest.files[0].sha256})}
    wrong_crc = {**streamed, offset: StreamedEntry(**{**_fields(entry), "computed_crc": entry.crc ^ 1})}
    for variant in (forged, wrong_crc):
        # the entry falls back to the ordinary read, which gives the true verdict
        assert _outcome(package, variant) == _outcome(package, None)


def _fields(entry: StreamedEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in StreamedEntry.__slots__}


def test_a_deflate_bomb_in_a_local_header_is_not_inflated() -> None:
    zeros = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = b"".join(zeros.compress(bytes(1 << 20)) for _ in range(64)) + zeros.flush()
    name = b"files/zeros.bin"
    local = struct.pack(
        "<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, 0, len(payload), 64 << 20, len(name), 0
    )
    assert _scan(local + name + payload) == {}  # over the ratio limit: skipped, not inflated
    liar = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0x21, 0, len(payload), 1000, len(name), 0)
    assert _scan(liar + name + payload, PackageLimits(max_ratio=10**9)) == {}  # stops at its declared size


def test_data_descriptors_and_garbage_stop_the_scan_without_error() -> None:
    descriptor = struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0x8, 0, 0, 0x21, 0, 0, 0, 1, 0) + b"a"
    assert _scan(descriptor + b"data") == {}
    assert _scan(b"not a zip at all" * 100) == {}


class _FullDisk(io.BytesIO):
    def write(self, data: object) -> int:
        raise OSError(28, "No space left on device")


def test_a_failed_write_is_raised_by_finish() -> None:
    sink = StreamedPackage(_FullDisk(), PackageLimits())
    sink.write(b"PK\x03\x04" + bytes(100))
    with pytest.raises(OSError, match="No space"):
        sink.finish()
    sink.close()
