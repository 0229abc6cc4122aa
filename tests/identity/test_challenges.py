"""Challenges are consumed atomically: of many concurrent attempts with one challenge, one wins."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from tendering.errors import TooLate
from tendering.identity.challenges import consume_challenge, issue_challenge
from tendering.platform import Platform


def test_concurrent_consumption_has_exactly_one_winner(platform: Platform) -> None:
    with platform.transaction() as session:
        view = issue_challenge(session, now=platform.clock.now(), audience="a", ttl_seconds=60)
    barrier = threading.Barrier(8)

    def attempt() -> str:
        barrier.wait()
        try:
            with platform.transaction() as session:
                consume_challenge(session, view.id, now=platform.clock.now())
        except TooLate as exc:
            return exc.code
        return "won"

    with ThreadPoolExecutor(8) as pool:
        outcomes = sorted(pool.map(lambda _: attempt(), range(8)))
    assert outcomes == ["challenge-used"] * 7 + ["won"]


def test_expired_challenges_are_purged_a_day_later(platform: Platform) -> None:
    from datetime import timedelta

    from sqlalchemy import func, select

    from tendering.identity.models import LoginChallenge

    with platform.transaction() as session:
        issue_challenge(session, now=platform.clock.now(), audience="a", ttl_seconds=60)
    later = platform.clock.now() + timedelta(days=1, minutes=2)
    with platform.transaction() as session:
        issue_challenge(session, now=later, audience="a", ttl_seconds=60)
        assert session.scalar(select(func.count()).select_from(LoginChallenge)) == 1
