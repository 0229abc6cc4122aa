"""Portal list and search latency with many published tenders on PostgreSQL, against the bare SQL.

Run with ``.venv/bin/python -m bench.bench_portal --database-url
postgresql://postgres@127.0.0.1:5432/sealbid_bench_portal [--tenders 100000] [--requests 60]``.
The named database is created (it must not exist), migrated, seeded and dropped at the end
(``--keep`` keeps it).

Seeding uses ``COPY``: 200 agencies and tenderees, ``--tenders`` published tenders with realistic
Chinese titles, GB/T 2260 regions and the three categories over two years, one lot each, an amendment
on every 10th and a cancellation on every 50th.

Measured per case: the page through the real stack (``sealbid serve`` in its own process, HTTP,
routing, the public source, rendering) against the bare SQL the page needs (the count and the page of
rows, as one client would send them over psycopg) in the same run. Printed: p50/p95 of each and the
ratio of the p50s (target: the page costs at most 3x its query). No assertions.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql

from api.local_server import free_port
from tendering.db import make_engine
from tendering.migrations import upgrade
from tendering.search.query import parse_query
from tendering.search.source import list_statement

START = datetime(2024, 11, 1, tzinfo=UTC)
REGIONS = (
    "110101", "110105", "310101", "310115", "420102", "420106", "420111", "440103", "440305", "350102",
    "350203", "330106", "320102", "370102", "510104", "610113", "430102", "410105", "500103", "120101",
)  # fmt: skip
PLACES = (
    "城南",
    "滨江",
    "高新区",
    "经开区",
    "东湖",
    "西城",
    "北郊",
    "临港",
    "江北新区",
    "老城区",
    "开发区",
    "南湖",
)
WORKS = ("道路改造工程", "污水管网建设工程", "学校教学楼新建工程", "老旧小区改造工程", "桥梁维修加固工程",
         "河道综合整治工程", "公园景观提升工程", "保障性住房建设项目", "地下综合管廊工程", "体育中心建设工程")  # fmt: skip
GOODS = (
    "医疗设备采购",
    "教学仪器采购",
    "办公家具采购",
    "笔记本电脑采购",
    "消防车辆采购",
    "路灯及配电设备采购",
)
SERVICES = ("物业管理服务", "保洁服务", "工程监理服务", "造价咨询服务", "安保服务", "设计服务")
CATEGORIES = (
    ("works", WORKS, "施工招标公告"),
    ("goods", GOODS, "公开招标公告"),
    ("services", SERVICES, "招标公告"),
)


def admin_url(url: str) -> tuple[str, str]:
    """The server's ``postgres`` database URL (psycopg form) and the benchmark database's name."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name or name == "postgres":
        sys.exit("name a fresh database in --database-url, e.g. .../sealbid_bench_portal")
    return urlunsplit(parts._replace(path="/postgres")), name


@contextmanager
def fresh_database(url: str, *, keep: bool) -> Iterator[str]:
    """Create the database named in ``url``, migrate it, yield its SQLAlchemy URL, drop it afterwards."""
    admin, name = admin_url(url)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    sa_url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        engine = make_engine(sa_url)
        upgrade(engine)
        engine.dispose()
        yield sa_url
    finally:
        if not keep:
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _uscc(serial: int) -> str:
    return f"91{serial:016d}"


def _ts(moment: datetime) -> str:
    return moment.isoformat()


