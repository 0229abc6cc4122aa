"""Background tasks: Dramatiq actors fed through a transactional outbox.

Domain code calls :func:`enqueue` inside its database transaction. That writes an outbox row in the same
transaction; only when the transaction commits does the :class:`TaskQueue` send the message to the broker
(a rolled-back transaction sends nothing, a crash between commit and send is repaired by
:meth:`TaskQueue.relay`, which the worker runs periodically). Delivery is therefore at least once, so
every task must be idempotent.

With ``redis_url`` set, messages go to Redis and ``sealbid worker`` processes run them. Without it (the
embedded default) a Dramatiq ``StubBroker`` and an in-process worker thread run them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.brokers.stub import StubBroker
from sqlalchemy import JSON, Integer, String, event, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from tendering.db import Base, UTCDateTime
from tendering.errors import InvalidInput

if TYPE_CHECKING:
    from tendering.clock import Clock

log = logging.getLogger(__name__)

QUEUE = "sealbid"
_PENDING_KEY = "sealbid.outbox.pending"
_NUDGE_KEY = "sealbid.outbox.nudges"

TaskFunction = Callable[..., None]


class OutboxMessage(Base):
    """A task message written in the transaction that caused it."""

    __tablename__ = "task_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    actor: Mapped[str] = mapped_column(String(120))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)


@dataclass(frozen=True)
class TaskDefinition:
    """A named task function; the first argument it receives is the task context."""

    name: str
    function: TaskFunction
    max_retries: int = 5
    #: Sent (without arguments) every maintenance round: for idempotent sweeps of due work.
    periodic: bool = False


class TaskRegistry:
    """Declarations of task functions (not bound to any broker until a TaskQueue binds them)."""

    def __init__(self) -> None:
        self._tasks: dict[str, TaskDefinition] = {}

    def task(
        self, name: str, *, max_retries: int = 5, periodic: bool = False
    ) -> Callable[[TaskFunction], TaskFunction]:
        """Decorator: declare ``function(context, **kwargs)`` as the task ``name``.

        A ``periodic`` task takes no arguments and is sent every maintenance round
        (:meth:`TaskQueue.send_periodic`); it must be idempotent and cheap when nothing is due.
        """

        def register(function: TaskFunction) -> TaskFunction:
            if name in self._tasks:
                msg = f"task {name!r} declared twice"
                raise ValueError(msg)
            self._tasks[name] = TaskDefinition(name, function, max_retries, periodic)
            return function

        return register

    def __iter__(self) -> Iterator[TaskDefinition]:
        return iter(self._tasks.values())

    def names(self) -> set[str]:
        """All declared task names."""
        return set(self._tasks)


#: The registry every sealbid module declares its tasks in.
tasks = TaskRegistry()


def enqueue(session: Session, actor: str, clock: Clock, **kwargs: Any) -> OutboxMessage:
    """Schedule ``actor(**kwargs)`` to run after ``session``'s transaction commits."""
    message = OutboxMessage(actor=actor, payload=kwargs, created_at=clock.now(), sent_at=None)
    session.add(message)
    session.flush()
    session.info.setdefault(_PENDING_KEY, []).append(message.id)
    return message


def nudge_after_commit(session: Session, actor: str) -> None:
    """Wake ``actor`` (no arguments) once after ``session``'s transaction commits, without an outbox row.

    For idempotent catch-up tasks whose work is itself durable in the database (pending log entries,
    say) and which a periodic loop also runs: losing a nudge delays the work, never loses it, so it
    is not worth a second write per transaction. Several nudges in one transaction send one message.
    """
    session.info.setdefault(_NUDGE_KEY, set()).add(actor)


