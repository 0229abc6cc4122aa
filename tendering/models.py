"""Every model module, imported so that ``metadata`` is complete (for Alembic and ``alembic check``).

Add new model modules here.
"""

from __future__ import annotations

from tendering import tasks
from tendering.bids import models as bid_models
from tendering.bids import opening_key_models as bid_opening_key_models
from tendering.db import Base
from tendering.identity import models as identity_models
from tendering.opening import models as opening_models
from tendering.opening import record_models as opening_record_models
from tendering.search import fulltext as search_fulltext
from tendering.tenders import models as tender_models
from tendering.tenders import notice_models as tender_notice_models
from tendering.tenders import organisation_models as tender_organisation_models
from tendering.tenders import supervision_models as tender_supervision_models
from tendering.translog import models as translog_models

metadata = Base.metadata

__all__ = [
    "bid_models",
    "bid_opening_key_models",
    "identity_models",
    "metadata",
    "opening_models",
    "opening_record_models",
    "search_fulltext",
    "tasks",
    "tender_models",
    "tender_notice_models",
    "tender_organisation_models",
    "tender_supervision_models",
    "translog_models",
]
