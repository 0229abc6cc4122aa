"""Benchmark bid submissions: many concurrent bidders through the real server stack, against a no-op.

Run with ``.venv/bin/python -m bench.bench_submission --database-url postgresql://postgres@127.0.0.1:5432/postgres
[--redis-url redis://127.0.0.1:6379/0] [--bidders 200] [--small-kib 16] [--large-mib 20] [--client-processes 2]
[--server-processes N] [--rounds 3]``.

The app runs under uvicorn (HTTP over loopback) in ``--server-processes`` application processes
(default: one per CPU), each on its own port with its own task worker and maintenance thread, the
bidders spread over them round-robin as a balancer in front of several ``sealbid serve`` processes
would; all share one PostgreSQL database (created and dropped here), the blob store on local disk and,
if given, Redis for tasks. Every bidder is a registered tenderer with its own certificate and login
(made at its own server process); the tender is published with a real custodians' ceremony. Each
bidder uploads its own sealed envelope (create, PATCH chunks, finalise with a signed statement);
the statements are signed before the clock starts (that is the bidder's machine's work). The bidders
run in their own processes (``--client-processes``, default 2, the bidders split between them), so
the load generator neither shares the server's interpreter lock nor caps the no-op's rate.

Baseline, same run, same stack and same bytes: a no-op upload endpoint mounted only in this benchmark's
app, behind the same tenderer guard, that reads and discards the chunks and answers the finalisation
with a constant. Printed: for small bids and then 20 MB bids, ``--rounds`` pairs of a no-op round and a
real round back to back (each real round replaces every bidder's bid), submissions/s for both and the
ratio of each pair, then the median ratio (target >= 0.5x); pairing keeps a shared machine's drift out
of the ratio, and every pair uploads envelopes sealed afresh, so the blob store never already holds
one. Then a count in the database: every bidder has exactly one bid with exactly one version per real
round - none lost, none duplicated - every stored envelope read back against its recorded SHA-256
and size, and the application processes' peak resident memory.
No assertions on time.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import hashlib
import io
import logging
import multiprocessing
import os
import secrets
import shutil
import socket
import statistics
import tempfile
import threading
import time
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import structlog
import uvicorn
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from litestar import Controller, Request, Response, patch, post
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.engine import make_url

from api.app import create_app
from api.auth import requires
from crypto.cms import Signer, seal, sign_detached
from crypto.identity import IdentityKind, identify
from crypto.pki import BuiltPki, LeafPurpose, LeafSpec, build_pki
from crypto.pki.dev import dev_pki_spec
from crypto.receipt import SUBMISSION_TYPE, canonical
from crypto.uscc import make_org_code, make_uscc
from tendering.bids.models import Bid, BidVersion
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.identity.service import grant_by_certificate
from tendering.migrations import upgrade
from tendering.platform import Platform, build_platform
from tendering.settings import load_settings
from tests.bids.fixtures import enrol_custodian_encryption, register_opening_key
from tests.tenders.conftest import Parties
from tests.tenders.helpers import published

CHUNK = 8 << 20


class NoopUploadController(Controller):
    """The baseline: the same requests and bytes, nothing checked or stored (benchmark only)."""

    path = "/bench/noop-uploads"
    guards = [requires("tenderer")]  # noqa: RUF012

    @post("/")
    async def create(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Answer like the upload creation."""
        await request.json()
        return Response({"id": str(uuid.uuid4()), "offset": 0}, status_code=201)

    @patch("/{upload_id:uuid}", status_code=204, request_max_body_size=None)
    async def chunk(self, request: Request[Any, Any, Any]) -> Response[None]:
        """Read and discard the chunk."""
        size = 0
        async for piece in request.stream():
            size += len(piece)
        offset = int(request.headers.get("upload-offset", "0"))
        return Response(None, status_code=204, headers={"Upload-Offset": str(offset + size)})

    @post("/{upload_id:uuid}/finalise")
    async def finalise(self, request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
        """Answer like the finalisation."""
        await request.json()
        return Response({"receipt": "noop"}, status_code=201)


@dataclass
class Bidder:
    name: str
    credential_name: str
    token: str = ""
    uscc: str = ""
    #: The server process this bidder talks to (a round-robin balancer's choice), as its base URL.
    server: str = ""


def _pki(bidders: int) -> BuiltPki:
    spec = dev_pki_spec("http://127.0.0.1:8000/dev-pki", ManualClock().now())
    (root,) = spec.roots
    (issuing,) = root.children
    extra = tuple(
        LeafSpec(
            name=f"bidder-{i}",
            kind=IdentityKind.ENTERPRISE,
            display_name=f"基准投标人 {i:03d} 有限公司",
            uscc=make_uscc(f"91350100{make_org_code(f'BN{i:06d}')}"),
            roles=("tenderer",),
            purpose=LeafPurpose.SIGNING,
        )
        for i in range(bidders)
    )
    issuing = replace(issuing, leaves=(*issuing.leaves, *extra))
    return build_pki(replace(spec, roots=(replace(root, children=(issuing,)),)))


def _register(platform: Platform, pki: BuiltPki, name: str, role: str) -> uuid.UUID:
    der = pki.signing(name).certificate.public_bytes(Encoding.DER)
    return grant_by_certificate(platform, der, [role], actor=Actor.system("console"), basis="console").id


def _tender(platform: Platform, clock: ManualClock, pki: BuiltPki) -> tuple[uuid.UUID, Any]:
    names = {"agency": "agency", "tenderee": "agency", "reviewer": "authority", "monitor": "monitor"}
    ids = {name: _register(platform, pki, name, role) for name, role in names.items()}
    custodians = tuple(_register(platform, pki, f"custodian-{i}", "custodian") for i in (1, 2, 3))
    parties = Parties(
        agency=ids["agency"],
        other_agency=ids["tenderee"],
        tenderee=ids["tenderee"],
        tenderee_uscc=identify(pki.signing("tenderee").certificate).identifier,
        authority=ids["reviewer"],
        custodians=custodians,
        tenderers=(),
        monitor=ids["monitor"],
        fingerprints={},
    )
    enrol_custodian_encryption(platform, pki)
    tender_id = published(platform, clock, parties)
    keyed = register_opening_key(platform, pki, parties, tender_id)
    return tender_id, keyed.opening_certificate


def _login(client: httpx.Client, pki: BuiltPki, name: str) -> str:
    credential = pki.signing(name)
    issued = client.post("/auth/challenge").json()
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = key.sign(base64.b64decode(issued["signing_input"]), ec.ECDSA(hashes.SHA256()))
    answer = client.post(
        "/auth/login",
        json={
            "challenge_id": issued["challenge"]["id"],
            "certificate": base64.b64encode(credential.certificate.public_bytes(Encoding.DER)).decode(),
            "signature": base64.b64encode(signature).decode(),
            "signature_algorithm": "ecdsa-sha256",
        },
    )
    assert answer.status_code == 200, answer.text
    return str(answer.json()["token"])


def _seal_files(directory: Path, opening: Any, count: int, size: int, body: bytes) -> list[Path]:
    """``count`` envelopes of ``size`` plaintext bytes: a bidder's number, then ``body`` (random bytes
    shared by the phase), each sealed with its own random content key, so no two are alike."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = directory / f"bid-{i}.sealed"
        with path.open("wb") as sink:
            seal(io.BytesIO(i.to_bytes(8, "big") + body[: size - 8]), sink, [opening])
        paths.append(path)
    return paths


@functools.cache
def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while piece := handle.read(1 << 20):
            digest.update(piece)
    return digest.hexdigest()


def _statement(pki: BuiltPki, bidder: Bidder, tender_id: uuid.UUID, path: Path) -> dict[str, str]:
    digest = _digest(path)
    statement = canonical(
        {
            "type": SUBMISSION_TYPE,
            "tender": str(tender_id),
            "lots": [1],
            "envelope_sha256": digest,
            "envelope_size": path.stat().st_size,
            "bidder_uscc": bidder.uscc,
            "nonce": secrets.token_urlsafe(24),
            "client_time": "2026-01-05T01:00:00Z",
            "client": {"name": "bench", "version": "1"},
            "machine_code": hashlib.sha256(bidder.name.encode()).hexdigest(),
        }
    )
    credential = pki.signing(bidder.credential_name)
    key = credential.private_key
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    signature = sign_detached(
        statement, Signer(credential.certificate, key, tuple(pki.chain(credential.name)))
    )
    return {
        "statement": base64.b64encode(statement).decode(),
        "signature": base64.b64encode(signature).decode(),
        "sha256": digest,
        "size": str(path.stat().st_size),
    }


async def _chunks(path: Path, start: int, length: int) -> AsyncIterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            piece = handle.read(min(remaining, 1 << 20))
            remaining -= len(piece)
            yield piece


RETRIES: dict[str, int] = {"count": 0}


async def _send(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send, retrying a dropped connection twice (a re-sent chunk is harmless by the protocol)."""
    for attempt in range(3):
        try:
            return await client.request(method, url, **kwargs)
        except httpx.TransportError:
            if attempt == 2:
                raise
            RETRIES["count"] += 1
    raise AssertionError("unreachable")


async def _submit_one(
    client: httpx.AsyncClient,
    base: str,
    bidder: Bidder,
    tender_id: uuid.UUID,
    path: Path,
    body: dict[str, str],
) -> bool:
    headers = {"Authorization": f"Bearer {bidder.token}"}
    size = int(body["size"])
    declared = {"tender": str(tender_id), "size": size, "sha256": body["sha256"]}
    try:
        base = bidder.server + base
        created = await _send(client, "POST", f"{base}/", json=declared, headers=headers)
        if created.status_code != 201:
            print(f"  {bidder.name}: create {created.status_code} {created.text[:200]}")
            return False
        upload = created.json()["id"]
        offset = 0
        while offset < size:
            length = min(CHUNK, size - offset)
            start = offset
            sent = await _send_chunk(client, f"{base}/{upload}", path, start, length, headers)
            if sent.status_code != 204:
                print(f"  {bidder.name}: chunk {sent.status_code} {sent.text[:200]}")
                return False
            offset = int(sent.headers["Upload-Offset"])
        signed = {"statement": body["statement"], "signature": body["signature"]}
        done = await _send(client, "POST", f"{base}/{upload}/finalise", json=signed, headers=headers)
    except httpx.TransportError as exc:
        print(f"  {bidder.name}: connection failed three times: {exc!r}")
        return False
    if done.status_code != 201:
        print(f"  {bidder.name}: finalise {done.status_code} {done.text[:200]}")
    return done.status_code == 201


async def _send_chunk(
    client: httpx.AsyncClient, url: str, path: Path, start: int, length: int, headers: dict[str, str]
) -> httpx.Response:
    chunk_headers = {
        **headers,
        "Upload-Offset": str(start),
        "Content-Type": "application/offset+octet-stream",
    }
    for attempt in range(3):
        try:
            return await client.patch(url, content=_chunks(path, start, length), headers=chunk_headers)
        except httpx.TransportError:
            if attempt == 2:
                raise
            RETRIES["count"] += 1
    raise AssertionError("unreachable")


async def _round(
    base: str,
    bidders: list[Bidder],
    tender_id: uuid.UUID,
    files: list[Path],
    bodies: list[dict[str, str]],
) -> tuple[float, int]:
    limits = httpx.Limits(max_connections=len(bidders), max_keepalive_connections=len(bidders))
    async with httpx.AsyncClient(timeout=httpx.Timeout(600.0), limits=limits) as client:
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                _submit_one(client, base, b, tender_id, f, body)
                for b, f, body in zip(bidders, files, bodies, strict=True)
            )
        )
        elapsed = time.perf_counter() - started
    return elapsed, sum(results)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _server_process(platform: Platform, port: int, ready: Any) -> None:
    """One application process (forked after the setup): the same app as ``sealbid serve`` runs."""
    platform.engine.dispose(close=False)  # the parent's pooled connections are not this process's
    app = create_app(platform=platform, configure_logs=False)
    app.register(NoopUploadController)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    original_startup = server.startup

    async def startup(sockets: Any = None) -> None:
        await original_startup(sockets)
        ready.set()

    server.startup = startup  # type: ignore[method-assign]
    server.run()