class TaskQueue:
    """Binds declared tasks to a Dramatiq broker and relays committed outbox messages to it."""

    def __init__(
        self,
        broker: dramatiq.Broker,
        session_factory: sessionmaker[Session],
        clock: Clock,
        context: object,
        registry: TaskRegistry = tasks,
    ) -> None:
        self.broker = broker
        self.session_factory = session_factory
        self.clock = clock
        self.context = context
        self.in_process = isinstance(broker, StubBroker)
        self._actors: dict[str, dramatiq.Actor[..., None]] = {}
        self._periodic = sorted(definition.name for definition in registry if definition.periodic)
        self._worker: dramatiq.Worker | None = None
        for definition in registry:
            self._bind(definition)
        event.listen(session_factory, "after_commit", self._after_commit)
        event.listen(session_factory, "after_rollback", self._after_rollback)

    def _bind(self, definition: TaskDefinition) -> None:
        context = self.context

        def run(**kwargs: Any) -> None:
            definition.function(context, **kwargs)

        run.__name__ = definition.name.replace(".", "_")
        decorate = dramatiq.actor(
            actor_name=definition.name,
            queue_name=QUEUE,
            broker=self.broker,
            max_retries=definition.max_retries,
        )
        self._actors[definition.name] = decorate(run)

    # Outbox relay -------------------------------------------------------------------------------

    def _after_commit(self, session: Session) -> None:
        pending = session.info.pop(_PENDING_KEY, [])
        if pending:
            try:
                self.send(pending)
            except Exception:  # the change is committed; the relay sends these once the broker is back
                log.exception("could not send committed outbox messages %s; the relay will retry", pending)
        for name in sorted(session.info.pop(_NUDGE_KEY, ())):
            actor = self._actors.get(name)
            if actor is None:
                log.error("nudge names unknown task %s", name)
                continue
            try:
                actor.send()
            except Exception:  # a lost nudge only delays idempotent, periodically repeated work
                log.exception("could not nudge task %s", name)

    @staticmethod
    def _after_rollback(session: Session) -> None:
        session.info.pop(_PENDING_KEY, None)
        session.info.pop(_NUDGE_KEY, None)

    def send(self, outbox_ids: list[int]) -> int:
        """Send the given committed outbox messages (unsent ones only) and mark them sent."""
        with self.session_factory() as session, session.begin():
            # Rows another sender holds are skipped, not waited for (PostgreSQL); SQLite serialises
            # writers anyway. A rare double send is harmless: every task is idempotent.
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id.in_(outbox_ids), OutboxMessage.sent_at.is_(None))
                .with_for_update(skip_locked=True)
            ).all()
            for row in rows:
                actor = self._actors.get(row.actor)
                if actor is None:
                    log.error("outbox message %s names unknown task %s", row.id, row.actor)
                    continue
                actor.send_with_options(kwargs=row.payload, outbox_id=row.id)
            sent = [row.id for row in rows if row.actor in self._actors]
            if sent:
                session.execute(
                    update(OutboxMessage).where(OutboxMessage.id.in_(sent)).values(sent_at=self.clock.now())
                )
            return len(sent)

    def send_periodic(self) -> int:
        """Send every periodic task once (the maintenance loop calls this each round)."""
        for name in self._periodic:
            self._actors[name].send()
        return len(self._periodic)

    def relay(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        """Send committed messages that were never sent (the process died after commit)."""
        cutoff = self.clock.now() - older_than
        with self.session_factory() as session:
            ids = list(
                session.scalars(
                    select(OutboxMessage.id).where(
                        OutboxMessage.sent_at.is_(None), OutboxMessage.created_at <= cutoff
                    )
                )
            )
        return self.send(ids) if ids else 0

    # Workers ------------------------------------------------------------------------------------

    def start_worker(self, threads: int = 2) -> dramatiq.Worker:
        """Start a worker in this process (the embedded default, or ``sealbid worker``)."""
        if self._worker is None:
            self._worker = dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=100)
            self._worker.start()
        return self._worker

    def join(self, timeout_ms: int = 60_000) -> None:
        """Wait until every queued message has been processed by this process's worker.

        For the demo and tests; needs :meth:`start_worker` to have been called.
        """
        if self._worker is None:
            msg = "join() needs a running worker in this process"
            raise InvalidInput(msg)
        if isinstance(self.broker, StubBroker):
            self.broker.join(QUEUE, timeout=timeout_ms, fail_fast=True)
        else:
            self.broker.join(QUEUE, timeout=timeout_ms)
        self._worker.join()

    def close(self) -> None:
        """Stop the worker and detach from the session factory."""
        if self._worker is not None:
            self._worker.stop()
            self._worker = None
        event.remove(self.session_factory, "after_commit", self._after_commit)
        event.remove(self.session_factory, "after_rollback", self._after_rollback)
        self.broker.close()


def make_broker(redis_url: str | None, namespace: str = "sealbid") -> dramatiq.Broker:
    """A Redis broker when ``redis_url`` is set, else an in-process stub broker."""
    broker: dramatiq.Broker
    broker = RedisBroker(url=redis_url, namespace=namespace) if redis_url else StubBroker()  # type: ignore[no-untyped-call]
    broker.declare_queue(QUEUE)
    return broker


def ping_broker(broker: dramatiq.Broker) -> None:
    """Raise if the broker cannot be reached."""
    if isinstance(broker, RedisBroker):
        broker.client.ping()