def seed(url: str, count: int, *, first: int = 0, rng_seed: int = 2026) -> float:
    """COPY ``count`` published tenders (numbered from ``first``) into the database; seconds taken."""
    rng = random.Random(rng_seed + first)
    started = time.perf_counter()
    with psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1)) as conn:
        orgs = _organisations(conn)
        tenders, lots, notices, custodians = io.StringIO(), io.StringIO(), io.StringIO(), io.StringIO()
        span = 730 * 86400
        for n in range(first, first + count):
            category, names, suffix = CATEGORIES[n % 3]
            place = PLACES[rng.randrange(len(PLACES))]
            project = f"{place}{names[rng.randrange(len(names))]}"
            title = f"{project}（{rng.randrange(1, 9)}标段）{suffix}"
            published = START + timedelta(seconds=rng.randrange(span))
            tender_id = uuid.uuid4()
            agency, tenderee = orgs[n % 100], orgs[100 + (n * 7) % 100]
            state = "cancelled" if n % 50 == 49 else "published"
            end_reason = "因项目资金调整，本项目终止招标。" if state == "cancelled" else "\\N"
            description = f"{project}，建设地点：{place}。本次招标范围为施工图范围内全部内容，资金来源为财政资金，已落实。"
            row = [
                tender_id, state, 1, agency, tenderee, title, project, f"ZB-{published.year}-{n:06d}",
                description, f"open_{category}", category, REGIONS[n % len(REGIONS)], "Asia/Shanghai", "[]",
                "lowest_evaluated_price", 5, 0, _ts(published), _ts(published),
                _ts(published + timedelta(days=7)), _ts(published + timedelta(days=10)),
                _ts(published + timedelta(days=25)), _ts(published + timedelta(days=26)), 3, 1, "f", "0" * 64,
                _ts(published), _ts(published), _ts(published), _ts(published), _ts(published), end_reason,
                "cancelled" if state == "cancelled" else "\\N",
                _ts(published + timedelta(days=5 if state == "cancelled" else 3 if n % 10 == 9 else 0)),
            ]  # fmt: skip
            tenders.write("\t".join(str(value) for value in row) + "\n")
            custodians.write(f"{uuid.uuid4()}\t{tender_id}\t1\t{orgs[150 + n % 50]}\n")
            estimate = rng.randrange(500, 50_000) * 10_000
            lots.write(
                f"{uuid.uuid4()}\t{tender_id}\t1\t一标段\t\tCNY\t{estimate}.00\t{estimate * 98 // 100}.00\t\\N\t\n"
            )
            if n % 10 == 9:
                when = published + timedelta(days=3)
                notices.write(
                    f"{uuid.uuid4()}\t{tender_id}\t1\tamendment\t澄清与修改第1号\t开标时间不变，工程量清单第3项更正。\t{_ts(when)}\t\\N\t\\N\t{'1' * 64}\n"
                )
            if state == "cancelled":
                when = published + timedelta(days=5)
                notices.write(
                    f"{uuid.uuid4()}\t{tender_id}\t2\tcancellation\t终止招标公告\t{end_reason}\t{_ts(when)}\t\\N\t\\N\t{'2' * 64}\n"
                )
        columns = {
            "tenders": "id, state, version, agency_id, tenderee_id, title, project_name, project_code, description, "
            "procedure, category, region, time_zone, qualification_requirements, evaluation_method, committee_size, "
            "tenderee_representatives, publication_time, document_period_start, document_period_end, "
            "clarification_deadline, bid_deadline, evaluation_date, publicity_days, opening_threshold, "
            "bidder_decryption, content_sha256, created_at, updated_at, submitted_at, approved_at, published_at, "
            "end_reason, end_code, public_changed_at",
            "tender_lots": "id, tender_id, number, name, description, currency, estimated_price, ceiling_price, "
            "bid_bond, qualification",
            "tender_notices": "id, tender_id, number, kind, title, body, published_at, previous_bid_deadline, "
            "new_bid_deadline, content_sha256",
        }
        columns["tender_custodians"] = "id, tender_id, position, identity_id"
        tables = (
            ("tenders", tenders),
            ("tender_lots", lots),
            ("tender_notices", notices),
            ("tender_custodians", custodians),
        )
        for table, data in tables:
            with conn.cursor().copy(f"COPY {table} ({columns[table]}) FROM STDIN") as copy:
                copy.write(data.getvalue())
        conn.execute("ANALYZE")
    return time.perf_counter() - started


def _organisations(conn: psycopg.Connection[Any]) -> list[uuid.UUID]:
    existing = [row[0] for row in conn.execute("SELECT identity_id FROM organisations ORDER BY uscc")]
    if existing:
        return existing
    ids = []
    now = _ts(START)
    for i in range(200):
        identity = uuid.uuid4()
        ids.append(identity)
        name = f"{PLACES[i % len(PLACES)]}{'招标代理有限公司' if i < 100 else '建设管理中心'}{i:03d}"
        conn.execute(
            "INSERT INTO identities (id, kind, subject_key, display_name, created_at) VALUES (%s, %s, %s, %s, %s)",
            (identity, "enterprise", f"uscc:{_uscc(i)}", name, now),
        )
        conn.execute(
            "INSERT INTO organisations (identity_id, uscc, name, kind) VALUES (%s, %s, %s, %s)",
            (identity, _uscc(i), name, "agency" if i < 100 else "enterprise"),
        )
    return ids


