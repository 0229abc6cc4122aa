"""Expert test fixtures: the tender parties (from the tender tests) and a drawn committee."""

from __future__ import annotations

from tests.experts.pool_helpers import drawn, hold_confirmations  # noqa: F401 - fixtures
from tests.identity.conftest import app_client, dev, test_pki  # noqa: F401 - fixtures
from tests.tenders.conftest import parties  # noqa: F401 - fixture
