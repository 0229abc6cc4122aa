"""OCDS bulk export throughput and the server's peak memory, at 10,000 and at 100,000 tenders.

Run with ``.venv/bin/python -m bench.bench_ocds_export --database-url
postgresql://postgres@127.0.0.1:5432/sealbid_bench_ocds [--tenders 100000] [--limit 500]``. The named
database is created (it must not exist), migrated, seeded like ``bench.bench_portal`` and dropped.

Two rounds: with the first tenth of the tenders, then with all of them. Each round starts a fresh
``sealbid serve`` process, walks ``GET /ocds/releases?limit=…`` through every ``links.next`` page
(paging by date of change) and reports releases per second and the server's peak resident memory
(``VmHWM``): the export builds one page at a time, so the peak should not grow with the number of
tenders. Baseline, same run: the export's own page query (``changed_statement``: keyset on
``(public_changed_at, id)``, ``limit + 1`` rows) followed by the bare SQL fetch of the rows the export
reads for each page (tenders with parties, lots, documents, notices, opening records) and their JSON
serialisation, in this process. No assertions.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from bench.bench_portal import fresh_database, seed, served
from tendering.db import make_engine
from tendering.search.source import changed_statement

#: The rows of a page's tenders with their parties (what ``full_views`` reads after the export's page query).
TENDERS_SQL = """
SELECT t.id, t.title, t.project_name, t.project_code, t.description, t.category, t.region, t.state,
       t.published_at, t.document_period_end, t.bid_deadline, t.public_changed_at, a.name, a.uscc, e.name, e.uscc
FROM tenders t JOIN organisations a ON a.identity_id = t.agency_id
JOIN organisations e ON e.identity_id = t.tenderee_id
WHERE t.id = ANY(%s)
"""


def peak_rss_mib(pid: int) -> float:
    """The process's peak resident set size (``VmHWM``) in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def crawl(base: str, limit: int) -> tuple[int, int, float]:
    """Walk the bulk export: ``(releases, pages, seconds)``."""
    releases = pages = 0
    started = time.perf_counter()
    url: str | None = f"{base}/ocds/releases?limit={limit}"
    with httpx.Client(timeout=300) as client:
        while url:
            response = client.get(url)
            response.raise_for_status()
            package = response.json()
            releases += len(package["releases"])
            pages += 1
            url = package.get("links", {}).get("next")
            if url:  # the server names itself by its public URL, which is this one
                url = base + url[url.index("/ocds/") :]
    return releases, pages, time.perf_counter() - started


def bare_export(url: str, limit: int) -> tuple[int, float]:
    """The baseline: the export's own page query (``changed_statement``, keyset on
    ``(public_changed_at, id)``), then the same rows the export reads for the page (tenders with parties,
    lots, released documents, notices, opening records) in bare SQL, serialised as JSON: ``(releases, s)``."""
    releases = 0
    engine = make_engine(url)
    started = time.perf_counter()
    with engine.connect() as conn:
        after: tuple[Any, Any] | None = None
        while True:
            page = conn.execute(changed_statement(None, None, after=after, limit=limit + 1)).all()
            rows = page[:limit]
            if not rows:
                break
            ids = [row[0] for row in rows]
            fetched = {
                name: conn.exec_driver_sql(sql, (ids,)).all()
                for name, sql in (
                    ("tenders", TENDERS_SQL),
                    ("lots", "SELECT tender_id, number, name, currency, estimated_price, ceiling_price, bid_bond "
                     "FROM tender_lots WHERE tender_id = ANY(%s) ORDER BY tender_id, number"),
                    ("documents", "SELECT tender_id, id, name, size, sha256, version, media_type, released_at "
                     "FROM tender_documents WHERE tender_id = ANY(%s) AND released_at IS NOT NULL "
                     "ORDER BY tender_id, name, version"),
                    ("notices", "SELECT tender_id, id, kind, title, body, published_at FROM tender_notices "
                     "WHERE tender_id = ANY(%s) ORDER BY tender_id, number"),
                    ("opening", "SELECT tender_id, ocds_release FROM opening_records WHERE tender_id = ANY(%s)"),
                )
            }  # fmt: skip
            document = {name: [tuple(row) for row in found] for name, found in fetched.items()}
            json.dumps(document, default=str, ensure_ascii=False)
            releases += len(rows) + len(fetched["notices"]) + len(fetched["opening"])
            if len(page) <= limit:
                break
            after = (rows[-1][1], rows[-1][0])
    engine.dispose()
    return releases, time.perf_counter() - started


def measure(url: str, tenders: int, limit: int) -> None:
    """One round: the export through a fresh server, and the bare baseline."""
    with served(url) as (base, pid):
        rss_idle = peak_rss_mib(pid)
        releases, pages, seconds = crawl(base, limit)
        rss_peak = peak_rss_mib(pid)
    bare_releases, bare_seconds = bare_export(url, limit)
    print(
        f"{tenders:>7,} tenders: export {releases:,} releases in {pages} pages, {seconds:.1f} s = "
        f"{releases / seconds:,.0f} releases/s; bare SQL+JSON {bare_releases:,} in {bare_seconds:.1f} s = "
        f"{bare_releases / bare_seconds:,.0f}/s (export/bare {bare_seconds / seconds:.2f}); "
        f"server RSS peak {rss_peak:.0f} MiB (after start {rss_idle:.0f} MiB)"
    )


def main() -> None:
    """Seed a tenth, measure; seed the rest, measure again."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--tenders", type=int, default=100_000)
    parser.add_argument("--limit", type=int, default=500, help="tenders per export page (1..1000)")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    first = args.tenders // 10
    with fresh_database(args.database_url, keep=args.keep) as url:
        seconds = seed(url, first)
        print(f"seeded {first:,} tenders in {seconds:.1f} s")
        measure(url, first, args.limit)
        seconds = seed(url, args.tenders - first, first=first)
        print(f"seeded {args.tenders - first:,} more in {seconds:.1f} s")
        measure(url, args.tenders, args.limit)
    print("memory is bounded when the peak at 100k is close to the peak at 10k")


if __name__ == "__main__":
    main()
