"""Tasks leave only after their transaction commits, exactly as the outbox promises."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from tendering.clock import ManualClock
from tendering.db import make_session_factory
from tendering.platform import Platform
from tendering.tasks import OutboxMessage, TaskQueue, TaskRegistry, enqueue, make_broker


class Recorder:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.lock = threading.Lock()


@pytest.fixture
def queue(platform: Platform, clock: ManualClock) -> Iterator[tuple[TaskQueue, Recorder]]:
    registry = TaskRegistry()
    recorder = Recorder()

    @registry.task("test.record", max_retries=0)
    def record(context: Recorder, **kwargs: Any) -> None:
        with context.lock:
            context.calls.append(kwargs)

    settings = platform.settings
    broker = make_broker(settings.redis_url, settings.redis_namespace + "-q")
    the_queue = TaskQueue(broker, make_session_factory(platform.engine), clock, recorder, registry)
    the_queue.start_worker(threads=1)
    yield the_queue, recorder
    the_queue.close()


def test_committed_transaction_sends_its_task_once(queue: tuple[TaskQueue, Recorder]) -> None:
    tasks, recorder = queue
    with tasks.session_factory() as session, session.begin():
        enqueue(session, "test.record", tasks.clock, tender="t-1", step=1)
    tasks.join()
    assert recorder.calls == [{"tender": "t-1", "step": 1}]
    with tasks.session_factory() as session:
        row = session.scalars(select(OutboxMessage)).one()
        assert row.sent_at is not None
    assert tasks.relay(older_than=timedelta(0)) == 0  # nothing is sent twice


def test_rolled_back_transaction_sends_nothing(queue: tuple[TaskQueue, Recorder]) -> None:
    tasks, recorder = queue
    with pytest.raises(RuntimeError), tasks.session_factory() as session, session.begin():
        enqueue(session, "test.record", tasks.clock, tender="t-2")
        raise RuntimeError("the state change failed")
    tasks.join()
    assert recorder.calls == []
    with tasks.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0


def test_relay_sends_what_a_crash_left_unsent(queue: tuple[TaskQueue, Recorder], clock: ManualClock) -> None:
    tasks, recorder = queue
    # A process that committed but died before sending: the row is there, unsent.
    with tasks.session_factory() as session, session.begin():
        session.add(OutboxMessage(actor="test.record", payload={"n": 7}, created_at=clock.now()))
    assert tasks.relay(older_than=timedelta(seconds=30)) == 0  # too fresh: its own sender may still act
    clock.advance(timedelta(minutes=1))
    assert tasks.relay(older_than=timedelta(seconds=30)) == 1
    tasks.join()
    assert recorder.calls == [{"n": 7}]
    assert tasks.relay(older_than=timedelta(0)) == 0


def test_unknown_task_stays_unsent(queue: tuple[TaskQueue, Recorder]) -> None:
    tasks, recorder = queue
    with tasks.session_factory() as session, session.begin():
        enqueue(session, "test.nobody-declared-this", tasks.clock)
    tasks.join()
    with tasks.session_factory() as session:
        assert session.scalars(select(OutboxMessage.sent_at)).one() is None
    assert recorder.calls == []


def test_declaring_a_task_twice_is_an_error() -> None:
    registry = TaskRegistry()
    registry.task("x")(lambda context: None)
    with pytest.raises(ValueError, match="declared twice"):
        registry.task("x")(lambda context: None)


def test_broker_outage_after_commit_does_not_fail_the_committed_change(
    queue: tuple[TaskQueue, Recorder], monkeypatch: pytest.MonkeyPatch, clock: ManualClock
) -> None:
    tasks, recorder = queue

    def down(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("broker down")

    with monkeypatch.context() as patch:
        patch.setattr(tasks.broker, "enqueue", down)
        with tasks.session_factory() as session, session.begin():
            enqueue(session, "test.record", clock, n=1)  # commit succeeds although sending fails
    with tasks.session_factory() as session:
        assert session.scalars(select(OutboxMessage.sent_at)).one() is None
    clock.advance(timedelta(minutes=1))
    assert tasks.relay() == 1  # the broker is back: the relay delivers it
    tasks.join()
    assert recorder.calls == [{"n": 1}]