def _serve(platform: Platform, processes: int) -> tuple[list[multiprocessing.process.BaseProcess], list[str]]:
    """Start ``processes`` application processes, each on its own port, like several behind a balancer.

    Forked once the setup is done and before any thread runs here, so every process starts from the
    same platform (its in-memory development PKI and manual clock included) and runs its own task
    worker and maintenance thread, as each ``sealbid serve`` process does.
    """
    running = [t.name for t in threading.enumerate() if t is not threading.main_thread()]
    if running:
        msg = f"threads running before the fork: {running}"
        raise RuntimeError(msg)
    context = multiprocessing.get_context("fork")
    servers: list[multiprocessing.process.BaseProcess] = []
    urls: list[str] = []
    for _ in range(processes):
        port = _free_port()
        ready = context.Event()
        process = context.Process(target=_server_process, args=(platform, port, ready), daemon=True)
        process.start()
        if not ready.wait(60):
            msg = f"server process on port {port} did not start"
            raise RuntimeError(msg)
        servers.append(process)
        urls.append(f"http://127.0.0.1:{port}")
    return servers, urls


def _client_round(
    base: str,
    bidders: list[Bidder],
    tender_id: uuid.UUID,
    files: list[Path],
    bodies: list[dict[str, str]],
) -> tuple[float, int, int]:
    """One round in the bidders' own process: elapsed seconds, submissions accepted, retried sends."""
    RETRIES["count"] = 0
    elapsed, ok = asyncio.run(_round(base, bidders, tender_id, files, bodies))
    return elapsed, ok, RETRIES["count"]


