"""Tender use cases: draft, edit, submit, withdraw, review, publish, cancel, fail.

One function per use case, each its own transaction on the platform. Rule checks read the procedure
table; a refusal raises a :mod:`tendering.errors` error and changes nothing (the transaction rolls
back). Amendments, questions and documents live in :mod:`~tendering.tenders.notices` and
:mod:`~tendering.tenders.documents`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tendering.errors import Conflict, Forbidden, InvalidInput
from tendering.identity.audit import Actor
from tendering.identity.models import Organisation
from tendering.identity.registry import active_roles
from tendering.tasks import enqueue
from tendering.tenders import queries, supervision
from tendering.tenders.events import text_sha256
from tendering.tenders.models import Tender
from tendering.tenders.notice_models import TenderDocument
from tendering.tenders.notices import deliver_notice, new_notice
from tendering.tenders.procedures import ProcedureRules, ProcedureTable
from tendering.tenders.rules import Violation, check_spec, effective_timetable, refuse
from tendering.tenders.spec import TenderSpec, utc_text
from tendering.tenders.store import (
    apply_spec,
    apply_timetable,
    load,
    organisation_by_uscc,
    spec_of,
    tender_not_found,
    unit,
)
from tendering.tenders.views import TenderDetail
from tendering.tenders.workflow import State, ensure_allowed, transition

if TYPE_CHECKING:
    from tendering.platform import Platform

PUBLISH_TASK = "tenders.publish"


def rules_for(tender: Tender, table: ProcedureTable) -> ProcedureRules:
    """The procedure table's rules for this tender's procedure and region (``table``: the platform's,
    ``platform.procedures``)."""
    return table.rules(tender.procedure, tender.region)


def _owned(session: Session, tender_id: uuid.UUID, actor: Actor, *, lock: bool = True) -> Tender:
    tender = load(session, tender_id, lock=lock)
    if tender.agency_id != actor.identity_id:
        raise tender_not_found()
    return tender


def _agency_organisation(session: Session, actor: Actor) -> Organisation:
    organisation = session.get(Organisation, actor.identity_id) if actor.identity_id else None
    if organisation is None:
        raise Forbidden(
            "tenders are drafted by an agency organisation's certificate", code="agency-not-organisation"
        )
    return organisation


def _check_custodians(session: Session, spec: TenderSpec) -> list[Violation]:
    return [
        Violation(
            "custodian-not-eligible",
            f"identity {identity_id} does not hold the custodian role",
            "opening.custodians",
        )
        for identity_id in spec.opening.custodians
        if "custodian" not in active_roles(session, identity_id)
    ]


def check_rules(session: Session, tender: Tender, now: datetime, table: ProcedureTable) -> list[Violation]:
    """Every rule violation of the stored tender, with the timetable as it would run from ``now``."""
    spec = spec_of(session, tender)
    return check_spec(spec, rules_for(tender, table), now) + _check_custodians(session, spec)


def _version_guard(expected: int | None, tender: Tender) -> None:
    if expected is not None and expected != tender.version:
        raise Conflict(
            f"the tender changed (version {tender.version}, you had {expected}); reload it",
            code="tender-changed",
            version=tender.version,
        )


def _detail(platform: Platform, session: Session, tender: Tender, audience: str) -> TenderDetail:
    session.flush()  # a concurrent change surfaces here (StaleDataError -> Conflict in ``unit``)
    return queries.detail(session, tender, audience, platform.procedures)


def create_draft(platform: Platform, spec: TenderSpec, *, actor: Actor) -> TenderDetail:
    """A new draft by the acting agency (the shape is checked; the rules are checked at submission).
    A spec without a time zone is in the platform's ``default_time_zone``."""
    spec = spec.with_zone(platform.settings.default_time_zone)
    platform.procedures.rules(spec.procedure, spec.region)  # the procedure must exist
    now = platform.clock.now()
    with unit(platform) as session:
        _agency_organisation(session, actor)
        tenderee = organisation_by_uscc(session, spec.tenderee_uscc)
        tender = Tender(
            id=uuid.uuid4(),
            agency_id=actor.identity_id,
            state=str(State.DRAFT),
            created_at=now,
            updated_at=now,
        )
        apply_spec(tender, spec, tenderee.identity_id)
        session.add(tender)
        session.flush()
        transition(platform, session, tender, "create", actor)
        return _detail(platform, session, tender, "agency")


