"""Every model module, imported so that ``metadata`` is complete (for Alembic and ``alembic check``).

Add new model modules here.
"""

from __future__ import annotations

from tendering import tasks
from tendering.db import Base
from tendering.identity import models as identity_models
from tendering.translog import models as translog_models

metadata = Base.metadata

__all__ = ["identity_models", "metadata", "tasks", "translog_models"]
