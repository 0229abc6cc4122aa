"""The tender state machine through the services: every transition, every refusal, every log entry."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tendering.clock import ManualClock
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound
from tendering.identity.audit import Actor
from tendering.platform import Platform
from tendering.tenders import service
from tendering.tenders.models import TenderTransition
from tendering.tenders.schedule import tick
from tendering.tenders.workflow import ACTIONS, State
from tests.tenders.conftest import Parties, log_entries, log_types, make_spec
from tests.tenders.helpers import agency, authority, draft, published, refused, state_of

pytestmark = pytest.mark.usefixtures("parties")


def transitions(platform: Platform, tender_id: uuid.UUID) -> list[tuple[str, str | None, str]]:
    with platform.session_factory() as session:
        rows = session.scalars(
            select(TenderTransition)
            .where(TenderTransition.tender_id == tender_id)
            .order_by(TenderTransition.at)
        )
        return [(r.action, r.from_state, r.to_state) for r in rows]


def test_the_whole_review_workflow_is_logged_step_by_step(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    before = len(log_entries(platform))
    tender_id = published(platform, clock, parties)
    assert state_of(platform, tender_id) == State.PUBLISHED
    assert transitions(platform, tender_id) == [
        ("create", None, "draft"),
        ("submit", "draft", "pending_review"),
        ("approve", "pending_review", "approved"),
        ("publish", "approved", "published"),
    ]
    entries = log_entries(platform)[before:]
    assert [e["type"] for e in entries] == [
        "tender.created",
        "tender.submitted",
        "tender.approved",
        "tender.published",
    ]
    for entry in entries:
        assert entry["tender"] == str(tender_id)
        assert len(entry["data"]["content_sha256"]) == 64
        assert entry["time"].endswith("Z")
    created, _submitted, approved, publication = entries
    # Measures Art. 49: operator, role and network address of every step (private audit fields).
    assert created["_audit"] == {"operator": str(parties.agency), "role": "agency", "address": "198.51.100.7"}
    assert approved["_audit"] == {
        "operator": str(parties.authority),
        "role": "authority",
        "address": "203.0.113.9",
    }
    assert publication["actor"]["role"] == "system"
    # The public entry never names an agency or authority officer in clear; a commitment stands in.
    assert "operator" not in created["actor"] and len(created["actor"]["commitment"]) == 64
    assert publication["data"]["from"] == "approved"


def test_edit_and_withdraw_and_resubmit(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    tender = draft(platform, clock, parties)
    changed = make_spec(parties, clock.now(), title="城南道路改造工程（二次）")
    edited = service.update_draft(
        platform, tender.summary.id, changed, actor=agency(parties), expected_version=tender.version
    )
    assert edited.summary.title == "城南道路改造工程（二次）"
    assert edited.content_sha256 != tender.content_sha256
    assert log_entries(platform)[-1]["data"]["content_sha256"] == edited.content_sha256
    refused(
        Conflict,
        "tender-changed",
        service.update_draft,
        platform,
        tender.summary.id,
        changed,
        actor=agency(parties),
        expected_version=tender.version,
    )
    service.submit(platform, tender.summary.id, actor=agency(parties))
    refused(
        Conflict,
        "illegal-transition",
        service.update_draft,
        platform,
        tender.summary.id,
        changed,
        actor=agency(parties),
    )
    assert service.withdraw(platform, tender.summary.id, actor=agency(parties)).summary.state == "draft"
    assert (
        service.submit(platform, tender.summary.id, actor=agency(parties)).summary.state == "pending_review"
    )
    assert "tender.withdrawn" in log_types(platform) and "tender.edited" in log_types(platform)


def test_reject_needs_reasons_and_returns_to_draft(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    refused(
        InvalidInput,
        "reasons-required",
        service.reject,
        platform,
        tender_id,
        ["  "],
        actor=authority(parties),
    )
    assert state_of(platform, tender_id) == "pending_review"
    detail = service.reject(
        platform, tender_id, ["资格条件设置过高", "评分标准不明确"], actor=authority(parties)
    )
    assert detail.summary.state == "draft"
    assert detail.timeline[-1].reasons == ("资格条件设置过高", "评分标准不明确")
    entry = log_entries(platform)[-1]
    assert entry["type"] == "tender.rejected" and entry["data"]["reasons"] == 2
    assert "资格" not in str(entry)  # the log holds a hash of the reasons, not the text


@pytest.mark.parametrize(
    ("action", "state_setup"),
    [
        ("approve", "draft"),
        ("reject", "draft"),
        ("submit", "pending_review"),
        ("withdraw", "draft"),
        ("approve", "approved"),
        ("submit", "published"),
        ("cancel", "cancelled"),
    ],
)
def test_illegal_transitions_are_conflicts_that_change_nothing(
    platform: Platform, clock: ManualClock, parties: Parties, action: str, state_setup: str
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    steps = {
        "pending_review": ["submit"],
        "approved": ["submit", "approve"],
        "published": ["submit", "approve", "publish"],
        "cancelled": ["cancel"],
        "draft": [],
    }[state_setup]
    for step in steps:
        if step == "submit":
            service.submit(platform, tender_id, actor=agency(parties))
        elif step == "approve":
            service.approve(platform, tender_id, actor=authority(parties))
        elif step == "publish":
            clock.advance(timedelta(hours=1))
            tick(platform)
        else:
            service.cancel(platform, tender_id, "项目调整", actor=agency(parties))
    assert state_of(platform, tender_id) == state_setup
    size = len(log_entries(platform))
    calls = {
        "approve": lambda: service.approve(platform, tender_id, actor=authority(parties)),
        "reject": lambda: service.reject(platform, tender_id, ["x"], actor=authority(parties)),
        "submit": lambda: service.submit(platform, tender_id, actor=agency(parties)),
        "withdraw": lambda: service.withdraw(platform, tender_id, actor=agency(parties)),
        "cancel": lambda: service.cancel(platform, tender_id, "again", actor=agency(parties)),
    }
    with pytest.raises((Conflict, NotFound)) as caught:
        calls[action]()
    if isinstance(caught.value, Conflict):
        assert caught.value.code == "illegal-transition"
        assert caught.value.extra == {"action": action, "state": state_setup}
    else:  # the authority never sees a tender that was never submitted
        assert caught.value.code == "tender-unknown" and state_setup == "draft"
    assert state_of(platform, tender_id) == state_setup
    assert len(log_entries(platform)) == size


def test_roles_are_checked_by_the_state_machine(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    as_agency = Actor(parties.agency, "agency")
    refused(Forbidden, "role-not-allowed", service.approve, platform, tender_id, actor=as_agency)
    assert state_of(platform, tender_id) == "pending_review"
    assert ACTIONS["publish"].roles == {"system"}


def test_a_party_to_the_tender_cannot_review_it(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    for party in (parties.agency, parties.tenderee):
        as_authority = parties.actor(party, "authority")
        refused(Forbidden, "reviewer-is-party", service.approve, platform, tender_id, actor=as_authority)
        refused(
            Forbidden, "reviewer-is-party", service.reject, platform, tender_id, ["x"], actor=as_authority
        )
    assert state_of(platform, tender_id) == "pending_review"


def test_other_agencies_do_not_see_or_touch_a_tender(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    other = parties.actor(parties.other_agency, "agency")
    refused(NotFound, "tender-unknown", service.submit, platform, tender_id, actor=other)
    refused(NotFound, "tender-unknown", service.cancel, platform, tender_id, "x", actor=other)


def test_a_person_cannot_draft_for_an_agency(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    person = parties.actor(parties.authority, "agency")
    refused(
        Forbidden,
        "agency-not-organisation",
        service.create_draft,
        platform,
        make_spec(parties, clock.now()),
        actor=person,
    )


def test_unknown_tenderee_and_procedure(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    refused(
        InvalidInput, "tenderee-unknown", draft, platform, clock, parties, tenderee_uscc="91350100MA2Y0000X0"
    )
    refused(InvalidInput, "procedure-unknown", draft, platform, clock, parties, procedure="negotiated")


def test_submission_with_rule_violations_changes_nothing(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties, evaluation__criteria__0__weight="30").summary.id
    size = len(log_entries(platform))
    error = refused(
        InvalidInput, "criteria-weights-not-100", service.submit, platform, tender_id, actor=agency(parties)
    )
    assert error.extra["violations"][0]["field"] == "evaluation.criteria"
    assert state_of(platform, tender_id) == "draft"
    assert len(log_entries(platform)) == size


def test_custodians_must_hold_the_custodian_role(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    custodians = [str(parties.custodians[0]), str(parties.custodians[1]), str(parties.tenderers[0])]
    tender_id = draft(platform, clock, parties, opening__custodians=custodians).summary.id
    refused(
        InvalidInput, "custodian-not-eligible", service.submit, platform, tender_id, actor=agency(parties)
    )


def test_approval_checks_the_rules_again_from_now(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    clock.advance(timedelta(days=6))  # the planned publication passed; from now the bid period is < 20 days
    error = refused(
        InvalidInput,
        "document-period-too-short",
        service.approve,
        platform,
        tender_id,
        actor=authority(parties),
    )
    assert [v["code"] for v in error.extra["violations"]] == [
        "document-period-too-short",
        "bid-period-too-short",
    ]
    assert "Law Art. 24" in error.detail
    assert state_of(platform, tender_id) == "pending_review"


def test_a_late_approval_publishes_now(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    clock.advance(timedelta(hours=3))
    approved = service.approve(platform, tender_id, actor=authority(parties))
    assert approved.spec.timetable.publication_time == clock.now()
    assert approved.spec.timetable.document_period_start == clock.now()
    assert tick(platform).published == (tender_id,)


def test_publication_waits_for_its_time_and_is_idempotent(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    service.approve(platform, tender_id, actor=authority(parties))
    assert service.publish(platform, tender_id) is False  # not yet: publication is an hour away
    assert tick(platform).published == ()
    clock.advance(timedelta(minutes=59, seconds=59))
    assert tick(platform).published == ()
    clock.advance(timedelta(seconds=1))
    assert tick(platform).published == (tender_id,)
    assert tick(platform).published == ()
    assert service.publish(platform, tender_id) is False
    assert log_types(platform).count("tender.published") == 1


def test_publication_through_the_outbox_task(
    platform: Platform, clock: ManualClock, parties: Parties
) -> None:
    """With the publication time already come, the task sent after the approval commits publishes."""
    tender_id = draft(platform, clock, parties).summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    clock.advance(timedelta(hours=2))
    platform.tasks.start_worker()
    service.approve(platform, tender_id, actor=authority(parties))
    platform.tasks.join()
    assert state_of(platform, tender_id) == "published"


@pytest.mark.parametrize("stage", ["draft", "pending_review", "approved", "published"])
def test_cancel_with_a_reason_from_every_open_state(
    platform: Platform, clock: ManualClock, parties: Parties, stage: str
) -> None:
    tender_id = draft(platform, clock, parties).summary.id
    if stage != "draft":
        service.submit(platform, tender_id, actor=agency(parties))
    if stage in ("approved", "published"):
        service.approve(platform, tender_id, actor=authority(parties))
    if stage == "published":
        clock.advance(timedelta(hours=1))
        tick(platform)
    refused(InvalidInput, "reason-required", service.cancel, platform, tender_id, " ", actor=agency(parties))
    detail = service.cancel(platform, tender_id, "项目资金未落实", actor=agency(parties))
    assert detail.summary.state == "cancelled"
    assert (detail.end_code, detail.end_reason) == ("cancelled", "项目资金未落实")
    notices = [(n.kind, n.title, n.body) for n in detail.notices]
    expected = [("cancellation", detail.summary.title, "项目资金未落实")] if stage == "published" else []
    assert notices == expected
    assert log_types(platform)[-1] == "tender.cancelled"
    clock.advance(timedelta(days=1))
    assert tick(platform).published == ()  # an approved-then-cancelled tender is never published


def test_fail_only_after_the_deadline(platform: Platform, clock: ManualClock, parties: Parties) -> None:
    tender_id = published(platform, clock, parties)
    refused(Conflict, "tender-not-closed", service.fail, platform, tender_id, "仅 2 家投标")
    refused(InvalidInput, "reason-required", service.fail, platform, tender_id, "")
    clock.advance(timedelta(days=25))
    assert service.fail_if_too_few_bids(platform, tender_id, 3) is False
    assert state_of(platform, tender_id) == "published"
    assert service.fail_if_too_few_bids(platform, tender_id, 2) is True
    assert state_of(platform, tender_id) == "failed"
    entry = log_entries(platform)[-1]
    assert entry["type"] == "tender.failed" and entry["data"]["code"] == "too-few-bids"
    refused(Conflict, "illegal-transition", service.fail, platform, tender_id, "again")
    with platform.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(TenderTransition)) >= 5
