"""Crash safety with a real kill: the opening runs in a subprocess that is killed with SIGKILL mid-opening.

The test builds a keyed tender on a file database (SQLite file, or PostgreSQL) and the filesystem blob
store: three valid bids, one signed with another bidder's certificate (revoked) and one withdrawn
before the deadline, each package carrying a unique plaintext marker (stored, not compressed). The
tender closes, then ``tests/opening/crash_child.py`` records two custodians' releases and opens the
envelopes until a deterministic stopping point, where it tells the test and blocks; the test kills
it with SIGKILL. The test then resumes the opening in its own process (the custodians release
again) and proves:

* every envelope ends opened, revoked or withdrawn, each decided (and logged) exactly once;
* the outcomes, the log's decisions, ``tender.opened`` and the published record are the same as an
  uninterrupted opening's (run on a copy of the database and blob store taken after the closing);
* neither the opening key (private scalar) nor a share nor a bid's plaintext that is not an opened
  package kept in the blob store is anywhere on disk: data directory (blobs and their tmp directory,
  the opening's scratch directory), the subprocess's temporary directory, the database file, and
  every row of every table of the database.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import os
import secrets
import select as selectors
import shutil
import signal
import sqlite3
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select, text
from sqlalchemy.engine import make_url

from api.client.opening_verify import check_opening
from crypto.bidpackage import PackageFile, PriceForm, build_package
from crypto.cms import sign_detached
from crypto.pki import BuiltPki
from tendering.blobs import FilesystemBlobStore
from tendering.clock import ManualClock
from tendering.opening.models import OpeningOutcome, OpeningSession
from tendering.opening.opener import open_envelopes
from tendering.opening.record import published_record
from tendering.opening.schedule import tick
from tendering.platform import Platform, build_platform
from tendering.settings import Settings, load_settings
from tendering.translog.models import LogEntry
from tests.bids.fixtures import KeyedTender, Parties
from tests.opening.crash_child import FINISHED, STOPPED
from tests.opening.helpers import (
    CLIENT,
    custodian_share,
    custodian_signer,
    enrol_tenderer,
    pass_deadline,
    release,
    release_statement,
    sealed_bid,
    submit,
    withdraw,
)
from tests.submission.helpers import uscc_of

REPO = Path(__file__).resolve().parents[2]
PKI_PASSWORD = "crash-test"
#: How long the test waits for the subprocess to reach its stopping point before giving up (a hang
#: guard, not a synchronisation: the subprocess says when it is there).
HANG_GUARD_SECONDS = 300


@dataclass
class CrashTender:
    """The tender of the crash test: envelopes and plaintext markers by tenderer name."""

    keyed: KeyedTender
    parties: Parties
    bidders: dict[str, uuid.UUID]
    envelopes: dict[str, bytes]
    markers: dict[str, bytes]

    @property
    def tender_id(self) -> uuid.UUID:
        return self.keyed.tender_id


@pytest.fixture(scope="module")
def saved_pki(test_pki: BuiltPki, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test PKI written to disk once, for the subprocess (keys encrypted with a password)."""
    directory = tmp_path_factory.mktemp("crash-pki") / "pki"
    test_pki.save(directory, PKI_PASSWORD.encode())
    return directory


