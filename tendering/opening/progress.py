"""The opening's public progress (after the closing): what anyone may see while it runs."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from tendering.errors import NotFound
from tendering.opening.models import OpeningOutcome, OpeningSession, ShareRelease

if TYPE_CHECKING:
    from tendering.platform import Platform


def _time(moment: Any) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment is not None else None


def public_progress(platform: Platform, tender_id: uuid.UUID) -> dict[str, Any]:
    """State, envelopes and their list hash, released share indexes, outcome counts (NotFound before)."""
    with platform.session_factory() as session:
        opening = session.get(OpeningSession, tender_id)
        if opening is None:
            raise NotFound("this tender has no opening (yet)", code="opening-not-found")
        released = list(
            session.scalars(
                select(ShareRelease.share_index)
                .where(ShareRelease.tender_id == tender_id)
                .order_by(ShareRelease.share_index)
            )
        )
        counts = dict(
            session.execute(
                select(OpeningOutcome.outcome, func.count())
                .where(OpeningOutcome.tender_id == tender_id)
                .group_by(OpeningOutcome.outcome)
            ).all()
        )
        return {
            "tender": str(tender_id),
            "state": opening.state,
            "closed_at": _time(opening.closed_at),
            "envelopes": opening.envelope_count,
            "envelope_list_sha256": opening.envelope_list_sha256,
            "shares_released": released,
            "opening_started_at": _time(opening.opening_started_at),
            "decryption_deadline": _time(opening.decryption_deadline),
            "finished_at": _time(opening.finished_at),
            "outcomes": {
                "opened": counts.get("opened", 0),
                "revoked": counts.get("revoked", 0),
                "withdrawn": counts.get("withdrawn", 0),
                "undecided": counts.get(None, 0),
            },
        }
