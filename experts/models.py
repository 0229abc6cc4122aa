"""Every expert model module, imported so that the metadata is complete for Alembic.

``alembic/env.py`` imports this module next to :mod:`tendering.models` (``tendering`` may not import
``experts``).
"""

from __future__ import annotations

from experts import confirmation_models, pool_models

__all__ = ["confirmation_models", "pool_models"]
