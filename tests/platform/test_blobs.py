"""One conformance suite for every BlobStore implementation."""

from __future__ import annotations

import errno
import hashlib
import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tendering.blobs import BlobRef, BlobStore, FilesystemBlobStore, MemoryBlobStore
from tendering.errors import InvalidInput, NotFound


@pytest.fixture(params=["filesystem", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if request.param == "filesystem":
        return FilesystemBlobStore(tmp_path / "blobs")
    return MemoryBlobStore()


def _leftovers(store: BlobStore) -> list[str]:
    if isinstance(store, FilesystemBlobStore):
        return os.listdir(store.root / "tmp")
    return []


def test_round_trip_is_content_addressed(store: BlobStore) -> None:
    data = b"sealed envelope bytes" * 100
    ref = store.put([data])
    assert ref.sha256 == hashlib.sha256(data).hexdigest()
    assert ref.size == len(data)
    assert store.exists(ref.sha256)
    assert store.size(ref.sha256) == len(data)
    with store.open(ref.sha256) as f:
        assert f.read() == data
    assert store.put(io.BytesIO(data)) == ref  # same bytes, same blob


def test_streams_large_input_in_chunks(store: BlobStore) -> None:
    chunk = os.urandom(1 << 16)

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield chunk

    ref = store.put(chunks())
    assert ref.size == 64 * len(chunk)
    assert ref.sha256 == hashlib.sha256(chunk * 64).hexdigest()


def test_expected_digest_mismatch_is_refused_and_leaves_nothing(store: BlobStore) -> None:
    with pytest.raises(InvalidInput) as err:
        store.put([b"abc"], expected_sha256="0" * 64)
    assert err.value.code == "digest-mismatch"
    assert not store.exists(hashlib.sha256(b"abc").hexdigest())
    assert _leftovers(store) == []


def test_expected_digest_match_is_accepted(store: BlobStore) -> None:
    digest = hashlib.sha256(b"abc").hexdigest()
    assert store.put([b"abc"], expected_sha256=digest).sha256 == digest


def test_missing_blob_is_not_found(store: BlobStore) -> None:
    with pytest.raises(NotFound):
        store.open("a" * 64)
    with pytest.raises(NotFound):
        store.size("a" * 64)
    assert not store.exists("a" * 64)


@pytest.mark.parametrize("bad", ["", "../../etc/passwd", "A" * 64, "a" * 63, "g" * 64, "a" * 64 + "\n"])
def test_malformed_digest_is_invalid_input(store: BlobStore, bad: str) -> None:
    with pytest.raises(InvalidInput):
        store.open(bad)


def test_ping_succeeds_on_writable_store(store: BlobStore) -> None:
    store.ping()


def test_failed_write_leaves_no_partial_blob(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")

    def broken() -> Iterator[bytes]:
        yield b"first part"
        raise OSError("connection reset")

    with pytest.raises(OSError, match="connection reset"):
        store.put(broken())
    assert _leftovers(store) == []
    assert not any(p.is_file() for p in (tmp_path / "blobs").rglob("*") if p.parent.name != "tmp")


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=5000))
def test_any_bytes_round_trip(data: bytes) -> None:
    store = MemoryBlobStore()
    ref = store.put([data])
    assert store.open(ref.sha256).read() == data


def test_adopt_moves_the_file_in_without_a_copy(store: BlobStore, tmp_path: Path) -> None:
    data = os.urandom(3 * 65536 + 7)
    src = tmp_path / "finished.part"
    src.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    ref = store.adopt(src, sha256=sha)
    assert ref == BlobRef(sha, len(data))
    assert not src.exists()
    with store.open(sha) as f:
        assert f.read() == data
    assert _leftovers(store) == []


def test_adopt_of_a_stored_blob_removes_the_source_and_keeps_the_blob(
    store: BlobStore, tmp_path: Path
) -> None:
    data = b"the same sealed envelope twice"
    ref = store.put([data])
    src = tmp_path / "again.part"
    src.write_bytes(data)
    assert store.adopt(src, sha256=ref.sha256) == ref
    assert not src.exists()
    with store.open(ref.sha256) as f:
        assert f.read() == data


def test_adopt_of_a_missing_file_is_not_found(store: BlobStore, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as err:
        store.adopt(tmp_path / "never-written", sha256="a" * 64)
    assert err.value.code == "blob-source-missing"


def test_adopt_refuses_a_malformed_digest(store: BlobStore, tmp_path: Path) -> None:
    src = tmp_path / "x.part"
    src.write_bytes(b"x")
    with pytest.raises(InvalidInput):
        store.adopt(src, sha256="not-a-digest")
    assert src.exists()


def test_memory_store_refuses_a_vouched_digest_that_is_wrong(tmp_path: Path) -> None:
    store = MemoryBlobStore()
    src = tmp_path / "x.part"
    src.write_bytes(b"what was really written")
    wrong = hashlib.sha256(b"what the caller believed").hexdigest()
    with pytest.raises(InvalidInput) as err:
        store.adopt(src, sha256=wrong)
    assert err.value.code == "digest-mismatch"
    assert not store.exists(wrong)


def test_adopt_across_file_systems_copies_atomically(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = FilesystemBlobStore(tmp_path / "blobs")
    data = os.urandom(100_000)
    src = tmp_path / "elsewhere.part"
    src.write_bytes(data)
    sha = hashlib.sha256(data).hexdigest()
    real_replace = Path.replace

    def replace(self: Path, target: Path) -> Path:  # the first rename crosses devices
        if self == src:
            raise OSError(errno.EXDEV, "Invalid cross-device link")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", replace)
    assert store.adopt(src, sha256=sha) == BlobRef(sha, len(data))
    assert not src.exists()
    with store.open(sha) as f:
        assert f.read() == data
    assert _leftovers(store) == []
