"""The maintenance sweep: what a lost message or nudge left behind is picked up, and failures never stop it."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import func, select

from tendering.platform import Platform
from tendering.translog import LogActor, LogEvent
from tendering.translog.models import LogPending


def _pending(platform: Platform) -> int:
    with platform.session_factory() as session:
        return int(session.scalar(select(func.count()).select_from(LogPending)) or 0)


def _submit_without_nudge(platform: Platform) -> None:
    platform.translog.trigger_task = False  # as if the wake-up message had been lost
    with platform.transaction() as session:
        platform.translog.submit(session, LogEvent("test.event", LogActor.system(), data={"n": 1}))


def test_maintenance_integrates_entries_whose_nudge_was_lost(platform: Platform) -> None:
    platform.translog.checkpoint()
    _submit_without_nudge(platform)
    assert _pending(platform) == 1
    platform.maintenance()
    assert _pending(platform) == 0
    assert platform.translog.checkpoint().size == 2


def test_maintenance_thread_runs_until_close(platform: Platform) -> None:
    platform.translog.checkpoint()
    _submit_without_nudge(platform)
    platform.start_maintenance(interval=0.05)
    deadline = time.monotonic() + 10
    while _pending(platform) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _pending(platform) == 0


def test_a_failing_job_is_logged_and_the_others_still_run(
    platform: Platform, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    platform.translog.checkpoint()
    _submit_without_nudge(platform)

    def broken(*args: object, **kwargs: object) -> int:
        raise RuntimeError("database hiccup")

    monkeypatch.setattr(platform.tasks, "relay", broken)
    platform.maintenance()
    assert "outbox relay failed" in caplog.text
    assert _pending(platform) == 0
