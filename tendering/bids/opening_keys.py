"""The opening key of a tender, as the server sees it: registered by the custodians' ceremony.

A tender cannot take bids until its lead custodian has uploaded the signed ceremony bundle
(``sealbid custodian ceremony``, ``docs/ceremony.md``): the submission service calls
:func:`require_opening_key` before accepting anything.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from tendering.bids.opening_key_models import TenderOpeningKey
from tendering.errors import Conflict

OPENING_KEY_MISSING = "opening-key-missing"


def require_opening_key(session: Session, tender_id: uuid.UUID) -> TenderOpeningKey:
    """The tender's registered opening key, or a Conflict (``opening-key-missing``).

    Bids are sealed to the opening certificate, so without a registered ceremony bundle there is
    nothing a bid could be sealed to and no way to open it later.
    """
    key = session.get(TenderOpeningKey, tender_id)
    if key is None:
        raise Conflict(
            "this tender cannot take bids yet: its custodians have not registered the opening key",
            code=OPENING_KEY_MISSING,
        )
    return key