def marked_package(tmp: Path, tender_id: uuid.UUID, uscc: str, marker: bytes, total: str) -> bytes:
    """A real bid package whose file holds ``marker`` verbatim (stored, not deflated)."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "price.pdf"
    path.write_bytes(b"%PDF-1.7 " + marker * 8)
    sink = io.BytesIO()
    build_package(
        sink,
        [PackageFile("商务标/报价单.pdf", path)],
        tender_id=str(tender_id),
        lot_ids=["1"],
        bidder_uscc=uscc,
        prices=[PriceForm("1", Decimal(total), "CNY", 365, "合格", ())],
        machine_code="cd" * 32,
        client=CLIENT,
        created_at=datetime(2026, 1, 5, tzinfo=UTC),
        compression="stored",
    )
    path.unlink()
    return sink.getvalue()


@pytest.fixture
def crash_tender(
    platform: Platform,
    clock: ManualClock,
    keyed_tender: KeyedTender,
    parties: Parties,
    test_pki: BuiltPki,
    tmp_path: Path,
) -> CrashTender:
    """Five bids (3 valid, 1 signed by another bidder, 1 withdrawn before the deadline); closed."""
    bidders = dict(zip(("tenderer-1", "tenderer-2", "tenderer-3"), parties.tenderers, strict=True))
    bidders["tenderer-4"] = enrol_tenderer(platform, test_pki, "tenderer-4")
    bidders["tenderer-5"] = enrol_tenderer(platform, test_pki, "tenderer-5")
    tender = CrashTender(keyed_tender, parties, bidders, {}, {})
    signers = {"tenderer-4": "tenderer-1"}  # the bidder's fault: revoked (bidder-mismatch)
    for position, name in enumerate(bidders, start=1):
        marker = f"PLAINTEXT-MARKER-{name}-".encode() + secrets.token_hex(16).encode()
        data = marked_package(
            tmp_path / "packages" / name,
            keyed_tender.tender_id,
            uscc_of(test_pki, name),
            marker,
            f"{11_000_000 + position * 1000}.00",
        )
        envelope = sealed_bid(
            test_pki,
            tmp_path / "packages",
            keyed_tender,
            name,
            signer=signers.get(name),
            package_bytes=data,
            at=clock.now(),
        )
        submit(platform, keyed_tender.tender_id, bidders[name], name, test_pki, envelope)
        tender.envelopes[name], tender.markers[name] = envelope, marker
    with platform.session_factory() as session:
        from tendering.bids.models import Bid

        fifth = session.scalar(
            select(Bid.id).where(Bid.tender_id == tender.tender_id, Bid.bidder_id == bidders["tenderer-5"])
        )
    withdraw(platform, tender.tender_id, bidders["tenderer-5"], "tenderer-5", test_pki, str(fifth))
    pass_deadline(platform, clock, tender.tender_id)
    assert tick(platform).closed == (tender.tender_id,)
    return tender


# --- copies, snapshots and the scan ---------------------------------------------------------------


def _overrides(settings: Settings, **changes: Any) -> dict[str, Any]:
    values = settings.model_dump(mode="json", exclude_unset=True)
    values.update(changes)
    return values


@contextlib.contextmanager
def copy_of(platform: Platform, settings: Settings, root: Path) -> Iterator[Settings]:
    """Settings of a copy of the test's database and data directory (as they are now)."""
    url = make_url(settings.effective_database_url)
    shutil.copytree(settings.data_dir, root / "data")
    dropped: str | None = None
    if url.get_backend_name() == "sqlite":
        assert url.database
        target = root / "copy.db"
        with sqlite3.connect(url.database) as source, sqlite3.connect(target) as sink:
            source.backup(sink)
        database_url = f"sqlite:///{target}"
    else:
        from tests.conftest import _pg_admin, _pg_url

        dropped = f"{url.database}_copy"
        platform.engine.dispose()  # a template database must have no other connection
        admin = _pg_admin()
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{dropped}" TEMPLATE "{url.database}"'))
        admin.dispose()
        database_url = _pg_url(dropped)
    try:
        yield load_settings(
            None,
            **_overrides(
                settings,
                data_dir=str(root / "data"),
                database_url=database_url,
                redis_namespace=f"{settings.redis_namespace}-copy",
            ),
        )
    finally:
        if dropped is not None:
            from tests.conftest import _pg_admin

            admin = _pg_admin()
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{dropped}" WITH (FORCE)'))
            admin.dispose()


def log_documents(platform: Platform) -> list[bytes]:
    platform.translog.sequence()
    with platform.session_factory() as session:
        return list(session.scalars(select(LogEntry.entry).order_by(LogEntry.leaf_index)))


def of_tender(entries: list[bytes], tender_id: uuid.UUID, kind: str) -> list[dict[str, Any]]:
    documents = [json.loads(raw) for raw in entries]
    return [d for d in documents if d["type"] == kind and d.get("tender") == str(tender_id)]


def snapshot(platform: Platform, tender_id: uuid.UUID) -> dict[str, Any]:
    """What the opening left: each envelope's outcome row, the logged decisions, the record."""
    with platform.session_factory() as session:
        rows = session.scalars(select(OpeningOutcome).where(OpeningOutcome.tender_id == tender_id)).all()
        outcomes = {
            row.envelope_sha256: {
                "bid": str(row.bid_id),
                "version": row.version,
                "outcome": row.outcome,
                "reason_code": row.reason_code,
                "reason": row.reason,
                "decryption": row.decryption,
                "package_sha256": row.package_sha256,
                "middle_sha256": row.middle_sha256,
                "price_form": row.price_form,
                "signature": row.signature,
                "decided_at": row.decided_at,
            }
            for row in rows
        }
        state = session.get(OpeningSession, tender_id)
        record = published_record(session, tender_id)
        assert state is not None and record is not None
        finished, document = state.finished_at, json.loads(record.document)
    entries = log_documents(platform)
    return {
        "outcomes": outcomes,
        "finished_at": finished,
        "decided": sorted(
            json.dumps(d["data"], sort_keys=True)
            for d in of_tender(entries, tender_id, "opening.envelope_decided")
        ),
        "opened": [d["data"] for d in of_tender(entries, tender_id, "tender.opened")],
        "record": document,
    }


