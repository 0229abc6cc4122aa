"""Concurrent chunks, other worker processes, hashing while chunks arrive and the adopted envelope.

Chunks of one upload never interleave (upload-busy), a chunk acts on the offset committed when it
holds the upload (never on one it loaded before), and the finalisation holds the upload through the
blob store's adoption and the recording, so no chunk can change an adopted envelope.
"""

from __future__ import annotations

import base64
import errno
import fcntl
import hashlib
import os
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from litestar.testing import TestClient
from sqlalchemy import func, select

from tendering.bids import submission, upload_state, uploads
from tendering.bids.models import BidVersion
from tendering.bids.submission import Client, finalise_upload
from tendering.bids.uploads import UploadStatus, create_upload, partial_path, write_chunk
from tendering.errors import Conflict, InvalidInput
from tendering.platform import Platform
from tests.submission.conftest import OpenTender
from tests.submission.helpers import (
    Bidder,
    sealed,
    send_chunk,
    signed_body,
    start_upload,
    submission_statement,
)
from tests.tenders.conftest import Parties


def _body(*pieces: bytes, before: Callable[[], Any] | None = None) -> AsyncIterator[bytes]:
    async def generate() -> AsyncIterator[bytes]:
        if before is not None:
            await before()
        for piece in pieces:
            yield piece

    return generate()


def _upload(platform: Platform, parties: Parties, tender: OpenTender, envelope: bytes) -> UploadStatus:
    return create_upload(
        platform,
        bidder_id=parties.tenderers[0],
        tender_id=tender.id,
        size=len(envelope),
        sha256=hashlib.sha256(envelope).hexdigest(),
        address=None,
        user_agent=None,
    )


def _chunk(platform: Platform, parties: Parties, upload_id: uuid.UUID, offset: int, data: bytes) -> Any:
    """Write one chunk in its own event loop; returns the status or the refusal."""

    async def run() -> Any:
        try:
            return await write_chunk(platform, upload_id, parties.tenderers[0], offset, _body(data))
        except Conflict as exc:
            return exc

    return anyio.run(run)


@pytest.mark.parametrize("same_bytes", [True, False])
def test_a_chunk_reads_its_row_only_once_it_holds_the_upload_and_compares_what_was_acknowledged(
    platform: Platform,
    parties: Parties,
    tender: OpenTender,
    monkeypatch: pytest.MonkeyPatch,
    same_bytes: bool,
) -> None:
    """No chunk can act on an offset loaded before another chunk committed: the only read of the
    session row happens under the hold; a late re-send of acknowledged bytes is then compared."""
    envelope = sealed(tender.opening, b"q" * 3000)
    upload = _upload(platform, parties, tender, envelope)
    real_open = uploads.open_session
    held_at_read: list[bool] = []

    def watched_open(*args: Any, **kwargs: Any) -> Any:
        held_at_read.append(upload_state._thread_lock(upload.id).locked())
        return real_open(*args, **kwargs)

    monkeypatch.setattr(uploads, "open_session", watched_open)
    first = _chunk(platform, parties, upload.id, 0, envelope[:1000])
    assert isinstance(first, UploadStatus) and first.offset == 1000
    retried = envelope[:1000] if same_bytes else b"Y" * 1000
    late = _chunk(platform, parties, upload.id, 0, retried)  # the retry of a send whose answer was lost
    assert held_at_read == [True, True]  # one read per chunk, each with the upload held
    if same_bytes:
        assert isinstance(late, UploadStatus) and late.offset == 1000  # harmless
    else:
        assert isinstance(late, Conflict) and late.code == "upload-offset-mismatch"
        assert late.extra["offset"] == 1000
    assert partial_path(platform, upload.id).read_bytes()[:1000] == envelope[:1000]
    assert uploads.upload_status(platform, upload.id, parties.tenderers[0]).offset == 1000


