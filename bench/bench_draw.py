"""Expert draw time at 10^3, 10^4 and 10^5 experts with the avoidance rules on.

    .venv/bin/python -m bench.bench_draw [--sizes 1000,10000,100000] [--database-url URL]

Each size gets a fresh database (SQLite in a temporary directory by default; a PostgreSQL URL names a
server on which a scratch database is created and dropped), a pool bulk-inserted in one statement per
10,000 rows, and a tender. Timed: the whole :func:`experts.extraction.request_draw` flow (screening with
every avoidance rule, the eligible-set hash, the commitment in the log, sequencing to the seed
checkpoint, the order, the committee and its sealed cards), and, as the in-run baseline, reading the
same pool's columns with one SELECT (the floor any screening pays) and the pure order computation.
Growth target: near-linear (ratio per 10x at most about 10-12).
"""

from __future__ import annotations

import argparse
import logging
import random
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine, insert, select, text

from crypto.uscc import make_org_code, make_uscc
from experts import draw_math
from experts.extraction import DrawRequest, LineRequest, request_draw
from experts.pool_models import Expert, ExpertParticipation, ExpertUnavailability
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.identity.models import Identity, Organisation
from tendering.migrations import upgrade
from tendering.platform import Platform, build_platform
from tendering.settings import load_settings
from tendering.tenders.models import Tender

CHUNK = 10_000
LINES = (("A01", 3, 2), ("A0501", 1, 1), ("C0201", 1, 1))
CODES = ("A0101", "A0102", "A0103", "A0104", "A0501", "A0502", "C0201", "B0101", "C0101")


def uscc(n: int, region: str = "350102") -> str:
    """A valid enterprise USCC."""
    return make_uscc("91" + region + make_org_code(f"{n:08d}"))


def seed_parties(platform: Platform, now: datetime) -> tuple[uuid.UUID, uuid.UUID]:
    """An agency, a tenderee and a published tender (committee of 5); returns (tender, agency)."""
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
        tender = Tender(
            id=uuid.uuid4(), state="published", agency_id=ids[0], tenderee_id=ids[1], title="基准", project_name="基准",
            project_code="B-1", procedure="open_works", category="works", region="350102", time_zone="Asia/Shanghai",
            qualification_requirements=[], evaluation_method="comprehensive_scoring", committee_size=5,
            tenderee_representatives=0, publication_time=now, document_period_end=now, clarification_deadline=now,
            bid_deadline=now + timedelta(days=20), evaluation_date=now + timedelta(days=21), publicity_days=3,
            opening_threshold=2, content_sha256="0" * 64, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(tender)
        return tender.id, ids[0]


def seed_pool(platform: Platform, size: int, now: datetime, evaluation: date) -> list[uuid.UUID]:
    """``size`` experts in bulk; about 3% suspended, 2% employed by the tenderee, 15% in the tender's
    region, 1% unavailable on the evaluation day, 1% recently served the tenderee."""
    rnd = random.Random(size)
    employers = [uscc(1000 + n) for n in range(500)]
    ids = [uuid.uuid4() for _ in range(size)]
    rows = []
    for n, expert_id in enumerate(ids):
        rows.append(
            {
                "id": expert_id, "number": f"B{n:07d}", "name": f"专家{n}",
                "specialties": rnd.sample(CODES, rnd.choice((1, 2))),
                "region": "350102" if rnd.random() < 0.15 else "310101",
                "employer_uscc": uscc(2) if rnd.random() < 0.02 else rnd.choice(employers),
                "employer_name": "", "title": "", "phones": [f"+86138{n:08d}"],
                "status": "suspended" if rnd.random() < 0.03 else "active",
                "created_at": now, "updated_at": now, "version": 1,
            }
        )  # fmt: skip
    with platform.transaction() as session:
        for start in range(0, size, CHUNK):
            session.execute(insert(Expert), rows[start : start + CHUNK])
        picked = rnd.sample(ids, max(1, size // 100))
        session.execute(
            insert(ExpertUnavailability),
            [
                {"id": uuid.uuid4(), "expert_id": e, "start_date": evaluation, "end_date": evaluation}
                for e in picked
            ],
        )
        session.execute(
            insert(ExpertParticipation),
            [
                {"id": uuid.uuid4(), "expert_id": e, "tender_id": None, "tenderee_uscc": uscc(2),
                 "evaluation_date": evaluation - timedelta(days=30), "outcome": "confirmed", "recorded_at": now}
                for e in rnd.sample(ids, max(1, size // 100))
            ],
        )  # fmt: skip
    return ids


def run(size: int, database_url: str | None, folder: Path) -> tuple[float, float, float]:
    """Seconds for (baseline SELECT, pure order, full draw) at ``size`` experts."""
    url, drop = database_url, None
    if url and url.startswith("postgresql"):
        name = f"sealbid_bench_draw_{uuid.uuid4().hex[:8]}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        url, drop = url.rsplit("/", 1)[0] + f"/{name}", (admin, name)
    url = url or f"sqlite:///{folder / f'draw-{size}.db'}"
    settings = load_settings(None, environment="test", data_dir=folder / f"data-{size}", database_url=url)
    clock = ManualClock(datetime(2026, 3, 1, 1, 0, tzinfo=UTC))
    platform = build_platform(settings, clock=clock)
    try:
        upgrade(platform.engine)
        now = clock.now()
        evaluation = now + timedelta(days=21)
        tender_id, agency = seed_parties(platform, now)
        ids = seed_pool(platform, size, now, evaluation.date())
        started = time.perf_counter()
        with platform.session_factory() as session:
            list(
                session.execute(
                    select(Expert.id, Expert.status, Expert.employer_uscc, Expert.region, Expert.specialties)
                )
            )
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        draw_math.order(b"\x01" * 32, ids)
        pure = time.perf_counter() - started
        ask = DrawRequest(
            tender_id=tender_id, evaluation_time=evaluation, evaluation_place="评标室",
            lines=[LineRequest(code, count, reserves) for code, count, reserves in LINES],
            exclude_same_region=True, manual_avoid={ids[0]: "利害关系", ids[1]: "亲属"},
        )  # fmt: skip
        started = time.perf_counter()
        request_draw(platform, ask, actor=Actor(agency, "agency", "192.0.2.1"))
        full = time.perf_counter() - started
        return baseline, pure, full
    finally:
        platform.close()
        if drop is not None:
            admin, name = drop
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    """Run the sizes and print times and growth ratios."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--database-url", default=None, help="PostgreSQL server URL (default: SQLite files)")
    args = parser.parse_args()
    # The draw enqueues experts.confirm; without the confirmation workers the outbox just reports it.
    logging.getLogger("tendering.tasks").setLevel(logging.CRITICAL)
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            results.append(run(size, args.database_url, Path(tmp)))
            baseline, pure, full = results[-1]
            print(f"{size:>7} experts: SELECT pool {baseline * 1000:8.1f} ms | order {pure * 1000:8.1f} ms | "
                  f"full draw {full * 1000:8.1f} ms ({full / baseline:4.1f}x the SELECT)")  # fmt: skip
    for (small, a), (large, b) in zip(
        zip(sizes, results, strict=True), list(zip(sizes, results, strict=True))[1:], strict=False
    ):
        print(f"growth {small:>6} -> {large:>6} ({large // small}x experts): SELECT {b[0] / a[0]:5.1f}x, "
              f"order {b[1] / a[1]:5.1f}x, full draw {b[2] / a[2]:5.1f}x")  # fmt: skip


if __name__ == "__main__":
    main()
