"""Concurrent submitters and two competing sequencers lose nothing and never duplicate an index.

On PostgreSQL this is real concurrency (threads, separate connections, the advisory lock); on SQLite
the database write lock serialises the writers.
"""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from crypto.merkle import EMPTY_ROOT
from tendering.db import make_engine, make_session_factory
from tendering.platform import Platform
from tendering.translog import TransparencyLog
from tendering.translog.models import LogCheckpoint, LogNode, LogPending
from tests.translog.helpers import all_entries, bid_event, memory_tree

THREADS = 8
PER_THREAD = 25


def test_concurrent_submitters_and_sequencers(platform: Platform) -> None:
    # A second sequencer with its own engine stands for another worker process.
    other_engine = make_engine(platform.settings.effective_database_url)
    other = TransparencyLog(platform.settings, make_session_factory(other_engine), platform.clock)
    platform.translog.checkpoint()
    submitted: list[bytes] = []
    lock = threading.Lock()
    errors: list[BaseException] = []
    done = threading.Event()

    def submitter(worker: int) -> None:
        try:
            for n in range(PER_THREAD):
                with platform.transaction() as session:
                    entry = platform.translog.submit(session, bid_event(worker * 1000 + n)).entry
                with lock:
                    submitted.append(entry)
        except BaseException as exc:
            errors.append(exc)

    def sequencer(log: TransparencyLog) -> None:
        try:
            while not done.is_set():
                log.sequence(max_batch=7)
        except BaseException as exc:
            errors.append(exc)

    submitters = [threading.Thread(target=submitter, args=(w,)) for w in range(THREADS)]
    sequencers = [threading.Thread(target=sequencer, args=(log,)) for log in (platform.translog, other)]
    for thread in [*sequencers, *submitters]:
        thread.start()
    for thread in submitters:
        thread.join()
    done.set()
    for thread in sequencers:
        thread.join()
    other_engine.dispose()
    assert not errors, errors

    platform.translog.sequence()
    entries = all_entries(platform)
    assert [index for index, _, _ in entries] == list(range(THREADS * PER_THREAD + 1))
    assert sorted(entry for _, entry, _ in entries[1:]) == sorted(submitted)
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(LogPending)) == 0
        checkpoints = session.execute(select(LogCheckpoint.size, LogCheckpoint.root)).all()
        nodes = session.scalar(select(func.count()).select_from(LogNode))
    raw = [entry for _, entry, _ in entries]
    for size, root in checkpoints:
        assert bytes(root) == (memory_tree(raw[:size]).root() if size else EMPTY_ROOT), size
    assert nodes == memory_tree(raw).node_count()


def test_concurrent_waiters_in_two_processes_each_get_their_own_index(platform: Platform) -> None:
    # Receipt waiters in two "processes" (logs with their own engines and memories of what they
    # integrated): each must get the index its own entry was given, whichever process integrated it.
    other_engine = make_engine(platform.settings.effective_database_url)
    other = TransparencyLog(platform.settings, make_session_factory(other_engine), platform.clock)
    platform.translog.checkpoint()
    answers: dict[bytes, int] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def waiter(worker: int, log: TransparencyLog) -> None:
        try:
            for n in range(PER_THREAD):
                with log.session_factory() as session, session.begin():
                    submitted = log.submit(session, bid_event(worker * 1000 + n), nudge=False)
                index = log.wait_integrated(submitted.pending_id)
                with lock:
                    answers[submitted.entry] = index
        except BaseException as exc:
            errors.append(exc)

    threads = [
        threading.Thread(target=waiter, args=(w, platform.translog if w % 2 else other))
        for w in range(THREADS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    other_engine.dispose()
    assert not errors, errors
    entries = all_entries(platform)
    assert len(answers) == THREADS * PER_THREAD
    assert {entry: index for index, entry, _ in entries[1:]} == answers