def test_two_writers_of_the_same_chunk_never_interleave(
    platform: Platform, parties: Parties, tender: OpenTender
) -> None:
    envelope = sealed(tender.opening, b"w" * 3000)
    upload = _upload(platform, parties, tender, envelope)
    bidder = parties.tenderers[0]
    results: dict[str, Any] = {}

    async def run() -> None:
        started, release = anyio.Event(), anyio.Event()

        async def hold_open() -> None:
            started.set()
            await release.wait()

        async def first() -> None:
            body = _body(envelope[:600], envelope[600:1500], before=hold_open)
            results["first"] = await write_chunk(platform, upload.id, bidder, 0, body)

        async with anyio.create_task_group() as group:
            group.start_soon(first)
            await started.wait()
            for name, (offset, data) in {"same": (0, envelope[:1500]), "overlap": (500, b"Z" * 1500)}.items():
                try:
                    await write_chunk(platform, upload.id, bidder, offset, _body(data))
                except Conflict as exc:
                    results[name] = exc.code
            release.set()
        results["after"] = await write_chunk(platform, upload.id, bidder, 500, _body(b"Z" * 1500))

    with pytest.raises(Conflict) as caught:
        anyio.run(run)
    assert results["same"] == results["overlap"] == "upload-busy"
    assert results["first"].offset == 1500
    assert caught.value.code == "upload-offset-mismatch"  # the overlap's bytes differ from what arrived
    assert partial_path(platform, upload.id).read_bytes()[:1500] == envelope[:1500]


_HOLDER = """
import fcntl, sys
with open(sys.argv[1], "r+b") as handle:
    fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
    print("held", flush=True)
    sys.stdin.readline()
"""


def test_a_chunk_or_finalisation_while_another_worker_holds_the_upload_is_busy(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],
) -> None:
    """Another process (a second uvicorn worker) holding the partial file keeps this one out."""
    bidder = bidders[0]
    envelope = sealed(tender.opening, b"p" * 2000)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    assert send_chunk(app_client, bidder, upload_id, 0, envelope[:-10]).status_code == 204
    path = partial_path(platform, uuid.UUID(upload_id))
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = send_chunk(app_client, bidder, upload_id, len(envelope) - 10, envelope[-10:])
        assert busy.status_code == 409 and busy.json()["code"] == "upload-busy"
        # another bidder learns nothing, not even that the upload is busy
        stranger = send_chunk(app_client, bidders[1], upload_id, len(envelope) - 10, envelope[-10:])
        assert stranger.status_code == 404, stranger.text
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(30)
    assert send_chunk(app_client, bidder, upload_id, len(envelope) - 10, envelope[-10:]).status_code == 204
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    body = signed_body(statement, bidder.signer)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        busy = app_client.post(f"/bids/uploads/{upload_id}/finalise", json=body, headers=bidder.headers)
        assert busy.status_code == 409 and busy.json()["code"] == "upload-busy"
        stranger = app_client.post(
            f"/bids/uploads/{upload_id}/finalise", json=body, headers=bidders[1].headers
        )
        assert stranger.status_code == 404, stranger.text
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.close()
        holder.wait(30)
    done = app_client.post(f"/bids/uploads/{upload_id}/finalise", json=body, headers=bidder.headers)
    assert done.status_code == 201, done.text


@pytest.mark.parametrize("state", ["missing", "stale"])
def test_the_digest_catches_up_after_a_restart_or_another_worker(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],
    state: str,
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening, bytes(range(256)) * 40)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    key = uuid.UUID(upload_id)
    assert send_chunk(app_client, bidder, upload_id, 0, envelope[:4000]).status_code == 204
    assert upload_state._STATES[key].offset == 4000
    if state == "missing":
        upload_state.forget(key)  # as after a restart
    else:
        upload_state.install(key, 1000, hashlib.sha256(b"another worker's old state"))
    assert send_chunk(app_client, bidder, upload_id, 3000, envelope[3000:]).status_code == 204
    assert upload_state._STATES[key].offset == len(envelope)
    assert upload_state._STATES[key].digest.hexdigest() == hashlib.sha256(envelope).hexdigest()
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    answer = app_client.post(
        f"/bids/uploads/{upload_id}/finalise",
        json=signed_body(statement, bidder.signer),
        headers=bidder.headers,
    )
    assert answer.status_code == 201, answer.text
    with platform.blobs.open(hashlib.sha256(envelope).hexdigest()) as stored:
        assert stored.read() == envelope
    assert key not in upload_state._STATES


