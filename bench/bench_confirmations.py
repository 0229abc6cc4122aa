"""Benchmark expert confirmations processed per second through the workers (simulator, Redis broker).

Run with::

    .venv/bin/python -m bench.bench_confirmations --redis-url redis://127.0.0.1:6379/0 \\
        --database-url postgresql://postgres@127.0.0.1:5432/sealbid_bench_confirm [--assignments 1000] \\
        [--threads 8]

The named database is created (it must not exist), migrated, used and dropped; the Redis keys live in a
fresh namespace. Two measurements with the same broker, database and worker threads:

* baseline: ``--assignments`` no-op tasks, each enqueued in its own transaction through the outbox (as
  the draw enqueues ``experts.confirm``) and run by the workers: the floor of the task machinery;
* confirmations: ``--assignments`` drawn experts (and as many reserves) confirmed through the simulator
  (50% press 1, 10% press 2, 40% do not answer a call; every SMS is answered), on a manual clock advanced one
  minute per round; each round the maintenance sends ``experts.sweep`` (which applies the simulated
  answers and due timers) and waits for the workers. Measured until every member and replacement is
  settled. Reports settled confirmations per second and the tasks they took.

No assertions: this only reports.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, select, text
from sqlalchemy.engine import make_url

import experts.tasks  # noqa: F401 - registers the confirmation tasks
from experts.confirmation_models import ContactAttempt, ExpertConfirmation
from experts.notify_committee import CONFIRM_TASK, InMemoryCommittee, MemoryCard, bind_committee
from experts.telephony import bind_provider
from experts.telephony.simulator import SimulatorProvider
from tendering.clock import ManualClock
from tendering.migrations import upgrade
from tendering.platform import Platform, build_platform
from tendering.settings import load_settings
from tendering.tasks import OutboxMessage, enqueue, tasks

NOOP_TASK = "bench.noop"


@tasks.task(NOOP_TASK)
def noop(context: Any, n: int) -> None:
    """The baseline task: does nothing."""


def admin_engine(url: str) -> Engine:
    """An AUTOCOMMIT engine on the server's ``postgres`` database."""
    admin = make_url(url).set(database="postgres").render_as_string(hide_password=False)
    return create_engine(
        admin.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


def committee(size: int) -> InMemoryCommittee:
    """``size`` members and ``size`` reserves with two numbers each."""
    drawn = InMemoryCommittee()
    when = datetime(2026, 1, 12, 1, 30, tzinfo=UTC)
    for index in range(2 * size):
        phones = (f"+86138{2 * index:08d}", f"+86139{2 * index + 1:08d}")
        card = MemoryCard(uuid.uuid4(), f"expert {index}", phones, when, "Room 2", "Asia/Shanghai", "zh-CN")
        drawn.add(card, reserve=index >= size)
    return drawn


def bench_noop(platform: Platform, n: int) -> float:
    """Seconds for ``n`` no-op tasks, one outbox transaction each, through the workers."""
    started = time.perf_counter()
    for index in range(n):
        with platform.transaction() as session:
            enqueue(session, NOOP_TASK, platform.clock, n=index)
    platform.tasks.join()
    return time.perf_counter() - started


def bench_confirmations(
    platform: Platform, clock: ManualClock, drawn: InMemoryCommittee
) -> tuple[float, int, int]:
    """Seconds until every confirmation is settled, the confirmations settled and the rounds taken."""
    started = time.perf_counter()
    for member in drawn.members():
        with platform.transaction() as session:
            enqueue(session, CONFIRM_TASK, platform.clock, assignment_id=str(member))
    platform.tasks.join()
    rounds = 0
    while True:
        rounds += 1
        clock.advance(timedelta(minutes=1))
        platform.tasks.send_periodic()  # experts.sweep, as the maintenance round sends it
        platform.tasks.join()
        with platform.session_factory() as session:
            open_rows = session.scalar(
                select(func.count())
                .select_from(ExpertConfirmation)
                .where(ExpertConfirmation.state != "settled")
            )
            started_rows = session.scalar(select(func.count()).select_from(ExpertConfirmation))
        if not open_rows and started_rows == len(drawn.members()):
            break
    return time.perf_counter() - started, int(started_rows or 0), rounds


def main() -> None:
    """Create the database, run the baseline and the confirmations, print the rates, drop the database."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--redis-url", required=True)
    parser.add_argument("--database-url", required=True, help="postgresql://.../<new database name>")
    parser.add_argument("--assignments", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    url = args.database_url
    name = make_url(url).database
    if not url.startswith("postgresql") or not name:
        parser.error("--database-url must be a postgresql:// URL naming a database to create")
    admin = admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    clock = ManualClock()
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = load_settings(
                None,
                data_dir=Path(data_dir),
                database_url=url,
                redis_url=args.redis_url,
                redis_namespace=f"sealbid-bench-{uuid.uuid4().hex[:8]}",
            )
            platform = build_platform(settings, clock=clock)
            try:
                upgrade(platform.engine)
                drawn = committee(args.assignments)
                bind_committee(platform, drawn)
                simulator = SimulatorProvider(
                    clock,
                    confirm_probability=0.5,
                    decline_probability=0.1,
                    sms_reply_probability=1.0,
                    min_delay_seconds=5,
                    max_delay_seconds=60,
                    code_length=settings.telephony.code_length,
                    seed=1,
                )
                bind_provider(platform, simulator)
                platform.tasks.start_worker(threads=args.threads)
                baseline = bench_noop(platform, args.assignments)
                elapsed, settled, rounds = bench_confirmations(platform, clock, drawn)
                with platform.session_factory() as session:
                    outbox = session.scalar(select(func.count()).select_from(OutboxMessage)) or 0
                    calls = session.scalar(
                        select(func.count())
                        .select_from(ContactAttempt)
                        .where(ContactAttempt.channel == "voice")
                    )
                    sms = session.scalar(
                        select(func.count())
                        .select_from(ContactAttempt)
                        .where(ContactAttempt.channel == "sms")
                    )
            finally:
                platform.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    n = args.assignments
    tasks_run = outbox - n + rounds  # the confirmation's outbox tasks plus one sweep per round
    print(f"{n} members, {args.threads} worker threads, Redis broker, PostgreSQL")
    print(f"baseline: no-op tasks through outbox + broker: {n / baseline:9.1f} tasks/s  ({baseline:.2f} s)")
    print(
        f"confirmations settled (incl. replacements):     {settled / elapsed:9.1f} /s      ({elapsed:.2f} s, "
        f"{settled} settled, {calls} calls, {sms} SMS, {tasks_run} tasks, {rounds} sweep rounds)"
    )
    print(f"tasks per second in the confirmation run:       {tasks_run / elapsed:9.1f} tasks/s")
    print(f"confirmation rate / no-op task rate:            {(settled / elapsed) / (n / baseline):9.3f}")


if __name__ == "__main__":
    main()
