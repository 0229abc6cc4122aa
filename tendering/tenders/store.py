"""Between a :class:`TenderSpec` and the rows that hold it, and locked loading of tenders."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from tendering.errors import Conflict, InvalidInput, NotFound
from tendering.identity.models import Organisation
from tendering.tenders.models import Tender, TenderCriterion, TenderCustodian, TenderLot
from tendering.tenders.spec import (
    CriterionSpec,
    EvaluationSpec,
    LotSpec,
    Money,
    OpeningPolicySpec,
    TenderSpec,
    TimetableSpec,
)

if TYPE_CHECKING:
    from tendering.platform import Platform


@contextmanager
def unit(platform: Platform) -> Iterator[Session]:
    """A platform transaction in which a concurrent change of a tender becomes a Conflict."""
    try:
        with platform.transaction() as session:
            yield session
    except StaleDataError:
        raise Conflict(
            "the tender was changed at the same time; reload and try again", code="tender-changed"
        ) from None


def tender_not_found() -> NotFound:
    """The one answer for a tender that does not exist or that the caller may not see."""
    return NotFound("no such tender", code="tender-unknown")


def load(session: Session, tender_id: uuid.UUID, *, lock: bool = False) -> Tender:
    """The tender (row-locked for update when ``lock``), or NotFound."""
    statement = select(Tender).where(Tender.id == tender_id)
    if lock:
        statement = statement.with_for_update()
    tender = session.scalar(statement)
    if tender is None:
        raise tender_not_found()
    return tender


def public_change(session: Session, tender_id: uuid.UUID, when: datetime) -> None:
    """Record that the public view of a published tender changed at ``when`` without a notice or a
    workflow step of its own (the opening record's publication): it moves in the OCDS export's order."""
    session.execute(
        update(Tender)
        .where(Tender.id == tender_id, Tender.published_at.is_not(None))
        .values(public_changed_at=when)
        .execution_options(synchronize_session="fetch")
    )


def organisation_by_uscc(session: Session, uscc: str) -> Organisation:
    """The registered organisation with this USCC, or InvalidInput."""
    organisation = session.scalar(select(Organisation).where(Organisation.uscc == uscc))
    if organisation is None:
        raise InvalidInput(
            f"no organisation with the unified social credit code {uscc} is registered",
            code="tenderee-unknown",
        )
    return organisation


def apply_spec(tender: Tender, spec: TenderSpec, tenderee_id: uuid.UUID) -> None:
    """Write ``spec`` into ``tender`` and its lots, criteria and custodians (replacing them)."""
    tender.tenderee_id = tenderee_id
    tender.title = spec.title
    tender.project_name = spec.project_name
    tender.project_code = spec.project_code
    tender.description = spec.description
    tender.procedure = spec.procedure
    tender.category = spec.category
    tender.region = spec.region
    tender.time_zone = spec.zone
    tender.qualification_requirements = list(spec.qualification_requirements)
    tender.evaluation_method = spec.evaluation.method
    tender.committee_size = spec.evaluation.committee_size
    tender.tenderee_representatives = spec.evaluation.tenderee_representatives
    apply_timetable(tender, spec.timetable)
    tender.opening_threshold = spec.opening.threshold
    tender.bidder_decryption = spec.opening.bidder_decryption
    tender.content_sha256 = spec.sha256()
    session = object_session(tender)
    if session is not None and (tender.lots or tender.criteria or tender.custodians):
        # Delete the old rows first: the unit of work would insert the new ones before deleting.
        tender.lots, tender.criteria, tender.custodians = [], [], []
        session.flush()
    tender.lots = [
        TenderLot(
            number=lot.number,
            name=lot.name,
            description=lot.description,
            currency=lot.estimated_price.currency,
            estimated_price=lot.estimated_price.amount,
            ceiling_price=lot.ceiling_price.amount if lot.ceiling_price else None,
            bid_bond=lot.bid_bond.amount if lot.bid_bond else None,
            qualification=lot.qualification,
        )
        for lot in spec.lots
    ]
    tender.criteria = [
        TenderCriterion(position=i, name=c.name, kind=c.kind, weight=c.weight, description=c.description)
        for i, c in enumerate(spec.evaluation.criteria)
    ]
    tender.custodians = [
        TenderCustodian(position=i, identity_id=identity_id)
        for i, identity_id in enumerate(spec.opening.custodians)
    ]


def apply_timetable(tender: Tender, timetable: TimetableSpec) -> None:
    """Write the timetable columns."""
    tender.publication_time = timetable.publication_time
    tender.document_period_start = timetable.document_period_start
    tender.document_period_end = timetable.document_period_end
    tender.clarification_deadline = timetable.clarification_deadline
    tender.bid_deadline = timetable.bid_deadline
    tender.evaluation_date = timetable.evaluation_date
    tender.publicity_days = timetable.publicity_days


def timetable_of(tender: Tender) -> TimetableSpec:
    """The stored timetable."""
    return TimetableSpec(
        publication_time=tender.publication_time,
        document_period_start=tender.document_period_start,
        document_period_end=tender.document_period_end,
        clarification_deadline=tender.clarification_deadline,
        bid_deadline=tender.bid_deadline,
        evaluation_date=tender.evaluation_date,
        publicity_days=tender.publicity_days,
    )


def _money(amount: object, currency: str) -> Money | None:
    return None if amount is None else Money(amount=amount, currency=currency)  # type: ignore[arg-type]


def spec_of(session: Session, tender: Tender) -> TenderSpec:
    """The stored content of ``tender`` as a spec (as the agency wrote it, times in UTC)."""
    tenderee = session.get(Organisation, tender.tenderee_id)
    uscc = tenderee.uscc if tenderee else ""
    return TenderSpec(
        title=tender.title,
        project_name=tender.project_name,
        project_code=tender.project_code,
        description=tender.description,
        procedure=tender.procedure,
        category=tender.category,  # type: ignore[arg-type]
        region=tender.region,
        tenderee_uscc=uscc,
        time_zone=tender.time_zone,
        qualification_requirements=tuple(tender.qualification_requirements),
        lots=tuple(
            LotSpec(
                number=lot.number,
                name=lot.name,
                description=lot.description,
                estimated_price=Money(amount=lot.estimated_price, currency=lot.currency),
                ceiling_price=_money(lot.ceiling_price, lot.currency),
                bid_bond=_money(lot.bid_bond, lot.currency),
                qualification=lot.qualification,
            )
            for lot in tender.lots
        ),
        evaluation=EvaluationSpec(
            method=tender.evaluation_method,  # type: ignore[arg-type]
            criteria=tuple(
                CriterionSpec(name=c.name, kind=c.kind, weight=c.weight, description=c.description)  # type: ignore[arg-type]
                for c in tender.criteria
            ),
            committee_size=tender.committee_size,
            tenderee_representatives=tender.tenderee_representatives,
        ),
        timetable=timetable_of(tender),
        opening=OpeningPolicySpec(
            custodians=tuple(c.identity_id for c in tender.custodians),
            threshold=tender.opening_threshold,
            bidder_decryption=tender.bidder_decryption,
        ),
    )