def test_a_chunk_in_many_pieces_past_the_write_block_is_written_and_hashed_in_order(
    platform: Platform, parties: Parties, tender: OpenTender
) -> None:
    # pieces are gathered by reference into write blocks: their order, a block boundary inside a
    # piece and a re-sent overlap must all come out as the envelope's bytes and digest
    envelope = sealed(tender.opening, os.urandom(uploads._GATHER * 2 + 12_345))
    status = _upload(platform, parties, tender, envelope)
    cut = uploads._GATHER + uploads._WRITE_BLOCK + 777
    head = envelope[:cut]
    pieces = [head[i : i + 65_521] for i in range(0, cut, 65_521)]
    first = anyio.run(write_chunk, platform, status.id, parties.tenderers[0], 0, _body(*pieces))
    assert first.offset == cut
    resend_from = cut - 100_000  # overlaps what was acknowledged, then carries the rest
    rest = envelope[resend_from:]
    tail = [rest[i : i + 300_007] for i in range(0, len(rest), 300_007)]
    second = anyio.run(write_chunk, platform, status.id, parties.tenderers[0], resend_from, _body(*tail))
    assert second.offset == len(envelope)
    assert partial_path(platform, status.id).read_bytes() == envelope
    assert upload_state._STATES[status.id].digest.hexdigest() == hashlib.sha256(envelope).hexdigest()


@pytest.mark.parametrize("at_budget", [False, True])
def test_a_chunk_writes_every_gather_and_every_block_once_the_process_is_at_its_budget(
    platform: Platform,
    parties: Parties,
    tender: OpenTender,
    monkeypatch: pytest.MonkeyPatch,
    at_budget: bool,
) -> None:
    if at_budget:
        monkeypatch.setattr(uploads, "_GATHER_BUDGET", 0)  # as if many uploads held the budget already
    envelope = sealed(tender.opening, os.urandom(uploads._GATHER * 2 + 12_345))
    status = _upload(platform, parties, tender, envelope)
    trips: list[tuple[int, bool]] = []
    real_write_all = uploads._ChunkWriter.write_all

    def write_all(writer: Any, pieces: list[bytes], *, last: bool = False) -> None:
        trips.append((sum(len(piece) for piece in pieces), last))
        real_write_all(writer, pieces, last=last)

    monkeypatch.setattr(uploads._ChunkWriter, "write_all", write_all)
    piece = 65_521
    pieces = [envelope[i : i + piece] for i in range(0, len(envelope), piece)]
    done = anyio.run(write_chunk, platform, status.id, parties.tenderers[0], 0, _body(*pieces))
    assert done.offset == len(envelope)
    due = uploads._WRITE_BLOCK if at_budget else uploads._GATHER
    between = [size for size, last in trips if not last]
    assert len(between) == len(envelope) // (-(-due // piece) * piece)
    assert all(due <= size < due + piece for size in between)
    assert trips[-1][1] and sum(size for size, _ in trips) == len(envelope)
    assert uploads._Gathered.total == 0  # nothing of the chunk is counted once it is written
    assert partial_path(platform, status.id).read_bytes() == envelope


