"""The session start through the API: avoidance rechecked against the tender's bidders, then the release;
and the participation history for the pool administrators."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from sqlalchemy import select

from crypto.pki import BuiltPki
from experts.committee import settle
from experts.pool_models import Expert, ExpertListRead, ExtractionRequest
from tendering.bids.models import Bid
from tendering.clock import ManualClock
from tendering.platform import Platform
from tests.experts.pool_helpers import Drawn, assignments, end_tender, system
from tests.identity.conftest import enrol, token_for
from tests.tenders.conftest import Parties

pytestmark = pytest.mark.usefixtures("hold_confirmations")  # the tests settle by hand

Client = TestClient[Litestar]
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def as_(app_client: Client, test_pki: BuiltPki, platform: Platform) -> Headers:
    """Authorization headers for a participant of the test PKI (admin enrolled too)."""
    enrol(platform, test_pki.signing("admin"), "admin")
    return lambda name: token_for(app_client, test_pki.signing(name))


def _bid(platform: Platform, drawn: Drawn, bidder: uuid.UUID, uscc: str) -> None:
    now = platform.clock.now()
    with platform.transaction() as session:
        session.add(
            Bid(
                id=uuid.uuid4(),
                tender_id=drawn.tender_id,
                bidder_id=bidder,
                bidder_uscc=uscc,
                lots=[1],
                state="active",
                current_version=1,
                salt=b"\x00" * 32,
                created_at=now,
                updated_at=now,
            )
        )


def _employer(platform: Platform, expert_id: uuid.UUID) -> str:
    with platform.session_factory() as session:
        expert = session.get(Expert, expert_id)
        assert expert is not None
        return expert.employer_uscc


def test_the_session_start_avoids_the_bidders_employees_and_releases_the_confirmed(
    app_client: Client, as_: Headers, platform: Platform, clock: ManualClock, parties: Parties, drawn: Drawn
) -> None:
    members = [a for a in assignments(platform, drawn.request_id) if a.role == "member"]
    with platform.transaction() as session:
        for member in members:
            settle(session, platform, member.id, "confirmed", actor=system(), evidence={})
    _bid(platform, drawn, parties.tenderers[0], _employer(platform, members[1].expert_id))
    url = f"/authority/expert-draws/{drawn.request_id}/session-start"
    early = app_client.post(url, headers=as_("reviewer"))
    assert (early.status_code, early.json()["code"]) == (409, "expert-session-not-started")
    with platform.session_factory() as session:  # refused before anything changed
        request = session.get(ExtractionRequest, drawn.request_id)
        assert request is not None and request.rechecked_at is None
    assert app_client.post(url, headers=as_("agency")).status_code == 403
    clock.advance(timedelta(days=26))  # the bids are in, the evaluation time has come
    started = app_client.post(url, headers=as_("reviewer"))
    assert started.status_code == 200, started.text
    body = started.json()
    assert (body["bidders"], body["avoided"]) == (1, 1)
    assert body["replacements"] == [
        str(next(a for a in assignments(platform, drawn.request_id) if a.rank == 4).id)
    ]
    released = [m["assignment"] for m in body["members"]]
    assert released == [str(m.id) for m in members if m.id != members[1].id]  # the avoided one is not
    assert all(m["name"].startswith("专家") for m in body["members"])
    with platform.session_factory() as session:
        reads = list(session.scalars(select(ExpertListRead).where(ExpertListRead.purpose == "session")))
    assert len(reads) == 3


def test_participations_are_listed_once_the_tender_has_its_result(
    app_client: Client, as_: Headers, platform: Platform, parties: Parties, drawn: Drawn
) -> None:
    members = [a for a in assignments(platform, drawn.request_id) if a.role == "member"]
    with platform.transaction() as session:
        settle(session, platform, members[0].id, "confirmed", actor=system(), evidence={})
        settle(session, platform, members[1].id, "declined", actor=system(), evidence={})
    url = f"/experts/pool/{members[0].expert_id}/participations"
    sealed = app_client.get(url, headers=as_("admin"))
    assert sealed.status_code == 200
    assert sealed.json()["participations"] == []  # the committee is confidential until the result
    end_tender(platform, parties, drawn.tender_id)
    history = app_client.get(url, headers=as_("admin")).json()["participations"]
    assert [(h["tender"], h["outcome"], h["tenderee_uscc"]) for h in history] == [
        (str(drawn.tender_id), "confirmed", parties.tenderee_uscc)
    ]
    declined = app_client.get(f"/experts/pool/{members[1].expert_id}/participations", headers=as_("reviewer"))
    assert [h["outcome"] for h in declined.json()["participations"]] == ["declined"]
    assert app_client.get(url, headers=as_("agency")).status_code == 403
    unknown = app_client.get(f"/experts/pool/{uuid.uuid4()}/participations", headers=as_("admin"))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "expert-unknown")
