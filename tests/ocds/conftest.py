"""The OCDS endpoint tests use the portal's fixtures (an app over sample tender views)."""

from __future__ import annotations

from tests.portal.conftest import portal, sample_tenders

__all__ = ["portal", "sample_tenders"]