def test_a_refused_chunk_leaves_nothing_counted_as_gathered(
    platform: Platform, parties: Parties, tender: OpenTender
) -> None:
    envelope = sealed(tender.opening, os.urandom(uploads._WRITE_BLOCK * 2))
    status = _upload(platform, parties, tender, envelope)
    too_long = [envelope[i : i + 65_521] for i in range(0, len(envelope), 65_521)] + [b"beyond"]
    with pytest.raises(InvalidInput) as refused:
        anyio.run(write_chunk, platform, status.id, parties.tenderers[0], 0, _body(*too_long))
    assert refused.value.code == "upload-beyond-size"
    assert uploads._Gathered.total == 0


def test_a_chunk_is_dropped_from_the_page_cache_only_after_it_is_fsynced(
    platform: Platform, parties: Parties, tender: OpenTender, monkeypatch: pytest.MonkeyPatch
) -> None:
    envelope = sealed(tender.opening, os.urandom(50_000))
    status = _upload(platform, parties, tender, envelope)
    calls: list[tuple[Any, ...]] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        calls.append(("fsync",))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(
        uploads, "_DROP_FROM_CACHE", lambda fd, at, length, advice: calls.append((at, length, advice))
    )
    first = anyio.run(write_chunk, platform, status.id, parties.tenderers[0], 0, _body(envelope[:20_000]))
    resent = anyio.run(
        write_chunk, platform, status.id, parties.tenderers[0], 15_000, _body(envelope[15_000:])
    )
    assert first.offset == 20_000 and resent.offset == len(envelope)
    dontneed = os.POSIX_FADV_DONTNEED
    # each chunk's whole range, re-sent overlap included, and never before its fsync
    assert calls == [
        ("fsync",),
        (0, 20_000, dontneed),
        ("fsync",),
        (15_000, len(envelope) - 15_000, dontneed),
    ]
    assert partial_path(platform, status.id).read_bytes() == envelope


def _is_direct(fd: int) -> bool:
    return bool(fcntl.fcntl(fd, fcntl.F_GETFL) & getattr(os, "O_DIRECT", 0))


def _direct_io_here(directory: Path) -> bool:
    if not hasattr(os, "O_DIRECT"):
        return False
    probe = directory / "direct-probe"
    probe.touch()
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_DIRECT))
    except OSError:
        return False
    return True


def _recording_pwrite(
    monkeypatch: pytest.MonkeyPatch, refuse_direct: bool = False
) -> list[tuple[bool, int, int]]:
    """Record every pwrite as (direct?, offset, length); optionally refuse direct ones with EINVAL."""
    writes: list[tuple[bool, int, int]] = []
    real_pwrite = os.pwrite

    def pwrite(fd: int, data: Any, at: int) -> int:
        direct = _is_direct(fd)
        if direct and refuse_direct:
            raise OSError(errno.EINVAL, "Invalid argument")
        written = real_pwrite(fd, data, at)
        writes.append((direct, at, written))
        return written

    monkeypatch.setattr(os, "pwrite", pwrite)
    return writes


