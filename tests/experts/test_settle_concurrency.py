"""Concurrent declines in one committee take distinct replacements (the request row serialises them)."""

from __future__ import annotations

import threading
import uuid

from experts.committee import SettleResult, settle
from tendering.platform import Platform
from tests.experts.pool_helpers import Drawn, assignments, system


def test_concurrent_declines_take_distinct_next_experts(platform: Platform, drawn: Drawn) -> None:
    members = [a.id for a in assignments(platform, drawn.request_id) if a.role == "member"]
    results: dict[uuid.UUID, SettleResult] = {}
    errors: list[BaseException] = []
    start = threading.Barrier(len(members))

    def decline(assignment_id: uuid.UUID) -> None:
        try:
            start.wait()
            with platform.transaction() as session:
                results[assignment_id] = settle(
                    session, platform, assignment_id, "declined", actor=system(), evidence={}
                )
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=decline, args=(m,)) for m in members]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    replacements = [r.replacement_id for r in results.values()]
    assert None not in replacements
    assert len(set(replacements)) == len(members)
    rows = assignments(platform, drawn.request_id)
    assert len({a.expert_id for a in rows}) == len(rows)
    assert sorted(a.rank for a in rows) == list(range(len(rows)))
