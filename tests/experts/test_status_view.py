"""The supervisor's status view: counts from the assignment statuses and the pool_short alerts."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from crypto.pki import BuiltPki
from experts.committee import settle
from experts.draw_public import status_view
from tendering.platform import Platform
from tests.experts.pool_helpers import Drawn, assignments, system
from tests.identity.conftest import token_for

pytestmark = pytest.mark.usefixtures("hold_confirmations")  # the tests settle by hand


def test_counts_follow_the_outcomes_and_show_the_short_alert(
    platform: Platform, drawn: Drawn, app_client: TestClient[Litestar], test_pki: BuiltPki
) -> None:
    members = [a for a in assignments(platform, drawn.request_id) if a.role == "member"]
    with platform.transaction() as session:
        settle(session, platform, members[0].id, "confirmed", actor=system(), evidence={})
        settle(session, platform, members[1].id, "declined", actor=system(), evidence={})
    with platform.session_factory() as session:
        view = status_view(session, drawn.request_id)
    (line,) = view["lines"]
    assert (
        line["confirmed"],
        line["pending"],
        line["declined"],
        line["reserves_waiting"],
        line["short"],
    ) == (
        1,
        3,
        1,
        1,
        0,
    )
    assert view["alerts"] == []
    pending = [
        a.id for a in assignments(platform, drawn.request_id) if a.status == "pending" and a.role == "member"
    ]
    while pending:  # everyone else says no: the order of 12 runs out
        with platform.transaction() as session:
            result = settle(session, platform, pending.pop(), "no_answer", actor=system(), evidence={})
        if result.replacement_id:
            pending.append(result.replacement_id)
    with platform.session_factory() as session:
        view = status_view(session, drawn.request_id, "en")
    assert view["totals"]["confirmed"] == 1
    assert view["totals"]["short"] == 3
    (alert,) = view["alerts"]
    assert (alert["kind"], alert["specialty"]) == ("pool_short", "A0101")
    assert "Structural engineering" in alert["message"]
    headers = {**token_for(app_client, test_pki.signing("reviewer")), "Accept-Language": "zh-CN"}
    served = app_client.get(f"/authority/expert-draws/{drawn.request_id}", headers=headers).json()
    assert "建筑结构" in served["alerts"][0]["message"]
    assert served["totals"]["short"] == 3