def _open_descriptors() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.parametrize("resumed_at", [0, 777])
def test_whole_aligned_blocks_go_straight_to_the_disk_and_the_unaligned_rest_through_the_page_cache(
    platform: Platform,
    parties: Parties,
    tender: OpenTender,
    monkeypatch: pytest.MonkeyPatch,
    resumed_at: int,
) -> None:
    # pieces of an odd size, gathered into several writes per chunk: what ends off an aligned offset
    # waits for the next write, so only a resumed chunk's first block and the envelope's last bytes
    # (here also a re-sent overlap, compared, not written) miss the direct path
    if not _direct_io_here(uploads.upload_dir(platform)):
        pytest.skip("the upload directory's file system has no direct I/O")
    align = uploads._DIRECT_ALIGN
    envelope = sealed(tender.opening, os.urandom(uploads._GATHER * 2 + 12_345))
    status = _upload(platform, parties, tender, envelope)
    if resumed_at:
        _chunk(platform, parties, status.id, 0, envelope[:resumed_at])
    writes = _recording_pwrite(monkeypatch)
    descriptors = _open_descriptors()
    start = max(0, resumed_at - 100)
    rest = envelope[start:]
    pieces = [rest[i : i + 65_521] for i in range(0, len(rest), 65_521)]
    done = anyio.run(write_chunk, platform, status.id, parties.tenderers[0], start, _body(*pieces))
    assert done.offset == len(envelope)
    aligned_end = len(envelope) - len(envelope) % align
    first_direct = uploads._WRITE_BLOCK if resumed_at else 0  # a resumed chunk's first block ends there
    direct = sorted((at, length) for is_direct, at, length in writes if is_direct)
    buffered = sorted((at, length) for is_direct, at, length in writes if not is_direct)
    assert all(at % align == 0 and length % align == 0 for at, length in direct)
    assert direct[0][0] == first_direct
    assert sum(length for _, length in direct) == aligned_end - first_direct
    expected_buffered = [(aligned_end, len(envelope) - aligned_end)]
    if resumed_at:
        expected_buffered.insert(0, (resumed_at, first_direct - resumed_at))
    assert buffered == expected_buffered
    assert _open_descriptors() == descriptors  # the direct descriptor is closed with the chunk
    assert partial_path(platform, status.id).read_bytes() == envelope
    assert upload_state._STATES[status.id].digest.hexdigest() == hashlib.sha256(envelope).hexdigest()


def test_no_direct_descriptor_is_opened_for_a_path_that_no_longer_names_the_held_file(
    platform: Platform,
) -> None:
    if not _direct_io_here(uploads.upload_dir(platform)):
        pytest.skip("the upload directory's file system has no direct I/O")
    held_path, other = uploads.upload_dir(platform) / "held.part", uploads.upload_dir(platform) / "other.part"
    held_path.touch()
    other.touch()
    with held_path.open("r+b") as held:
        descriptors = _open_descriptors()
        assert uploads._open_direct(other, held.fileno()) is None  # e.g. swept and replaced meanwhile
        assert _open_descriptors() == descriptors
        direct = uploads._open_direct(held_path, held.fileno())
        assert direct is not None and _is_direct(direct)
        os.close(direct)


@pytest.mark.parametrize("refusal", ["no-direct-io", "write-refused"])
def test_where_direct_writes_are_refused_the_chunk_goes_through_the_page_cache_whole(
    platform: Platform,
    parties: Parties,
    tender: OpenTender,
    monkeypatch: pytest.MonkeyPatch,
    refusal: str,
) -> None:
    if refusal == "no-direct-io":
        monkeypatch.setattr(uploads, "_O_DIRECT", None)  # macOS, Windows
    elif not _direct_io_here(uploads.upload_dir(platform)):
        pytest.skip("the upload directory's file system has no direct I/O")
    envelope = sealed(tender.opening, os.urandom(uploads._GATHER * 2 + 12_345))
    status = _upload(platform, parties, tender, envelope)
    writes = _recording_pwrite(monkeypatch, refuse_direct=refusal == "write-refused")
    descriptors = _open_descriptors()
    pieces = [envelope[i : i + 65_521] for i in range(0, len(envelope), 65_521)]
    done = anyio.run(write_chunk, platform, status.id, parties.tenderers[0], 0, _body(*pieces))
    assert done.offset == len(envelope)
    assert not any(is_direct for is_direct, _, _ in writes)
    assert sum(length for _, _, length in writes) == len(envelope)
    assert _open_descriptors() == descriptors
    assert partial_path(platform, status.id).read_bytes() == envelope
    assert upload_state._STATES[status.id].digest.hexdigest() == hashlib.sha256(envelope).hexdigest()


