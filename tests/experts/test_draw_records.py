"""A drawn request's line sequences are computed once per process, not on every replacement."""

from __future__ import annotations

import pytest

from experts import draw_math, draw_records
from experts.committee import settle
from experts.pool_models import ExtractionRequest
from tendering.platform import Platform
from tests.experts.pool_helpers import Drawn, assignments, system

pytestmark = pytest.mark.usefixtures("hold_confirmations")  # the test settles by hand


def test_replacements_reuse_the_sequences_of_the_request(
    platform: Platform, drawn: Drawn, monkeypatch: pytest.MonkeyPatch
) -> None:
    orders: list[int] = []
    real = draw_math.order

    def counting(seed: bytes, ids: object) -> object:
        orders.append(1)
        return real(seed, ids)  # type: ignore[arg-type]

    monkeypatch.setattr(draw_math, "order", counting)
    pending = next(a for a in assignments(platform, drawn.request_id) if a.role == "member").id
    for _ in range(4):  # two reserves, then two experts from further down the order
        with platform.transaction() as session:
            result = settle(session, platform, pending, "declined", actor=system(), evidence={})
        assert result.replacement_id is not None
        pending = result.replacement_id
    ranks = sorted(a.rank for a in assignments(platform, drawn.request_id))
    assert ranks == list(range(8))  # the order was followed: ranks 6 and 7 came from the sequence
    assert len(orders) == 1  # the first replacement from the order computed it; the second reused it
    with platform.session_factory() as session:
        request = session.get(ExtractionRequest, drawn.request_id)
        assert request is not None
        assert draw_records.sequences(session, platform.settings, request) == draw_records.compute_sequences(
            session, platform.settings, request
        )
