"""The platform services every domain uses, built once from settings and passed down.

A :class:`Platform` holds the clock, the database engine and session factory, the blob store and the
task queue. The API app factory, the CLI, the worker and tests each build one; there are no module-level
singletons.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import dramatiq
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from tendering.bids import uploads as _bid_uploads
from tendering.blobs import BlobStore, FilesystemBlobStore
from tendering.clock import AcceleratedClock, Clock, SystemClock
from tendering.db import make_engine, make_session_factory, ping
from tendering.identity.checker import PlatformCertificateChecker
from tendering.identity.tokens import TokenService
from tendering.opening import schedule as _opening_tasks  # also registers the opening.* tasks
from tendering.settings import Settings
from tendering.tasks import TaskQueue, make_broker, ping_broker
from tendering.tenders import schedule as _tender_tasks  # also registers the tenders.* tasks
from tendering.tenders.procedures import ProcedureTable, load_table
from tendering.translog import TransparencyLog

log = logging.getLogger(__name__)


@dataclass
class Platform:
    """Settings plus the live platform services built from them."""

    settings: Settings
    clock: Clock
    engine: Engine
    session_factory: sessionmaker[Session]
    blobs: BlobStore
    broker: dramatiq.Broker
    tasks: TaskQueue = field(init=False)
    translog: TransparencyLog = field(init=False)
    certificates: PlatformCertificateChecker = field(init=False)
    tokens: TokenService = field(init=False)
    #: The procedure table every rule check reads (``settings.procedure_table_file`` or the shipped one).
    procedures: ProcedureTable = field(init=False)
    _maintenance_stop: threading.Event | None = field(default=None, init=False, repr=False)

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A unit of work: commit on success (then send its tasks), roll back on any exception."""
        with self.session_factory() as session, session.begin():
            yield session

    def readiness(self) -> dict[str, str]:
        """Check database, broker and blob store; the value is "ok" or the failure."""
        checks: dict[str, str] = {}
        probes: dict[str, Callable[[], None]] = {
            "database": lambda: ping(self.engine),
            "broker": lambda: ping_broker(self.broker),
            "blobs": self.blobs.ping,
        }
        for name, probe in probes.items():
            try:
                probe()
                checks[name] = "ok"
            except Exception as exc:  # noqa: BLE001 - a readiness probe reports every failure
                # The detail (hosts, users) stays in the server's log; the public answer names the kind.
                log.warning("readiness check %s failed: %s", name, exc)
                checks[name] = f"unavailable ({type(exc).__name__})"
        return checks

    def maintenance(self) -> None:
        """Periodic catch-up: send outbox messages a crash left unsent, integrate pending log entries.

        Never raises: a failure is logged and the next round tries again. ``sealbid worker`` runs it
        in its loop; in the embedded default the app runs it in a thread (:meth:`start_maintenance`).
        """
        jobs: dict[str, Callable[[], object]] = {
            "outbox relay": self.tasks.relay,
            "log sequencer": self.translog.sequence,
            "tender schedule": lambda: _tender_tasks.tick(self),  # due publications, supervision warnings
            "opening schedule": lambda: _opening_tasks.tick(self),  # closing at deadlines, decryption windows
            "periodic tasks": self.tasks.send_periodic,  # e.g. experts.sweep: confirmation timers
            "bid uploads": lambda: _bid_uploads.sweep_expired(self),  # abandoned resumable uploads
        }
        for name, job in jobs.items():
            try:
                job()
            except Exception:
                log.exception("%s failed; the next maintenance round retries", name)

    def start_maintenance(self, interval: float | None = None) -> None:
        """Run :meth:`maintenance` every ``interval`` seconds (default from settings) until :meth:`close`."""
        if self._maintenance_stop is not None:
            return
        interval = interval or self.settings.maintenance_interval_seconds
        stop = self._maintenance_stop = threading.Event()

        def loop() -> None:
            while not stop.wait(interval):
                self.maintenance()

        threading.Thread(target=loop, name="sealbid-maintenance", daemon=True).start()

    def close(self) -> None:
        """Stop maintenance and workers and release connections."""
        if self._maintenance_stop is not None:
            self._maintenance_stop.set()
            self._maintenance_stop = None
        self.tasks.close()
        self.engine.dispose()


def clock_from_settings(settings: Settings) -> Clock:
    """The system clock, or an accelerated one in a sandbox."""
    return AcceleratedClock(settings.clock_speed) if settings.clock_speed != 1.0 else SystemClock()


def build_platform(
    settings: Settings,
    *,
    clock: Clock | None = None,
    blobs: BlobStore | None = None,
    engine: Engine | None = None,
) -> Platform:
    """Build the platform services described by ``settings`` (parts may be injected by tests)."""
    procedures = load_table(settings.procedure_table_file)  # a bad table stops the start-up here
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = engine or make_engine(
        settings.effective_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
    )
    platform = Platform(
        settings=settings,
        clock=clock or clock_from_settings(settings),
        engine=engine,
        session_factory=make_session_factory(engine),
        blobs=blobs or FilesystemBlobStore(settings.effective_blob_dir),
        broker=make_broker(settings.redis_url, settings.redis_namespace),
    )
    platform.procedures = procedures
    platform.translog = TransparencyLog(settings, platform.session_factory, platform.clock)
    platform.tasks = TaskQueue(platform.broker, platform.session_factory, platform.clock, platform)
    platform.certificates = PlatformCertificateChecker(settings, platform.clock.now)
    platform.tokens = TokenService(
        settings.effective_token_secret_file,
        issuer=settings.public_url,
        ttl_seconds=settings.token_ttl_seconds,
        create_secret=settings.environment != "production",
    )
    return platform
