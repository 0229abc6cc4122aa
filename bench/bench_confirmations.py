"""Benchmark expert confirmations processed per second through the workers (simulator, Redis broker).

Run with::

    .venv/bin/python -m bench.bench_confirmations --redis-url redis://127.0.0.1:6379/0 \\
        --database-url postgresql://postgres@127.0.0.1:5432/sealbid_bench_confirm [--assignments 1000] \\
        [--threads 8] [--pool 3000]

The named database is created (it must not exist), migrated, used and dropped; the Redis keys live in a
fresh namespace. Everything goes through the real path: a pool of ``--pool`` experts is seeded, then
``--assignments / 5`` published tenders each get their committee of five (plus five reserves) from
``request_draw`` (commitment, seed checkpoint, HMAC order, sealed cards); the confirmations use the
real ``experts.committee`` (sealed contact cards, ``settle``, replacements in the verifiable order with
avoidance rechecked). Two measurements with the same broker, database and worker threads:

* confirmations: the workers start on the ``experts.confirm`` messages the draws left in the broker;
  the simulator answers (50% press 1, 10% press 2, 40% do not answer a call; every SMS is answered) on a
  manual clock advanced one minute per round; each round the maintenance sends the periodic tasks
  (``experts.sweep`` applies the simulated answers and due timers) and waits for the workers. Measured
  until every member and replacement is settled. Reports settled confirmations per second and the
  tasks they took;
* baseline, afterwards: ``--assignments`` no-op tasks, each enqueued in its own transaction through the
  outbox (as the draw enqueues ``experts.confirm``) and run by the workers: the floor of the machinery.

No assertions: this only reports.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

import experts.tasks  # noqa: F401 - registers the confirmation tasks
from bench.bench_draw import uscc
from experts.confirmation_models import ContactAttempt, ExpertConfirmation
from experts.extraction import DrawRequest, LineRequest, request_draw
from experts.pool_models import Expert, ExpertAssignment
from experts.telephony import bind_provider
from experts.telephony.simulator import SimulatorProvider
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.identity.models import Identity, Organisation
from tendering.migrations import upgrade
from tendering.platform import Platform, build_platform
from tendering.settings import load_settings
from tendering.tasks import OutboxMessage, enqueue, tasks
from tendering.tenders.models import Tender

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


COMMITTEE = 5


def seed(platform: Platform, tenders: int, pool: int) -> tuple[list[uuid.UUID], uuid.UUID]:
    """An agency, a tenderee, ``tenders`` published tenders (committee of 5) and ``pool`` experts."""
    now = platform.clock.now()
    with platform.transaction() as session:
        ids = []
        for n, name in ((1, "代理机构"), (2, "招标人")):
            identity = Identity(
                id=uuid.uuid4(),
                kind="enterprise",
                subject_key=f"bench:{n}",
                display_name=name,
                created_at=now,
            )
            session.add(identity)
            session.flush()
            session.add(Organisation(identity_id=identity.id, uscc=uscc(n), name=name, kind="agency"))
            ids.append(identity.id)
        tender_ids = [uuid.uuid4() for _ in range(tenders)]
        for number, tender_id in enumerate(tender_ids):
            session.add(
                Tender(
                    id=tender_id, state="published", agency_id=ids[0], tenderee_id=ids[1], title="基准",
                    project_name="基准", project_code=f"B-{number}", procedure="open_works", category="works",
                    region="350102", time_zone="Asia/Shanghai", qualification_requirements=[],
                    evaluation_method="comprehensive_scoring", committee_size=COMMITTEE,
                    tenderee_representatives=0, publication_time=now, document_period_end=now,
                    clarification_deadline=now, bid_deadline=now + timedelta(days=20),
                    evaluation_date=now + timedelta(days=21), publicity_days=3, opening_threshold=2,
                    content_sha256="0" * 64, created_at=now, updated_at=now,
                )
            )  # fmt: skip
        rows = [
            {
                "id": uuid.uuid4(), "number": f"C{n:07d}", "name": f"专家{n}", "specialties": ["A0101"],
                "region": "310101", "employer_uscc": uscc(1000 + n % 500), "employer_name": "", "title": "",
                "phones": [f"+86138{2 * n:08d}", f"+86139{2 * n + 1:08d}"], "status": "active",
                "created_at": now, "updated_at": now, "version": 1,
            }
            for n in range(pool)
        ]  # fmt: skip
        session.execute(insert(Expert), rows)
    return tender_ids, ids[0]


def draw_all(platform: Platform, tender_ids: list[uuid.UUID], agency: uuid.UUID) -> float:
    """Seconds to draw every tender's committee (five members, five reserves) with ``request_draw``."""
    actor = Actor(agency, "agency", "192.0.2.1")
    evaluation = platform.clock.now() + timedelta(days=21)
    started = time.perf_counter()
    for tender_id in tender_ids:
        ask = DrawRequest(tender_id, evaluation, "评标室", [LineRequest("A0101", COMMITTEE, COMMITTEE)])
        request_draw(platform, ask, actor=actor)
    return time.perf_counter() - started


