"""Clarifications, amendments (Law Art. 23: a late one moves the deadline) and questions."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tendering.clock import ManualClock
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLate
from tendering.platform import Platform
from tendering.tenders import queries, reading
from tendering.tenders.notices import AmendmentSpec, amend, ask_question
from tendering.tenders.spec import utc_text
from tendering.tenders.supervision_models import SupervisedStep
from tests.tenders.conftest import Parties, log_entries
from tests.tenders.helpers import agency, draft, fetch, published, refused, tenderer

pytestmark = pytest.mark.usefixtures("parties")


def notice(**fields: object) -> AmendmentSpec:
    return AmendmentSpec.model_validate(
        {"title": "澄清与修改（一）", "body": "第 3.2 条修改如下。", **fields}
    )


def test_an_early_amendment_keeps_the_deadline(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    before = reading.public_detail(platform, tender_id)
    clock.advance(timedelta(days=5))  # 20 days before the deadline
    published_notice = amend(platform, tender_id, notice(), actor=agency(parties))
    assert (published_notice.number, published_notice.kind, published_notice.new_bid_deadline) == (
        1,
        "amendment",
        None,
    )
    after = reading.public_detail(platform, tender_id)
    assert after.summary.bid_deadline == before.summary.bid_deadline
    assert [n.title for n in after.notices] == ["澄清与修改（一）"]
    assert [t.action for t in after.timeline] == ["publish", "amend"]
    entry = log_entries(platform)[-1]
    assert entry["type"] == "tender.amended"
    assert entry["data"]["number"] == 1 and "bid_deadline" not in entry["data"]
    assert "第 3.2 条" not in str(entry)  # only the notice's hash


def test_a_late_amendment_must_move_the_deadline(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    old = reading.public_detail(platform, tender_id)
    clock.advance(timedelta(days=11))  # 14 days before the deadline
    size = len(log_entries(platform))
    error = refused(
        TooLate,
        "amendment-requires-new-deadline",
        amend,
        platform,
        tender_id,
        notice(),
        actor=agency(parties),
    )
    earliest = clock.now() + timedelta(days=15)
    assert error.extra["earliest"] == utc_text(earliest)
    assert "Law Art. 23" in error.detail
    too_early = notice(new_bid_deadline=(earliest - timedelta(minutes=1)).isoformat())
    refused(
        InvalidInput, "new-deadline-too-early", amend, platform, tender_id, too_early, actor=agency(parties)
    )
    assert len(log_entries(platform)) == size  # refusals change nothing
    assert reading.public_detail(platform, tender_id).notices == ()

    moved = amend(platform, tender_id, notice(new_bid_deadline=earliest.isoformat()), actor=agency(parties))
    assert moved.previous_bid_deadline == old.summary.bid_deadline
    assert moved.new_bid_deadline == earliest
    detail = reading.public_detail(platform, tender_id)
    assert detail.summary.bid_deadline == earliest
    shift = earliest - old.summary.bid_deadline
    assert detail.spec.timetable.evaluation_date == old.spec.timetable.evaluation_date + shift
    assert detail.content_sha256 != old.content_sha256
    assert log_entries(platform)[-1]["data"]["bid_deadline"] == utc_text(earliest)


def test_a_naive_new_deadline_is_read_in_the_tenders_zone(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties)
    clock.advance(timedelta(days=11))
    moved = amend(platform, tender_id, notice(new_bid_deadline="2026-02-20T09:00:00"), actor=agency(parties))
    assert utc_text(moved.new_bid_deadline or clock.now()) == "2026-02-20T01:00:00Z"


def test_amendments_only_on_published_tenders_before_the_deadline(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    refused(Conflict, "illegal-transition", amend, platform, tender_id, notice(), actor=agency(parties))
    live = published(platform, clock, parties)
    other = parties.actor(parties.other_agency, "agency")
    refused(NotFound, "tender-unknown", amend, platform, live, notice(), actor=other)
    clock.advance(timedelta(days=25))
    refused(TooLate, "tender-closed", amend, platform, live, notice(), actor=agency(parties))


def test_a_moved_timetable_is_checked_again(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    tender_id = published(platform, clock, parties)
    bad = notice(new_evaluation_date=(clock.now() + timedelta(days=1)).isoformat())
    refused(
        InvalidInput, "evaluation-before-deadline", amend, platform, tender_id, bad, actor=agency(parties)
    )


def test_notices_are_delivered_to_those_who_obtained_the_documents(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": b"%PDF-1.7 tender"})
    (document,) = reading.public_detail(platform, tender_id).documents
    fetch(platform, parties, tender_id, document.id, 0)
    fetch(platform, parties, tender_id, document.id, 0)
    amend(platform, tender_id, notice(), actor=agency(parties))
    inbox = reading.my_notices(platform, tenderer(parties, 0))
    assert [(n["tender"]["id"], n["number"]) for n in inbox] == [(str(tender_id), 1)]
    assert reading.my_notices(platform, tenderer(parties, 1)) == []


def test_questions_are_anonymous_and_answered_by_clarification(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": b"%PDF-1.7 tender"})
    (document,) = reading.public_detail(platform, tender_id).documents
    refused(
        Forbidden,
        "documents-not-obtained",
        ask_question,
        platform,
        tender_id,
        "工期能否顺延？",
        actor=tenderer(parties),
    )
    fetch(platform, parties, tender_id, document.id)
    refused(
        InvalidInput, "question-invalid", ask_question, platform, tender_id, "  ", actor=tenderer(parties)
    )
    question = ask_question(platform, tender_id, "工期能否顺延？", actor=tenderer(parties))
    entry = log_entries(platform)[-1]
    assert entry["type"] == "tender.question_asked"
    assert entry["tender"] is None and set(entry["data"]) == {"record"}  # blinded (Law Art. 22)
    listed = reading.agency_questions(platform, tender_id, agency(parties))
    assert listed == [
        {
            "id": str(question.id),
            "text": "工期能否顺延？",
            "asked_at": utc_text(clock.now()),
            "answered_at": None,
            "notice_id": None,
        }
    ]
    assert str(parties.tenderers[0]) not in str(listed)
    answer = notice(kind="clarification", title="澄清（一）", body="工期不变。", answers=[str(question.id)])
    clarification = amend(platform, tender_id, answer, actor=agency(parties))
    (view,) = reading.public_detail(platform, tender_id).notices
    assert view.questions == ("工期能否顺延？",) and view.kind == "clarification"
    refused(Conflict, "question-answered", amend, platform, tender_id, answer, actor=agency(parties))
    assert reading.agency_questions(platform, tender_id, agency(parties))[0]["notice_id"] == str(
        clarification.id
    )
    with platform.session_factory() as session:
        step = session.query(SupervisedStep).filter_by(subject=str(question.id)).one()
        assert (step.step, step.status, step.confidential) == ("clarification_answer", "done", True)
    unknown = notice(answers=["00000000-0000-4000-8000-000000000000"])
    refused(InvalidInput, "question-unknown", amend, platform, tender_id, unknown, actor=agency(parties))


def test_questions_close_at_the_clarification_deadline(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = published(platform, clock, parties, documents={"a.pdf": b"a"})
    (document,) = reading.public_detail(platform, tender_id).documents
    fetch(platform, parties, tender_id, document.id)
    clock.advance(timedelta(days=10, seconds=1))
    refused(
        TooLate,
        "clarification-closed",
        ask_question,
        platform,
        tender_id,
        "还能问吗？",
        actor=tenderer(parties),
    )


def test_notices_of_unpublished_tenders_are_not_public(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    refused(NotFound, "tender-unknown", reading.public_notices, platform, tender_id)
    with platform.session_factory() as session:
        assert queries.notices_of(session, tender_id) == []
