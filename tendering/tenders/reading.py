"""Read use cases for the API, each in its own read-only session (the query functions take sessions)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tendering.errors import Forbidden
from tendering.identity.audit import Actor
from tendering.tenders import documents, notices, organisations, queries, supervision
from tendering.tenders.rules import Violation
from tendering.tenders.service import check_rules
from tendering.tenders.store import load, tender_not_found
from tendering.tenders.views import DocumentView, NoticeView, TenderDetail, TenderSummary

if TYPE_CHECKING:
    from tendering.platform import Platform


def _me(actor: Actor) -> uuid.UUID:
    if actor.identity_id is None:
        raise Forbidden("this needs a logged-in organisation", code="login-required")
    return actor.identity_id


def public_list(
    platform: Platform, filters: queries.PublicFilter, *, limit: int, offset: int
) -> tuple[int, list[TenderSummary]]:
    """A page of published tenders and the total count."""
    with platform.session_factory() as session:
        return queries.list_public(session, filters, limit=limit, offset=offset)


def public_detail(platform: Platform, tender_id: uuid.UUID) -> TenderDetail:
    """A published tender as anyone may see it."""
    with platform.session_factory() as session:
        return queries.public_tender(session, tender_id, platform.procedures)


def public_notices(platform: Platform, tender_id: uuid.UUID) -> tuple[str, list[NoticeView]]:
    """The time zone and notices of a published tender."""
    with platform.session_factory() as session:
        tender = load(session, tender_id)
        if tender.published_at is None:
            raise tender_not_found()
        return tender.time_zone, queries.notices_of(session, tender_id)


def procedure_table(platform: Platform, region: str | None = None) -> list[dict[str, Any]]:
    """The platform's procedure table resolved for ``region`` (national defaults when None)."""
    table = platform.procedures
    return [table.rules(procedure, region).public_document() for procedure in table.procedures]


def agency_list(platform: Platform, actor: Actor, state: str | None = None) -> list[TenderSummary]:
    """The acting agency's tenders."""
    with platform.session_factory() as session:
        return queries.agency_tenders(session, _me(actor), state)


def agency_detail(platform: Platform, tender_id: uuid.UUID, actor: Actor) -> TenderDetail:
    """One of the acting agency's tenders."""
    with platform.session_factory() as session:
        return queries.agency_tender(session, tender_id, _me(actor), platform.procedures)


def agency_check(platform: Platform, tender_id: uuid.UUID, actor: Actor) -> list[Violation]:
    """The rule violations a submission now would meet (a dry run)."""
    with platform.session_factory() as session:
        tender = load(session, tender_id)
        if tender.agency_id != _me(actor):
            raise tender_not_found()
        return check_rules(session, tender, platform.clock.now(), platform.procedures)


def agency_questions(platform: Platform, tender_id: uuid.UUID, actor: Actor) -> list[dict[str, Any]]:
    """Questions on the agency's tender (without their authors)."""
    with platform.session_factory() as session:
        return notices.questions_for_agency(session, tender_id, _me(actor))


def agency_documents(
    platform: Platform, tender_id: uuid.UUID, actor: Actor
) -> tuple[str, list[DocumentView]]:
    """The time zone and every document version of the agency's tender."""
    with platform.session_factory() as session:
        zone = load(session, tender_id).time_zone
        return zone, documents.agency_documents(session, tender_id, _me(actor))


def review_queue(platform: Platform) -> list[TenderSummary]:
    """Tenders waiting for review."""
    with platform.session_factory() as session:
        return queries.review_queue(session)


def authority_detail(platform: Platform, tender_id: uuid.UUID) -> TenderDetail:
    """A submitted tender as the authority sees it."""
    with platform.session_factory() as session:
        return queries.authority_tender(session, tender_id, platform.procedures)


def my_downloads(
    platform: Platform, actor: Actor, tender_id: uuid.UUID | None = None
) -> list[dict[str, Any]]:
    """The acting organisation's own download records."""
    with platform.session_factory() as session:
        return documents.my_downloads(session, _me(actor), tender_id)


def my_notices(platform: Platform, actor: Actor) -> list[dict[str, Any]]:
    """Notices delivered to the acting organisation."""
    with platform.session_factory() as session:
        return notices.notices_delivered_to(session, _me(actor))


def my_profile(platform: Platform, actor: Actor) -> dict[str, Any]:
    """The acting organisation's profile."""
    with platform.session_factory() as session:
        return organisations.profile_document(session, _me(actor))


def warnings(
    platform: Platform,
    *,
    agency_id: uuid.UUID | None = None,
    tender_id: uuid.UUID | None = None,
    level: str | None = None,
    include_resolved: bool = False,
    limit: int = 200,
    offset: int = 0,
) -> list[supervision.WarningView]:
    """Supervision warnings, open ones unless ``include_resolved``."""
    with platform.session_factory() as session:
        return supervision.list_warnings(
            session,
            agency_id=agency_id,
            tender_id=tender_id,
            level=level,
            include_resolved=include_resolved,
            limit=limit,
            offset=offset,
        )


def warning_counts(platform: Platform) -> list[dict[str, Any]]:
    """Open warnings per agency."""
    with platform.session_factory() as session:
        return supervision.warning_counts(session)