@contextmanager
def served(url: str) -> Iterator[tuple[str, int]]:
    """``sealbid serve`` on the database in its own process: ``(base URL, process id)``."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="sealbid-bench-") as data_dir:
        env = {
            **os.environ,
            "SEALBID_DATABASE_URL": url,
            "SEALBID_DATA_DIR": data_dir,
            "SEALBID_PUBLIC_URL": base,
            "SEALBID_ENVIRONMENT": "development",
            # the seeded tenders are historic; keep the periodic sweep (which would settle their passed
            # deadlines, a one-off catch-up) out of the read measurements
            "SEALBID_MAINTENANCE_INTERVAL_SECONDS": "86400",
        }
        env.pop("SEALBID_REDIS_URL", None)
        log = Path(data_dir) / "server.log"
        process = subprocess.Popen(
            [sys.executable, "-c", "from api.cli import main; main()", "serve", "--port", str(port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log.open("wb"),
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if process.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"the server did not start:\n{log.read_text(errors='replace')[-3000:]}")
                time.sleep(0.2)
            yield base, process.pid
        finally:
            process.terminate()
            process.wait(30)


@dataclass(frozen=True)
class Figures:
    """Latencies of one measured thing, in milliseconds."""

    samples: tuple[float, ...]

    @property
    def p50(self) -> float:
        """The median."""
        return statistics.median(self.samples)

    @property
    def p95(self) -> float:
        """The 95th percentile."""
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def timed(action: Callable[[], object], repeat: int, warmup: int = 3) -> Figures:
    """Run ``action`` ``warmup`` times, then time it ``repeat`` times."""
    for _ in range(warmup):
        action()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        samples.append((time.perf_counter() - started) * 1000)
    return Figures(tuple(samples))


def page_sql(url: str, params: dict[str, str]) -> list[tuple[str, dict[str, Any]]]:
    """The SQL the announcement list sends for ``params``: the count and the page of rows, compiled
    from the portal's own statements (so the comparison is with exactly the same query)."""
    query = parse_query(params)
    statement = list_statement(query)
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    count = select(func.count()).select_from(statement.order_by(None).subquery())
    page = statement.limit(query.per_page).offset(query.offset)
    out = []
    for item in (count, page):
        compiled = item.compile(dialect=dialect)
        out.append((str(compiled), dict(compiled.params)))
    return out


CASES: tuple[tuple[str, dict[str, str]], ...] = (
    ("list, first page", {}),
    ("list, works in Hubei (category+region)", {"category": "works", "region": "42"}),
    ("list, page 200", {"page": "200"}),
    ("search 道路改造", {"q": "道路改造"}),
    ("search 公园 (2 characters)", {"q": "公园"}),
)


def main() -> None:
    """Seed, serve, measure, print."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    with fresh_database(args.database_url, keep=args.keep) as url:
        seconds = seed(url, args.tenders)
        print(
            f"seeded {args.tenders:,} published tenders in {seconds:.1f} s ({args.tenders / seconds:,.0f}/s)"
        )
        conn = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True)
        with served(url) as (base, _), httpx.Client(base_url=base, timeout=60) as client:
            print(f"{'case':42} {'page p50':>9} {'p95':>8} {'SQL p50':>8} {'p95':>8} {'ratio':>6}  rows")
            for name, params in CASES:
                sql = page_sql(url, params)

                def bare(sql: list[tuple[str, dict[str, Any]]] = sql) -> None:
                    for text, binds in sql:
                        # planned with its values every time (as psql would), never a generic plan
                        conn.execute(text, binds, prepare=False).fetchall()  # type: ignore[arg-type]

                def page(params: dict[str, str] = params) -> None:
                    response = client.get("/announcements", params=params)
                    response.raise_for_status()

                total = conn.execute(sql[0][0], sql[0][1]).fetchone()  # type: ignore[arg-type]
                query_figures = timed(bare, args.requests)
                page_figures = timed(page, args.requests)
                ratio = page_figures.p50 / query_figures.p50
                print(
                    f"{name:42} {page_figures.p50:8.1f}ms {page_figures.p95:7.1f}ms {query_figures.p50:7.1f}ms "
                    f"{query_figures.p95:7.1f}ms {ratio:5.1f}x  {total[0] if total else 0:,}"
                )
        conn.close()
    print("target: page ≤ 3x its query (p50)")


if __name__ == "__main__":
    main()
