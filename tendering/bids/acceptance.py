"""Whether a tender takes bids now, and whether this organisation may bid on it.

Eligibility, as sealbid decides it with what the platform knows (documented in ``docs/submission.md``):

* the caller is an active **enterprise** organisation holding the tenderer role (the route guard checks
  the role; here the identity kind and that it is not the tender's agency or tenderee);
* if the tender released documents, the organisation **obtained** them through the platform (a recorded
  download, Measures Art. 19/20: bidding documents are obtained from the platform);
* the lots named exist in the tender.

Refusals are distinct codes with a plain message; they reveal nothing about other bidders.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime

from cryptography import x509
from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from tendering.bids.opening_keys import require_opening_key
from tendering.errors import Conflict, Forbidden, InvalidInput, NotFound, TooLate
from tendering.identity.models import Identity, IdentityKind
from tendering.tenders.models import Tender
from tendering.tenders.notice_models import DocumentDownload, TenderDocument
from tendering.tenders.workflow import State

BID_DEADLINE_PASSED = "bid-deadline-passed"


def open_tender(session: Session, tender_id: uuid.UUID, now: datetime, *, lock: bool = False) -> Tender:
    """The tender, if it is published and its bid deadline has not passed by the server's clock."""
    query = select(Tender).where(Tender.id == tender_id)
    if lock:
        query = query.with_for_update(read=True)
    tender = session.scalars(query).first()
    if tender is None or tender.state in (State.DRAFT, State.PENDING_REVIEW, State.APPROVED):
        raise NotFound("no published tender has this id", code="tender-not-found")
    if tender.state != State.PUBLISHED:
        raise Conflict(
            f"this tender is {tender.state} and takes no bids", code="tender-not-open", state=tender.state
        )
    if now >= tender.bid_deadline:
        raise TooLate(
            "the bid deadline has passed (by the platform's clock): nothing can be submitted, replaced "
            "or withdrawn any more",
            code=BID_DEADLINE_PASSED,
            deadline=tender.bid_deadline.isoformat(),
        )
    return tender


def opening_certificate_of(session: Session, tender: Tender) -> x509.Certificate:
    """The tender's opening certificate (Conflict ``opening-key-missing`` before the ceremony)."""
    key = require_opening_key(session, tender.id)
    return x509.load_der_x509_certificate(key.certificate_der)


def check_eligible(session: Session, tender: Tender, bidder_id: uuid.UUID) -> None:
    """Refuse an organisation that may not bid on ``tender`` (see the module docstring)."""
    identity = session.get(Identity, bidder_id)
    if identity is None or identity.kind != IdentityKind.ENTERPRISE:
        raise Forbidden("only a registered enterprise may bid", code="bidder-not-enterprise")
    if bidder_id in (tender.agency_id, tender.tenderee_id):
        raise Forbidden(
            "the tender's agency or tenderee cannot bid on its own tender", code="bidder-is-party"
        )
    released = session.scalar(
        select(exists().where(TenderDocument.tender_id == tender.id, TenderDocument.released_at.is_not(None)))
    )
    if released:
        obtained = session.scalar(
            select(
                exists().where(
                    DocumentDownload.tender_id == tender.id, DocumentDownload.organisation_id == bidder_id
                )
            )
        )
        if not obtained:
            raise Forbidden(
                "your organisation has not obtained this tender's documents through the platform; "
                "download them first",
                code="documents-not-obtained",
            )


def check_lots(tender: Tender, lots: Iterable[int]) -> list[int]:
    """The lot numbers, sorted, if every one belongs to ``tender``."""
    numbers = {lot.number for lot in tender.lots}
    wanted = sorted(set(lots))
    unknown = [n for n in wanted if n not in numbers]
    if not wanted or unknown:
        raise InvalidInput(
            f"lot(s) {unknown or '[]'} are not lots of this tender (it has {sorted(numbers)})",
            code="lot-not-in-tender",
        )
    return wanted