def test_the_finalisation_needs_no_second_read_of_the_envelope(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    tender: OpenTender,
    bidders: list[Bidder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """With the running digest in place the blob store adopts the file: no put, no file hashing."""
    bidder = bidders[0]
    envelope = sealed(tender.opening, b"n" * 6000)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    assert send_chunk(app_client, bidder, upload_id, 0, envelope).status_code == 204

    def no_put(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the envelope was copied into the blob store")

    def no_hashing(*args: Any) -> Any:
        raise AssertionError("the partial file was hashed again")

    monkeypatch.setattr(platform.blobs, "put", no_put)
    monkeypatch.setattr(upload_state, "sha256", no_hashing)
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    answer = app_client.post(
        f"/bids/uploads/{upload_id}/finalise",
        json=signed_body(statement, bidder.signer),
        headers=bidder.headers,
    )
    assert answer.status_code == 201, answer.text
    assert not partial_path(platform, uuid.UUID(upload_id)).exists()
    with platform.blobs.open(hashlib.sha256(envelope).hexdigest()) as stored:
        assert stored.read() == envelope


def test_a_finalisation_that_fails_after_adoption_can_be_retried(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    parties: Parties,
    tender: OpenTender,
    bidders: list[Bidder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening, b"r" * 3000)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    assert send_chunk(app_client, bidder, upload_id, 0, envelope).status_code == 204
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    body = signed_body(statement, bidder.signer)
    real_record = submission._record_submission

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise OSError("the database went away")

    monkeypatch.setattr(submission, "_record_submission", crash)
    with pytest.raises(OSError, match="went away"):
        finalise_upload(
            platform,
            uuid.UUID(upload_id),
            bidder_id=parties.tenderers[0],
            statement_raw=statement,
            signature=base64.b64decode(body["signature"]),
            client=Client(),
        )
    digest = hashlib.sha256(envelope).hexdigest()
    assert platform.blobs.exists(digest) and not partial_path(platform, uuid.UUID(upload_id)).exists()
    # a chunk now changes nothing: the upload is complete, and the adopted blob is not its file
    late = send_chunk(app_client, bidder, upload_id, 0, b"X" * 100)
    assert late.status_code == 409 and late.json()["code"] == "upload-finished"
    monkeypatch.setattr(submission, "_record_submission", real_record)
    answer = app_client.post(f"/bids/uploads/{upload_id}/finalise", json=body, headers=bidder.headers)
    assert answer.status_code == 201, answer.text
    with platform.blobs.open(digest) as stored:
        assert stored.read() == envelope
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(BidVersion)) == 1


def test_no_chunk_gets_in_while_the_envelope_is_adopted_or_after(
    app_client: TestClient,  # type: ignore[type-arg]
    platform: Platform,
    parties: Parties,
    tender: OpenTender,
    bidders: list[Bidder],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bidder = bidders[0]
    envelope = sealed(tender.opening, b"a" * 3000)
    upload_id = start_upload(app_client, bidder, tender.id, envelope).json()["id"]
    assert send_chunk(app_client, bidder, upload_id, 0, envelope).status_code == 204
    real_adopt = platform.blobs.adopt
    during: list[Any] = []

    def adopt(path: Path, *, sha256: str) -> Any:
        late = threading.Thread(  # a chunk arriving on another connection right now
            target=lambda: during.append(_chunk(platform, parties, uuid.UUID(upload_id), 0, b"X" * 100))
        )
        late.start()
        late.join(30)
        return real_adopt(path, sha256=sha256)

    monkeypatch.setattr(platform.blobs, "adopt", adopt)
    statement = submission_statement(tender.id, envelope, bidder.uscc)
    answer = app_client.post(
        f"/bids/uploads/{upload_id}/finalise",
        json=signed_body(statement, bidder.signer),
        headers=bidder.headers,
    )
    assert answer.status_code == 201, answer.text
    (refused,) = during
    assert isinstance(refused, Conflict) and refused.code == "upload-busy"
    after = send_chunk(app_client, bidder, upload_id, 0, b"X" * 100)
    assert after.status_code == 409 and after.json()["code"] == "upload-finished"
    with platform.blobs.open(hashlib.sha256(envelope).hexdigest()) as stored:
        assert stored.read() == envelope
