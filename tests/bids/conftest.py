"""Fixtures of the sealed-bid tests (defined in :mod:`tests.bids.fixtures`)."""

from __future__ import annotations

from tests.bids.fixtures import app_client, dev, keyed_tender, parties, test_pki  # noqa: F401 - fixtures