def _in_clients(
    clients: tuple[ProcessPoolExecutor, int],
    base: str,
    bidders: list[Bidder],
    tender_id: uuid.UUID,
    files: list[Path],
    bodies: list[dict[str, str]],
) -> tuple[float, int, int]:
    """Run one round with the bidders split over the client processes, all at once."""
    pool, count = clients
    started = time.perf_counter()
    futures = [
        pool.submit(_client_round, base, bidders[i::count], tender_id, files[i::count], bodies[i::count])
        for i in range(count)
    ]
    results = [f.result() for f in futures]
    elapsed = time.perf_counter() - started
    return elapsed, sum(r[1] for r in results), sum(r[2] for r in results)


def _stored_intact(platform: Platform, sha256: str | None, size: int | None) -> bool:
    """Whether the blob store holds the envelope ``sha256`` with exactly these bytes (read back)."""
    if sha256 is None or not platform.blobs.exists(sha256):
        return False
    digest, length = hashlib.sha256(), 0
    with platform.blobs.open(sha256) as stored:
        while piece := stored.read(1 << 20):
            digest.update(piece)
            length += len(piece)
    return digest.hexdigest() == sha256 and length == size


def _peak_memory_mib(pid: int | None) -> float | None:
    """A process's peak resident memory so far (Linux ``/proc``; None elsewhere)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return None


def _warm(_: int) -> int:
    """Nothing: makes the pool start its processes before the clock runs."""
    return os.getpid()


def _phase(
    label: str,
    bidders: list[Bidder],
    tender_id: uuid.UUID,
    sealing: tuple[Path, Any, int],
    pki: BuiltPki,
    clients: tuple[ProcessPoolExecutor, int],
    rounds: int,
) -> None:
    """``rounds`` pairs of a no-op round and a real round, back to back; the ratio is their median.

    Pairing each real round with a no-op round just before it keeps slow drift of a shared machine
    (other tenants, page cache, the database growing) out of the ratio. Every pair uploads envelopes
    sealed afresh (``sealing``: directory, opening certificate, size), as a bidder replacing its bid
    does, so no real round meets a blob the store already holds; every real round is one more version
    of every bidder's bid, signed with a fresh statement."""
    directory, opening, size = sealing
    body = os.urandom(size)
    ratios = []
    for number in range(1, rounds + 1):
        files = _seal_files(directory / f"round-{number}", opening, len(bidders), size, body)
        bodies = [_statement(pki, b, tender_id, f) for b, f in zip(bidders, files, strict=True)]
        rounds_run = {}
        for base in ("/bench/noop-uploads", "/bids/uploads"):
            rounds_run[base] = _in_clients(clients, base, bidders, tender_id, files, bodies)
        shutil.rmtree(directory / f"round-{number}")  # the stored copies are in the blob store
        (noop_time, noop_ok, noop_retries), (real_time, real_ok, real_retries) = rounds_run.values()
        noop_rate, real_rate = noop_ok / noop_time, real_ok / real_time
        ratios.append(real_rate / noop_rate)
        print(
            f"{label}, round {number}/{rounds}: no-op {noop_rate:6.1f} submissions/s ({noop_ok}/{len(bidders)} "
            f"in {noop_time:.1f} s); sealbid {real_rate:6.1f} submissions/s ({real_ok}/{len(bidders)} in "
            f"{real_time:.1f} s); ratio {real_rate / noop_rate:.2f}x; dropped connections retried: "
            f"{noop_retries} / {real_retries}"
        )
    print(
        f"{label}: median ratio {statistics.median(ratios):.2f}x over {rounds} rounds "
        f"(min {min(ratios):.2f}x, max {max(ratios):.2f}x; target >= 0.5x)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default=None)
    parser.add_argument("--bidders", type=int, default=200)
    parser.add_argument("--small-kib", type=int, default=16)
    parser.add_argument("--large-mib", type=int, default=20)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--server-processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--rounds", type=int, default=3, help="no-op/real round pairs per bid size")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))

    admin = create_engine(
        args.database_url.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    database = f"sealbid_bench_submit_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{database}"'))
    work = Path(tempfile.mkdtemp(prefix="sealbid-bench-submit-"))
    try:
        url = make_url(args.database_url).set(database=database).render_as_string(hide_password=False)
        settings = load_settings(
            None,
            environment="test",
            data_dir=work / "data",
            database_url=url,
            redis_url=args.redis_url,
            redis_namespace=f"sealbid-bench-{uuid.uuid4().hex[:6]}",
        )
        clock = ManualClock()
        platform = build_platform(settings, clock=clock)
        upgrade(platform.engine)
        print(f"building a PKI with {args.bidders} bidders ...")
        pki = _pki(args.bidders)
        platform.certificates.use_dev_pki(pki)
        tender_id, opening = _tender(platform, clock, pki)
        bidders = [Bidder(f"bidder-{i}", f"bidder-{i}") for i in range(args.bidders)]
        for bidder in bidders:
            _register(platform, pki, bidder.name, "tenderer")
            bidder.uscc = identify(pki.signing(bidder.name).certificate).identifier
        platform.engine.dispose()
        servers, urls = _serve(platform, args.server_processes)
        for i, bidder in enumerate(bidders):
            bidder.server = urls[i % len(urls)]
            with httpx.Client(base_url=bidder.server, timeout=60.0) as local:
                bidder.token = _login(local, pki, bidder.name)
        pool = ProcessPoolExecutor(args.client_processes, mp_context=multiprocessing.get_context("spawn"))
        list(pool.map(_warm, range(args.client_processes * 4)))
        clients = (pool, args.client_processes)
        print(
            f"{args.server_processes} application processes (bidders spread round-robin), "
            f"{args.client_processes} client processes, {os.cpu_count()} CPUs"
        )
        _phase(
            f"small bids ({args.small_kib} KiB), {args.bidders} concurrent",
            bidders,
            tender_id,
            (work / "small", opening, args.small_kib << 10),
            pki,
            clients,
            args.rounds,
        )
        _phase(
            f"{args.large_mib} MiB bids, {args.bidders} concurrent",
            bidders,
            tender_id,
            (work / "large", opening, args.large_mib << 20),
            pki,
            clients,
            args.rounds,
        )
        pool.shutdown()
        peaks = [_peak_memory_mib(process.pid) for process in servers]
        if all(peak is not None for peak in peaks):
            print(
                f"application processes' peak resident memory (VmHWM): {', '.join(f'{p:.0f} MiB' for p in peaks)}"
            )
        for process in servers:
            process.terminate()  # SIGTERM: uvicorn's graceful shutdown, as for a deployed process
        for process in servers:
            process.join(30)
        with platform.session_factory() as session:
            bids = session.scalar(select(func.count()).select_from(Bid).where(Bid.tender_id == tender_id))
            versions = dict(
                session.execute(
                    select(BidVersion.version, func.count())
                    .join(Bid)
                    .where(Bid.tender_id == tender_id)
                    .group_by(BidVersion.version)
                ).all()
            )
            bidders_seen = session.scalar(
                select(func.count(func.distinct(Bid.bidder_id))).where(Bid.tender_id == tender_id)
            )
            stored = session.execute(
                select(BidVersion.envelope_sha256, BidVersion.envelope_size)
                .join(Bid)
                .where(Bid.tender_id == tender_id)
            ).all()
        expected = 2 * args.rounds  # one version per real round of each bid size
        lost_bids = args.bidders - (bids or 0)
        lost_versions = sum(max(0, args.bidders - versions.get(v, 0)) for v in range(1, expected + 1))
        duplicated = (bids or 0) - (bidders_seen or 0) + sum(n for v, n in versions.items() if v > expected)
        print(
            f"database: {bids} bids from {bidders_seen} bidders, versions {versions} (expected 1..{expected}, "
            f"{args.bidders} each); lost {lost_bids} bids and {lost_versions} versions, duplicated {duplicated}"
        )
        intact = sum(_stored_intact(platform, digest, size) for digest, size in stored)
        print(
            f"blob store: {intact} of {len(stored)} stored envelopes re-read match their recorded SHA-256 and size"
        )
        platform.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
        admin.dispose()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