def update_draft(
    platform: Platform,
    tender_id: uuid.UUID,
    spec: TenderSpec,
    *,
    actor: Actor,
    expected_version: int | None = None,
) -> TenderDetail:
    """Replace the content of a draft (only drafts can be edited); without a time zone the spec is in
    the platform's ``default_time_zone``."""
    spec = spec.with_zone(platform.settings.default_time_zone)
    platform.procedures.rules(spec.procedure, spec.region)
    with unit(platform) as session:
        tender = _owned(session, tender_id, actor)
        _version_guard(expected_version, tender)
        ensure_allowed(tender, "edit", actor)
        tenderee = organisation_by_uscc(session, spec.tenderee_uscc)
        apply_spec(tender, spec, tenderee.identity_id)
        transition(platform, session, tender, "edit", actor)  # logs the new content's hash
        return _detail(platform, session, tender, "agency")


def submit(platform: Platform, tender_id: uuid.UUID, *, actor: Actor) -> TenderDetail:
    """Send a draft to the authority for review; every table rule must hold."""
    now = platform.clock.now()
    with unit(platform) as session:
        tender = _owned(session, tender_id, actor)
        ensure_allowed(tender, "submit", actor)
        refuse(check_rules(session, tender, now, platform.procedures))
        tender.submitted_at = now
        transition(platform, session, tender, "submit", actor)
        supervision.open_step(
            session,
            tender,
            rules_for(tender, platform.procedures),
            "review",
            started_at=now,
            responsible="authority",
        )
        return _detail(platform, session, tender, "agency")


def withdraw(platform: Platform, tender_id: uuid.UUID, *, actor: Actor) -> TenderDetail:
    """Take a submission back to draft before the authority has decided."""
    with unit(platform) as session:
        tender = _owned(session, tender_id, actor)
        transition(platform, session, tender, "withdraw", actor)
        supervision.cancel_steps(session, tender.id, platform.clock.now())
        return _detail(platform, session, tender, "agency")


def _under_review(session: Session, tender_id: uuid.UUID, actor: Actor, action: str) -> Tender:
    tender = load(session, tender_id, lock=True)
    if tender.submitted_at is None:
        raise tender_not_found()
    ensure_allowed(tender, action, actor)
    if actor.identity_id is not None and actor.identity_id in (tender.agency_id, tender.tenderee_id):
        raise Forbidden("nobody reviews a tender of its own organisation", code="reviewer-is-party")
    return tender


def approve(platform: Platform, tender_id: uuid.UUID, *, actor: Actor) -> TenderDetail:
    """The authority approves: the rules are checked again from now, and publication is scheduled.

    A publication time already past becomes now (and the documents cannot be issued before it); the
    ``tenders.publish`` task leaves through the outbox after the commit and publishes at once when due.
    """
    now = platform.clock.now()
    with unit(platform) as session:
        tender = _under_review(session, tender_id, actor, "approve")
        refuse(check_rules(session, tender, now, platform.procedures))
        apply_timetable(tender, effective_timetable(spec_of(session, tender).timetable, now))
        tender.content_sha256 = spec_of(session, tender).sha256()
        tender.approved_at = now
        transition(
            platform,
            session,
            tender,
            "approve",
            actor,
            log_data={"publication_time": utc_text(tender.publication_time)},
        )
        supervision.close_step(session, tender.id, "review", now)
        supervision.open_step(
            session,
            tender,
            rules_for(tender, platform.procedures),
            "publication",
            started_at=tender.publication_time,
            responsible="system",
        )
        enqueue(session, PUBLISH_TASK, platform.clock, tender_id=str(tender.id))
        return _detail(platform, session, tender, "authority")


def reject(platform: Platform, tender_id: uuid.UUID, reasons: Sequence[str], *, actor: Actor) -> TenderDetail:
    """The authority sends a submission back to draft; at least one reason is required."""
    cleaned = [reason.strip() for reason in reasons if reason and reason.strip()]
    if not cleaned:
        raise InvalidInput("a rejection must give its reasons", code="reasons-required")
    with unit(platform) as session:
        tender = _under_review(session, tender_id, actor, "reject")
        transition(
            platform,
            session,
            tender,
            "reject",
            actor,
            reasons=cleaned,
            log_data={"reasons_sha256": text_sha256("\n".join(cleaned)), "reasons": len(cleaned)},
        )
        supervision.close_step(session, tender.id, "review", platform.clock.now())
        return _detail(platform, session, tender, "authority")


