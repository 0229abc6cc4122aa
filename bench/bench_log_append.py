"""Benchmark durable transparency-log appends on PostgreSQL against raw INSERTs of the same rows.

Run with::

    uv run python -m bench.bench_log_append --database-url postgresql://postgres@127.0.0.1/sealbid_bench \\
        [--entries 30000] [--batch 1000] [--threads 8] [--concurrent-entries 4000]

The named database is created (it must not exist), migrated, used and dropped. Three measurements:

* raw: the canonical-JSON entries, already encoded, INSERTed into a plain table with executemany in
  batches of ``--batch``, one commit per batch: the floor any durable log pays;
* log: the full durable path per batch: ``submit_many`` in one domain transaction (entry encoding,
  actor commitments, pending rows, outbox task) and then ``sequence`` (entries, audit rows, perfect
  nodes and a signed checkpoint, one transaction per batch);
* concurrent: ``--threads`` threads each committing single-event transactions while one sequencer
  thread integrates whatever is pending; measured until every entry is integrated. Run twice: as
  deployed (each transaction also writes and relays a ``translog.sequence`` outbox task), and with
  that trigger off, which isolates the log from the task relay.

No assertions: this only reports.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import threading
import time
from pathlib import Path

from sqlalchemy import (
    BigInteger,
    Column,
    Engine,
    LargeBinary,
    MetaData,
    Table,
    create_engine,
    func,
    insert,
    select,
    text,
)
from sqlalchemy.engine import make_url

from tendering.migrations import upgrade
from tendering.platform import Platform, build_platform
from tendering.settings import load_settings
from tendering.translog import LogActor, LogEvent
from tendering.translog.entries import prepare_entry
from tendering.translog.models import LogEntry, LogPending


def event(n: int) -> LogEvent:
    """A bid-submitted event like the real ones: a tenderer, a tender id, an envelope hash."""
    return LogEvent(
        "bid.submitted",
        LogActor("tenderer", f"identity-{n % 997}", f"10.1.{n % 250}.{n % 199}"),
        f"tender-{n % 50:04d}",
        {"envelope_sha256": hashlib.sha256(n.to_bytes(8, "big")).hexdigest(), "lots": ["1"], "version": 1},
    )


def admin_engine(url: str) -> Engine:
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    return create_engine(
        admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def bench_raw(engine: Engine, entries: list[bytes], batch: int) -> float:
    table = Table(
        "bench_raw",
        MetaData(),
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("entry", LargeBinary, nullable=False),
    )
    table.create(engine)
    started = time.perf_counter()
    for start in range(0, len(entries), batch):
        with engine.begin() as conn:
            conn.execute(insert(table), [{"entry": e} for e in entries[start : start + batch]])
    elapsed = time.perf_counter() - started
    table.drop(engine)
    return elapsed


def bench_log(platform: Platform, count: int, batch: int) -> float:
    log = platform.translog
    started = time.perf_counter()
    for start in range(0, count, batch):
        with platform.transaction() as session:
            log.submit_many(session, [event(n) for n in range(start, min(count, start + batch))])
        log.sequence(max_batch=batch)
    return time.perf_counter() - started


def bench_concurrent(platform: Platform, count: int, threads: int, batch: int) -> tuple[float, int]:
    log = platform.translog
    with platform.session_factory() as session:
        target = (session.scalar(select(func.count()).select_from(LogEntry)) or 0) + count
    per_thread = count // threads
    done = threading.Event()
    batches = 0

    def submitter(worker: int) -> None:
        for n in range(per_thread):
            with platform.transaction() as session:
                log.submit(session, event(1_000_000 * (worker + 1) + n))

    def sequencer() -> None:
        nonlocal batches
        while not done.is_set():
            if log.sequence(max_batch=batch) == 0:
                time.sleep(0.002)
            else:
                batches += 1

    started = time.perf_counter()
    workers = [threading.Thread(target=submitter, args=(w,)) for w in range(threads)]
    seq = threading.Thread(target=sequencer)
    seq.start()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    while True:
        with platform.session_factory() as session:
            pending = session.scalar(select(func.count()).select_from(LogPending)) or 0
            size = session.scalar(select(func.count()).select_from(LogEntry)) or 0
        if not pending and size >= target - (count - per_thread * threads):
            break
        time.sleep(0.005)
    elapsed = time.perf_counter() - started
    done.set()
    seq.join()
    return elapsed, batches


def main() -> None:
    """Create the database, run the three measurements, print entries/s, drop the database."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", required=True, help="postgresql://.../<new database name>")
    parser.add_argument("--entries", type=int, default=30_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--concurrent-entries", type=int, default=4000)
    args = parser.parse_args()
    url = args.database_url
    name = make_url(url).database
    if not url.startswith("postgresql") or not name:
        parser.error("--database-url must be a postgresql:// URL naming a database to create")
    admin = admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = load_settings(
                None, data_dir=Path(data_dir), database_url=url, log_batch_size=args.batch
            )
            platform = build_platform(settings)
            try:
                upgrade(platform.engine)
                platform.translog.checkpoint()  # key and genesis, outside the timing
                entries = [prepare_entry(event(n), platform.clock.now()).entry for n in range(args.entries)]
                raw = bench_raw(platform.engine, entries, args.batch)
                durable = bench_log(platform, args.entries, args.batch)
                concurrent, batches = bench_concurrent(
                    platform, args.concurrent_entries, args.threads, args.batch
                )
                platform.translog.trigger_task = False  # the log alone, without the outbox relay
                bare, bare_batches = bench_concurrent(
                    platform, args.concurrent_entries, args.threads, args.batch
                )
            finally:
                platform.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    n = args.entries
    mean = sum(len(e) for e in entries) / len(entries)
    print(f"{n} entries of {mean:.0f} bytes on average, batches of {args.batch}")
    print(f"raw INSERT (executemany, commit per batch): {n / raw:10.0f} entries/s  ({raw:.2f} s)")
    print(f"durable log (submit + sequence + sign):     {n / durable:10.0f} entries/s  ({durable:.2f} s)")
    print(f"log / raw:                                   {raw / durable:10.2f}")
    c = args.concurrent_entries
    print(
        f"concurrent: {args.threads} threads x single-event transactions, one sequencer: "
        f"{c / concurrent:.0f} entries/s ({concurrent:.2f} s, {batches} sequencer batches)"
    )
    print(
        f"  the same without the per-transaction outbox task: "
        f"{c / bare:.0f} entries/s ({bare:.2f} s, {bare_batches} sequencer batches)"
    )


if __name__ == "__main__":
    main()
