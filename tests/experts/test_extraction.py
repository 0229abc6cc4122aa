"""Extraction requests: checks, avoidance rules one by one, short pools, the log, recheck and release."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from experts.committee import settle
from experts.draw_public import RESULT_STATES, reveal_due, reveal_secret
from experts.extraction import PoolShort
from experts.pool_models import (
    ExpertAssignment,
    ExpertListRead,
    ExpertParticipation,
    ExpertUnavailability,
    ExtractionRequest,
)
from experts.release import recheck_avoidance, release_to_session
from tendering.clock import ManualClock
from tendering.errors import Conflict, Forbidden, InvalidInput, TooLate
from tendering.identity.audit import Actor
from tendering.identity.models import Organisation
from tendering.platform import Platform
from tendering.translog.models import LogCheckpoint, LogEntry
from tests.experts.pool_helpers import (
    Drawn,
    ExpertSpec,
    add_experts,
    assignments,
    draw_for,
    end_tender,
    many,
    system,
)
from tests.tenders.conftest import Parties
from tests.tenders.helpers import authority, published


def _entries(platform: Platform) -> list[dict[str, Any]]:
    platform.translog.sequence()
    with platform.session_factory() as session:
        return [
            json.loads(bytes(e))
            for e in session.scalars(select(LogEntry.entry).order_by(LogEntry.leaf_index))
        ]


def _request(platform: Platform, request_id: uuid.UUID) -> ExtractionRequest:
    with platform.session_factory() as session:
        request = session.get(ExtractionRequest, request_id)
        assert request is not None
        return request


def _uscc(platform: Platform, identity: uuid.UUID) -> str:
    with platform.session_factory() as session:
        code = session.scalar(select(Organisation.uscc).where(Organisation.identity_id == identity))
        assert code is not None
        return code


def test_the_seed_checkpoint_is_the_first_after_the_commitment(platform: Platform, drawn: Drawn) -> None:
    entries = _entries(platform)
    committed = [i for i, e in enumerate(entries) if e["type"] == "experts.draw_committed"]
    drawn_at = [i for i, e in enumerate(entries) if e["type"] == "experts.drawn"]
    assert len(committed) == len(drawn_at) == 1
    request = _request(platform, drawn.request_id)
    assert request.commitment_index == committed[0]
    with platform.session_factory() as session:
        sizes = sorted(session.scalars(select(LogCheckpoint.size)))
    assert request.checkpoint_size == min(size for size in sizes if size > committed[0])
    assert drawn_at[0] >= (request.checkpoint_size or 0)  # the draw comes after its seed checkpoint
    data = entries[committed[0]]["data"]
    assert data["secret_sha256"] == request.secret_commitment
    assert data["lines"] == [{"specialty": "A0101", "count": 4, "reserves": 2, "eligible": 12}]
    assert entries[drawn_at[0]]["data"]["checkpoint_root"] == (request.checkpoint_root or b"").hex()


RULES = (
    "employer-tenderee",
    "employer-agency",
    "manual",
    "region",
    "recent",
    "suspended",
    "retired",
    "unavailable",
)


@pytest.mark.parametrize("rule", RULES)
def test_each_avoidance_rule_keeps_the_expert_out(
    platform: Platform, clock: ManualClock, parties: Parties, rule: str
) -> None:
    tender_id = published(platform, clock, parties)
    good = add_experts(platform, many(4, region="310101"))
    bad_spec = {
        "employer-tenderee": ExpertSpec(region="310101", uscc=parties.tenderee_uscc),
        "employer-agency": ExpertSpec(region="310101", uscc=_uscc(platform, parties.agency)),
        "region": ExpertSpec(region="350102", employer=7),
        "suspended": ExpertSpec(region="310101", status="suspended"),
        "retired": ExpertSpec(region="310101", status="retired"),
    }.get(rule, ExpertSpec(region="310101", employer=9))
    (bad,) = add_experts(platform, [bad_spec], start=100)
    evaluation = clock.now() + timedelta(days=2)
    if rule == "recent":
        with platform.transaction() as session:
            session.add(
                ExpertParticipation(
                    expert_id=bad,
                    tender_id=None,
                    tenderee_uscc=parties.tenderee_uscc,
                    evaluation_date=evaluation.date() - timedelta(days=30),
                    outcome="confirmed",
                    recorded_at=clock.now(),
                )
            )
    if rule == "unavailable":
        with platform.transaction() as session:
            day = evaluation.date()
            session.add(ExpertUnavailability(expert_id=bad, start_date=day - timedelta(days=1), end_date=day))
    extra: dict[str, Any] = {}
    if rule == "manual":
        extra["manual_avoid"] = {bad: "与投标人存在利害关系"}
    if rule == "region":
        extra["exclude_same_region"] = True
    request_id = draw_for(platform, clock, tender_id, parties, lines=[("A0101", 4, 3)], **extra)
    drawn_ids = {a.expert_id for a in assignments(platform, request_id)}
    assert drawn_ids == set(good)
    committed = next(e for e in _entries(platform) if e["type"] == "experts.draw_committed")
    logged_rule = {"employer-tenderee": "employer", "employer-agency": "employer"}.get(rule, rule)
    logged_rule = "status" if rule in ("suspended", "retired") else logged_rule
    assert committed["data"]["avoided"] == {logged_rule: 1}
    assert committed["data"]["lines"][0]["eligible"] == 4


def test_participation_outside_the_window_or_with_another_tenderee_does_not_avoid(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    ids = add_experts(platform, many(5))
    window = platform.settings.experts.recent_participation_days
    with platform.transaction() as session:
        for expert_id, days, tenderee in (
            (ids[0], window + 5, parties.tenderee_uscc),
            (ids[1], 3, "91350102MA00000000"),
        ):
            session.add(
                ExpertParticipation(
                    expert_id=expert_id,
                    tender_id=None,
                    tenderee_uscc=tenderee,
                    evaluation_date=(clock.now() + timedelta(days=2)).date() - timedelta(days=days),
                    outcome="confirmed",
                    recorded_at=clock.now(),
                )
            )
    request_id = draw_for(platform, clock, tender_id, parties, lines=[("A0101", 4, 1)])
    assert len(assignments(platform, request_id)) == 5


def test_a_short_pool_is_refused_naming_the_specialty_and_numbers(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    add_experts(platform, many(3, specialties=("A0101",)))
    add_experts(platform, many(5, specialties=("B0101",)), start=50)
    with pytest.raises(PoolShort) as caught:
        draw_for(platform, clock, tender_id, parties, lines=[("A0101", 4, 0)])
    assert "A0101" in caught.value.detail
    assert (caught.value.extra["needed"], caught.value.extra["eligible"]) == (4, 3)
    with platform.session_factory() as session:
        assert session.scalar(select(ExtractionRequest.id)) is None
    assert not any(e["type"].startswith("experts.draw") for e in _entries(platform))


def test_a_parent_code_request_is_met_by_child_specialties(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    add_experts(platform, many(2, specialties=("A0101",)))
    add_experts(platform, many(2, specialties=("A0102", "C0201")), start=10)
    add_experts(platform, many(3, specialties=("B0101",)), start=20)
    request_id = draw_for(platform, clock, tender_id, parties, lines=[("A01", 4, 0)])
    assert len(assignments(platform, request_id)) == 4


@pytest.mark.parametrize(
    ("lines", "code"),
    [
        ([("A0101", 3, 0)], "expert-committee-size"),
        ([("A0101", 2, 0), ("A0101", 2, 0)], "expert-line-duplicate"),
        ([("Z9999", 4, 0)], "expert-specialty-unknown"),
        ([], "expert-lines-empty"),
    ],
)
def test_bad_lines_are_refused(
    platform: Platform, clock: ManualClock, parties: Parties, lines: list[tuple[str, int, int]], code: str
) -> None:
    tender_id = published(platform, clock, parties)
    add_experts(platform, many(10))
    with pytest.raises(InvalidInput) as caught:
        draw_for(platform, clock, tender_id, parties, lines=lines)
    assert caught.value.code == code


def test_only_the_tenders_agency_asks_and_only_once(
    platform: Platform, clock: ManualClock, parties: Parties, drawn: Drawn
) -> None:
    from experts.extraction import DrawRequest, LineRequest, request_draw

    ask = DrawRequest(
        drawn.tender_id, clock.now() + timedelta(days=3), "评标室", [LineRequest("A0101", 4, 0)]
    )
    for actor in (authority(parties), parties.actor(parties.other_agency, "agency")):
        with pytest.raises(Forbidden):
            request_draw(platform, ask, actor=actor)
    with pytest.raises(Conflict) as caught:
        request_draw(platform, ask, actor=parties.actor(parties.agency, "agency"))
    assert caught.value.code == "expert-request-exists"


def test_recheck_avoids_bidders_employees_and_replaces_them_in_order(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    add_experts(platform, many(12))
    request_id = draw_for(platform, clock, tender_id, parties)
    rows = assignments(platform, request_id)
    with platform.session_factory() as session:
        from experts.pool_models import Expert

        victim = session.get(Expert, rows[1].expert_id)
        assert victim is not None
        bidder_uscc = victim.employer_uscc
    with platform.transaction() as session:
        result = recheck_avoidance(session, platform, request_id, [bidder_uscc], actor=system())
    assert result.avoided == (rows[1].id,)
    assert result.replacements == (rows[4].id,)  # the first reserve
    after = {a.id: a for a in assignments(platform, request_id)}
    assert after[rows[1].id].status == "avoided"
    assert (after[rows[4].id].role, after[rows[4].id].status) == ("member", "pending")
    with platform.transaction() as session:
        again = recheck_avoidance(session, platform, request_id, [bidder_uscc], actor=system())
    assert again.avoided == ()
    types = [e["type"] for e in _entries(platform)]
    assert types.count("experts.avoidance_rechecked") == 2
    assert types.count("experts.assignment_avoided") == 1
    with platform.transaction() as session, pytest.raises(InvalidInput):
        recheck_avoidance(session, platform, request_id, ["not-a-uscc"], actor=system())


def test_the_list_is_released_only_when_the_session_starts(
    platform: Platform, clock: ManualClock, drawn: Drawn
) -> None:
    rows = [a for a in assignments(platform, drawn.request_id) if a.role == "member"]
    with platform.transaction() as session:
        settle(session, platform, rows[0].id, "confirmed", actor=system(), evidence={})
        settle(session, platform, rows[1].id, "confirmed", actor=system(), evidence={})
    with platform.transaction() as session, pytest.raises(TooLate):
        release_to_session(session, platform, drawn.request_id, reader=system())
    with platform.transaction() as session, pytest.raises(Forbidden):
        release_to_session(session, platform, drawn.request_id, reader=Actor(uuid.uuid4(), "agency"))
    with platform.transaction() as session:  # a recheck before the bid deadline does not count
        recheck_avoidance(session, platform, drawn.request_id, [], actor=system())
    clock.advance(timedelta(days=26))  # past the bid deadline and the evaluation time
    with platform.transaction() as session, pytest.raises(Conflict) as unchecked:
        release_to_session(session, platform, drawn.request_id, reader=system())
    assert unchecked.value.code == "expert-recheck-pending"
    with platform.transaction() as session:
        recheck_avoidance(session, platform, drawn.request_id, [], actor=system())
        members = release_to_session(session, platform, drawn.request_id, reader=system())
    assert [m.assignment_id for m in members] == [rows[0].id, rows[1].id]
    assert all(m.name.startswith("专家") for m in members)
    with platform.session_factory() as session:
        purposes = [r.purpose for r in session.scalars(select(ExpertListRead))]
    assert purposes == ["session", "session"]


def test_the_secret_waits_for_the_result_even_after_the_evaluation(
    platform: Platform, clock: ManualClock, parties: Parties, drawn: Drawn
) -> None:
    with platform.transaction() as session, pytest.raises(TooLate) as early:
        reveal_secret(session, platform, drawn.request_id, actor=authority(parties))
    assert early.value.code == "expert-reveal-before-result"
    clock.advance(timedelta(days=26))  # past the bid deadline and the evaluation: still no result
    with platform.transaction() as session, pytest.raises(TooLate) as still:
        reveal_secret(session, platform, drawn.request_id, actor=authority(parties))
    assert still.value.code == "expert-reveal-before-result"
    assert reveal_due(platform) == []  # the maintenance sweep leaves it sealed too
    assert _request(platform, drawn.request_id).revealed_secret is None
    end_tender(platform, parties, drawn.tender_id)
    with platform.transaction() as session, pytest.raises(Forbidden):
        reveal_secret(session, platform, drawn.request_id, actor=parties.actor(parties.agency, "agency"))
    with platform.transaction() as session:
        secret = reveal_secret(session, platform, drawn.request_id, actor=authority(parties))
    with platform.transaction() as session:
        assert reveal_secret(session, platform, drawn.request_id, actor=authority(parties)) == secret
    assert reveal_due(platform) == []  # already revealed: nothing due
    revealed = [e for e in _entries(platform) if e["type"] == "experts.secret_revealed"]
    assert [e["data"]["secret"] for e in revealed] == [secret]
    assert (
        _request(platform, drawn.request_id).secret_commitment
        == __import__("hashlib").sha256(bytes.fromhex(secret)).hexdigest()
    )
    with platform.session_factory() as session:
        assert session.scalar(select(ExpertAssignment.id).where(ExpertAssignment.status == "avoided")) is None


def test_the_maintenance_sweep_reveals_a_draw_once_its_tender_ended(
    platform: Platform, clock: ManualClock, parties: Parties, drawn: Drawn
) -> None:
    other = published(platform, clock, parties)
    add_experts(platform, many(12), start=100)
    still_open = draw_for(platform, clock, other, parties)
    end_tender(platform, parties, drawn.tender_id)  # cancelled: the result is settled, the draw is due
    assert reveal_due(platform) == [drawn.request_id]
    assert _request(platform, drawn.request_id).state == "revealed"
    assert _request(platform, still_open).revealed_secret is None
    assert reveal_due(platform) == []
    revealed = [e for e in _entries(platform) if e["type"] == "experts.secret_revealed"]
    assert [(e["data"]["request"], e["actor"]["role"]) for e in revealed] == [
        (str(drawn.request_id), "system")
    ]


def test_the_reveal_is_a_periodic_task_of_the_maintenance_loop() -> None:
    from experts.tasks import REVEAL_TASK
    from tendering.tasks import tasks

    assert {d.name: d.periodic for d in tasks}[REVEAL_TASK] is True
    assert "awarded" in RESULT_STATES and {"cancelled", "failed"} <= RESULT_STATES
    assert "published" not in RESULT_STATES


def test_an_interrupted_draw_is_completed_by_asking_again(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    from experts.extraction import DrawRequest, LineRequest, commit_request, request_draw

    tender_id = published(platform, clock, parties)
    add_experts(platform, many(8))
    ask = DrawRequest(tender_id, clock.now() + timedelta(days=2), "评标室", [LineRequest("A0101", 4, 1)])
    agency = parties.actor(parties.agency, "agency")
    request_id, _ = commit_request(platform, ask, actor=agency)  # the process dies before the draw
    assert _request(platform, request_id).state == "committed"
    again = DrawRequest(tender_id, clock.now() + timedelta(days=3), "别处", [LineRequest("A0101", 4, 3)])
    assert request_draw(platform, again, actor=agency) == request_id
    request = _request(platform, request_id)
    assert (request.state, request.evaluation_place) == ("drawn", "评标室")
    assert len(assignments(platform, request_id)) == 5
    types = [e["type"] for e in _entries(platform)]
    assert (types.count("experts.draw_committed"), types.count("experts.drawn")) == (1, 1)


def test_a_draw_that_comes_out_short_is_recorded_and_refused(
    platform: Platform, clock: ManualClock, parties: Parties, monkeypatch: pytest.MonkeyPatch
) -> None:
    from experts.draw_math import DrawShort

    def short(*_: object) -> None:
        raise DrawShort(0, "A0101", 4, 3)

    monkeypatch.setattr("experts.draw_math.select", short)
    tender_id = published(platform, clock, parties)
    add_experts(platform, many(8))
    with pytest.raises(PoolShort) as caught:
        draw_for(platform, clock, tender_id, parties, lines=[("A0101", 4, 1)])
    assert (caught.value.extra["specialty"], caught.value.extra["needed"]) == ("A0101", 4)
    request_id = uuid.UUID(caught.value.extra["request"])
    assert _request(platform, request_id).state == "short"
    assert "experts.draw_short" in [e["type"] for e in _entries(platform)]
    monkeypatch.undo()
    assert draw_for(platform, clock, tender_id, parties, lines=[("A0101", 4, 1)]) != request_id