def forbidden_bytes(pki: BuiltPki, tender: CrashTender) -> dict[str, list[bytes]]:
    """What must not be on disk: the key's private scalar and the shares (raw, hex, base64)."""
    scalar = tender.keyed.opening_key(pki).private_numbers().private_value.to_bytes(32, "big")
    values = [scalar] + [custodian_share(pki, tender.keyed, i).value.to_bytes(32, "big") for i in (1, 2, 3)]
    encoded = [form for v in values for form in (v, v.hex().encode(), base64.b64encode(v))]
    return {"key or share": encoded}


def files_under(*roots: Path) -> Iterator[Path]:
    for root in roots:
        if root.is_file():
            yield root
        elif root.is_dir():
            yield from (path for path in root.rglob("*") if path.is_file())


def database_values(platform: Platform) -> Iterator[tuple[str, bytes]]:
    """Every value of every row of every table, as bytes."""
    metadata = MetaData()
    metadata.reflect(platform.engine)
    with platform.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in conn.execute(select(table)):
                for value in row:
                    if value is None:
                        continue
                    if isinstance(value, bytes | memoryview):
                        yield table.name, bytes(value)
                    elif isinstance(value, dict | list):
                        yield table.name, json.dumps(value, ensure_ascii=False).encode()
                    else:
                        yield table.name, str(value).encode()


def secrets_found(
    platform: Platform, pki: BuiltPki, tender: CrashTender, roots: list[Path], extra: tuple[bytes, ...] = ()
) -> list[str]:
    """Where key, share or plaintext bytes are on disk (an opened package in the blob store is not)."""
    with platform.session_factory() as session:
        kept = {
            row.bidder_id: row.package_sha256
            for row in session.scalars(
                select(OpeningOutcome).where(OpeningOutcome.tender_id == tender.tender_id)
            )
            if row.outcome == "opened" and row.package_sha256
        }
    assert isinstance(platform.blobs, FilesystemBlobStore)
    allowed = {
        name: platform.blobs._path(kept[bidder]) for name, bidder in tender.bidders.items() if bidder in kept
    }
    found: list[str] = []
    forbidden = forbidden_bytes(pki, tender)["key or share"] + [
        form for value in extra for form in (value, value.hex().encode(), base64.b64encode(value))
    ]
    for path in files_under(*roots):
        data = path.read_bytes()
        if any(secret in data for secret in forbidden):
            found.append(f"key or share in {path}")
        found.extend(
            f"{name}'s plaintext in {path}"
            for name, marker in tender.markers.items()
            if marker in data and path != allowed.get(name)
        )
    for table, value in database_values(platform):
        if any(secret in value for secret in forbidden):
            found.append(f"key or share in table {table}")
        found.extend(
            f"{name}'s plaintext in table {table}" for name, m in tender.markers.items() if m in value
        )
    return found


# --- the subprocess ------------------------------------------------------------------------------------


def releases_for(pki: BuiltPki, tender: CrashTender, positions: tuple[int, ...]) -> list[dict[str, str]]:
    """Signed releases as ``sealbid custodian release`` sends them (base64), for the subprocess."""
    out = []
    for position in positions:
        share = custodian_share(pki, tender.keyed, position)
        statement = release_statement(tender.keyed, share)
        out.append(
            {
                "statement": base64.b64encode(statement).decode(),
                "signature": base64.b64encode(
                    sign_detached(statement, custodian_signer(pki, position))
                ).decode(),
                "share": base64.b64encode(share.to_bytes()).decode(),
                "custodian": str(tender.parties.custodians[position - 1]),
                "address": f"198.51.100.{30 + position}",
            }
        )
    return out


