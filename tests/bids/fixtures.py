"""Reusable fixtures for sealed-bid tests (the submission tests import them too).

Import the fixtures you use into your test module or conftest, e.g.::

    from tests.bids.fixtures import dev, parties, test_pki  # noqa: F401 - fixtures
"""

from __future__ import annotations

from tests.identity.conftest import app_client, dev, test_pki
from tests.tenders.conftest import Parties, parties

__all__ = ["Parties", "app_client", "dev", "parties", "test_pki"]