def bench_noop(platform: Platform, n: int) -> float:
    """Seconds for ``n`` no-op tasks, one outbox transaction each, through the workers."""
    started = time.perf_counter()
    for index in range(n):
        with platform.transaction() as session:
            enqueue(session, NOOP_TASK, platform.clock, n=index)
    platform.tasks.join()
    return time.perf_counter() - started


def bench_confirmations(platform: Platform, clock: ManualClock, threads: int) -> tuple[float, int, int]:
    """Seconds until every confirmation is settled, the confirmations settled and the rounds taken.

    The workers start here, on the ``experts.confirm`` messages the draws left in the broker.
    """
    with platform.session_factory() as session:
        members = session.scalar(
            select(func.count()).select_from(ExpertAssignment).where(ExpertAssignment.role == "member")
        )
    started = time.perf_counter()
    platform.tasks.start_worker(threads=threads)
    platform.tasks.join()
    rounds = 0
    while True:
        rounds += 1
        clock.advance(timedelta(minutes=1))
        platform.tasks.send_periodic()  # experts.sweep (and the others), as the maintenance round sends them
        platform.tasks.join()
        with platform.session_factory() as session:
            open_rows = session.scalar(
                select(func.count())
                .select_from(ExpertConfirmation)
                .where(ExpertConfirmation.state != "settled")
            )
            started_rows = session.scalar(select(func.count()).select_from(ExpertConfirmation))
            pending = session.scalar(
                select(func.count())
                .select_from(ExpertAssignment)
                .where(ExpertAssignment.role == "member", ExpertAssignment.status == "pending")
            )
        if not open_rows and not pending and (started_rows or 0) >= (members or 0):
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
    parser.add_argument("--pool", type=int, default=3000, help="experts in the pool")
    args = parser.parse_args()
    url = args.database_url
    name = make_url(url).database
    if not url.startswith("postgresql") or not name:
        parser.error("--database-url must be a postgresql:// URL naming a database to create")
    admin = admin_engine(url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    clock = ManualClock()
    tenders = max(1, args.assignments // COMMITTEE)
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
                tender_ids, agency = seed(platform, tenders, args.pool)
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
                drawing = draw_all(platform, tender_ids, agency)
                elapsed, settled, rounds = bench_confirmations(platform, clock, args.threads)
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
                    replacements = session.scalar(
                        select(func.count())
                        .select_from(ExpertAssignment)
                        .where(ExpertAssignment.rank >= 2 * COMMITTEE)
                    )
                n = tenders * COMMITTEE
                baseline = bench_noop(platform, n)
            finally:
                platform.close()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    periodic = sum(1 for definition in tasks if definition.periodic)
    tasks_run = outbox + rounds * periodic  # the confirmation's outbox tasks plus the periodic ones
    print(
        f"{tenders} tenders x {COMMITTEE} members (+{COMMITTEE} reserves each), pool {args.pool}, "
        f"{args.threads} worker threads, Redis broker, PostgreSQL"
    )
    print(
        f"draws (request_draw, before the workers start):  {tenders / drawing:9.1f} draws/s ({drawing:.2f} s)"
    )
    print(f"baseline: no-op tasks through outbox + broker: {n / baseline:9.1f} tasks/s  ({baseline:.2f} s)")
    print(
        f"confirmations settled (incl. replacements):     {settled / elapsed:9.1f} /s      ({elapsed:.2f} s, "
        f"{settled} settled, {replacements} taken from the order beyond the reserves, {calls} calls, "
        f"{sms} SMS, {tasks_run} tasks, {rounds} sweep rounds)"
    )
    print(f"tasks per second in the confirmation run:       {tasks_run / elapsed:9.1f} tasks/s")
    print(f"confirmation rate / no-op task rate:            {(settled / elapsed) / (n / baseline):9.3f}")


if __name__ == "__main__":
    main()
