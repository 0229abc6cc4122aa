"""Publishing the opening record when an opening finishes (the record itself: :mod:`.record`).

The opening calls :func:`publish_record` right after the transaction that finished it commits; the
maintenance tick calls :func:`publish_pending_records` for any finished opening whose record is not
published yet (signing was unavailable, the process stopped in between). Both are idempotent; while an
objection in the hall waits for its answer the record waits too (answering the last one publishes).
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING

from sqlalchemy import exists, select

from tendering.opening.models import OpeningSession, OpeningState
from tendering.opening.record import publish_opening_record
from tendering.opening.record_models import OpeningRecord

if TYPE_CHECKING:
    from tendering.platform import Platform

log = logging.getLogger(__name__)


def publish_record(platform: Platform, tender_id: uuid.UUID) -> bool:
    """Publish the finished opening's record; False (logged) if it cannot be published now."""
    try:
        with platform.transaction() as session:
            return publish_opening_record(session, platform, tender_id) is not None
    except Exception:
        log.exception(
            "the opening record of tender %s is not published yet; the next tick retries", tender_id
        )
        return False


def publish_pending_records(platform: Platform) -> list[uuid.UUID]:
    """Publish the record of every finished opening that has none yet; the tenders published now."""
    with platform.session_factory() as session:
        pending = list(
            session.scalars(
                select(OpeningSession.tender_id).where(
                    OpeningSession.state == OpeningState.OPENED,
                    ~exists().where(OpeningRecord.tender_id == OpeningSession.tender_id),
                )
            )
        )
    return [tender_id for tender_id in pending if publish_record(platform, tender_id)]