def publish(platform: Platform, tender_id: uuid.UUID) -> bool:
    """Publish an approved tender whose publication time has come (idempotent: False if nothing to do,
    also when a concurrent run published it first)."""
    try:
        return _publish(platform, tender_id)
    except Conflict as exc:
        if exc.code == "tender-changed":
            return False
        raise


def _publish(platform: Platform, tender_id: uuid.UUID) -> bool:
    now = platform.clock.now()
    with unit(platform) as session:
        tender = session.scalar(select(Tender).where(Tender.id == tender_id).with_for_update())
        if tender is None or tender.state != State.APPROVED or tender.publication_time > now:
            return False
        tender.published_at = now
        transition(
            platform,
            session,
            tender,
            "publish",
            Actor.system(),
            log_data={"published_at": utc_text(now), "bid_deadline": utc_text(tender.bid_deadline)},
        )
        session.execute(
            update(TenderDocument)
            .where(
                TenderDocument.tender_id == tender.id,
                TenderDocument.released_at.is_(None),
                TenderDocument.notice_id.is_(None),
            )
            .values(released_at=now)
        )
        supervision.close_step(session, tender.id, "publication", now)
        return True


def publish_due(platform: Platform) -> list[uuid.UUID]:
    """Publish every approved tender whose publication time has come; returns their ids."""
    now = platform.clock.now()
    with platform.session_factory() as session:
        due = list(
            session.scalars(
                select(Tender.id)
                .where(Tender.state == State.APPROVED, Tender.publication_time <= now)
                .order_by(Tender.publication_time)
            )
        )
    return [tender_id for tender_id in due if publish(platform, tender_id)]


def cancel(
    platform: Platform, tender_id: uuid.UUID, reason: str, *, actor: Actor, title: str | None = None
) -> TenderDetail:
    """Cancel a tender with a reason; a published one gets a public cancellation notice (titled
    ``title``, by default the tender's own title: the notice's kind says what it is)."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a cancellation must say why", code="reason-required")
    now = platform.clock.now()
    with unit(platform) as session:
        tender = _owned(session, tender_id, actor)
        was_published = tender.published_at is not None
        transition(
            platform,
            session,
            tender,
            "cancel",
            actor,
            reasons=[reason],
            public=was_published,
            log_data={"reason_sha256": text_sha256(reason)},
        )
        tender.closed_at = now
        tender.end_code, tender.end_reason = "cancelled", reason
        if was_published:
            heading = (title or "").strip() or tender.title
            notice = new_notice(session, tender, "cancellation", heading, reason, now=now)
            deliver_notice(session, notice, now)
        supervision.cancel_steps(session, tender.id, now)
        return _detail(platform, session, tender, "agency")


def fail(
    platform: Platform,
    tender_id: uuid.UUID,
    reason: str,
    *,
    actor: Actor | None = None,
    code: str = "too-few-bids",
) -> TenderDetail:
    """End a published tender as failed (流标) after its deadline, e.g. with too few bids to open."""
    actor = actor or Actor.system()
    reason = reason.strip()
    if not reason:
        raise InvalidInput("a failed tender must say why", code="reason-required")
    now = platform.clock.now()
    with unit(platform) as session:
        tender = load(session, tender_id, lock=True)
        if actor.role == "agency" and tender.agency_id != actor.identity_id:
            raise tender_not_found()
        if tender.state == State.PUBLISHED and now < tender.bid_deadline:
            raise Conflict(
                f"the bid deadline {utc_text(tender.bid_deadline)} has not passed", code="tender-not-closed"
            )
        transition(
            platform,
            session,
            tender,
            "fail",
            actor,
            reasons=[reason],
            details={"code": code},
            log_data={"code": code, "reason_sha256": text_sha256(reason)},
        )
        tender.closed_at = now
        tender.end_code, tender.end_reason = code, reason
        supervision.cancel_steps(session, tender.id, now)
        return _detail(platform, session, tender, "public")


def fail_if_too_few_bids(platform: Platform, tender_id: uuid.UUID, bids: int) -> bool:
    """For the opening: fail the tender when ``bids`` is below the table's minimum (Regs Art. 44)."""
    with platform.session_factory() as session:
        rules = rules_for(load(session, tender_id), platform.procedures)
    if bids >= rules.min_bids:
        return False
    fail(platform, tender_id, f"{bids} bid(s) received; at least {rules.min_bids} are needed to open")
    return True