def run_and_kill(job: dict[str, Any], scratch_tmp: Path, log: Path) -> int:
    """Start the opening subprocess, wait for its stopping point, SIGKILL it; its return code."""
    scratch_tmp.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "TMPDIR": str(scratch_tmp), "PYTHONPATH": str(REPO)}
    with log.open("wb") as errors:
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.opening.crash_child"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errors,
        )
        assert child.stdin is not None and child.stdout is not None
        try:
            child.stdin.write(json.dumps(job).encode() + b"\n")
            child.stdin.flush()
            ready, _, _ = selectors.select([child.stdout], [], [], HANG_GUARD_SECONDS)
            said = child.stdout.readline().decode().strip() if ready else "(nothing: hang guard)"
            assert said != FINISHED, "the opening finished before the stopping point (hook not reached)"
            assert said == STOPPED, f"{said!r}; stderr: {log.read_text(errors='replace')[-3000:]}"
            child.send_signal(signal.SIGKILL)
            return child.wait()
        finally:
            if child.poll() is None:
                child.kill()
                child.wait()


def database_files(settings: Settings) -> list[Path]:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        return []
    return [Path(url.database + suffix) for suffix in ("", "-wal", "-journal")]


@pytest.mark.parametrize(
    ("stop", "after"),
    [("between", 1), ("inside", 2)],
    ids=["killed-between-envelopes", "killed-inside-an-envelope"],
)
def test_an_opening_killed_with_sigkill_resumes_to_the_uninterrupted_result(
    platform: Platform,
    settings: Settings,
    clock: ManualClock,
    crash_tender: CrashTender,
    test_pki: BuiltPki,
    saved_pki: Path,
    tmp_path: Path,
    stop: str,
    after: int,
) -> None:
    tender, custodians = crash_tender, crash_tender.parties.custodians
    with copy_of(platform, settings, tmp_path / "reference") as copied:
        reference = build_platform(copied, clock=clock)
        try:
            reference.certificates.use_dev_pki(test_pki)
            for position in (1, 2):
                release(reference, test_pki, tender.keyed, custodians, position)
            assert open_envelopes(reference, tender.tender_id).state == "opened"
            expected = snapshot(reference, tender.tender_id)
        finally:
            reference.close()

    job = {
        "settings": _overrides(settings),
        "now": clock.now().isoformat(),
        "pki": str(saved_pki),
        "pki_password": PKI_PASSWORD,
        "tender": str(tender.tender_id),
        "releases": releases_for(test_pki, tender, (1, 2)),
        "stop": stop,
        "after": after,
    }
    child_tmp = tmp_path / "child-tmp"
    assert run_and_kill(job, child_tmp, tmp_path / "child.err") == -signal.SIGKILL

    with platform.session_factory() as session:
        state = session.get(OpeningSession, tender.tender_id)
        rows = session.scalars(
            select(OpeningOutcome).where(OpeningOutcome.tender_id == tender.tender_id)
        ).all()
    assert state is not None and state.state == "opening"
    opened_by_child = [r for r in rows if r.outcome and r.reason_code != "withdrawn-before-deadline"]
    assert len(opened_by_child) == after  # the kill landed where the subprocess said
    assert sum(1 for r in rows if r.outcome is None) == 4 - after

    # the restarted process holds no share: custodians release again, the opening resumes
    from crypto.ceremony import CeremonyError

    with pytest.raises(CeremonyError):
        open_envelopes(platform, tender.tender_id)
    for position in (1, 2):
        assert not release(platform, test_pki, tender.keyed, custodians, position).created
    progress = open_envelopes(platform, tender.tender_id)
    assert (progress.state, progress.decided, progress.undecided) == ("opened", 5, 0)

    result = snapshot(platform, tender.tender_id)
    outcomes = {name: result["outcomes"][_sha(tender.envelopes[name])] for name in tender.bidders}
    assert Counter(o["outcome"] for o in outcomes.values()) == {"opened": 3, "revoked": 1, "withdrawn": 1}
    assert outcomes["tenderer-4"]["reason_code"] == "bidder-mismatch"
    assert outcomes["tenderer-5"]["reason_code"] == "withdrawn-before-deadline"
    entries = log_documents(platform)
    decided = Counter(
        d["data"]["envelope_sha256"] for d in of_tender(entries, tender.tender_id, "opening.envelope_decided")
    )
    standing = {_sha(tender.envelopes[n]) for n in tender.bidders if n != "tenderer-5"}
    assert decided == dict.fromkeys(standing, 1)  # each standing envelope decided once, none lost
    assert len(of_tender(entries, tender.tender_id, "opening.started")) == 1
    assert result == expected  # the same outcomes, decisions, counts and record as an uninterrupted run
    assert check_opening(entries, str(tender.tender_id)).ok

    roots = [settings.data_dir, child_tmp, *database_files(settings)]
    assert secrets_found(platform, test_pki, tender, roots) == []


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
