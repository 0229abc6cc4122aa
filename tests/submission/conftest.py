"""Fixtures of the submission tests: a published tender that takes bids, logged-in bidders."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import pytest
from cryptography import x509
from litestar.testing import TestClient

from crypto.pki import BuiltPki
from tests.bids.fixtures import (  # noqa: F401 - fixtures
    KeyedTender,
    Parties,
    app_client,
    dev,
    keyed_tender,
    parties,
    test_pki,
)
from tests.identity.conftest import token_for
from tests.submission.helpers import Bidder, signer_of, uscc_of


@dataclass
class OpenTender:
    """A published tender with a registered opening key."""

    id: uuid.UUID
    opening: x509.Certificate


@pytest.fixture
def tender(keyed_tender: KeyedTender) -> OpenTender:  # noqa: F811
    """A tender published now (deadline in 25 days) whose custodians registered the opening key."""
    return OpenTender(keyed_tender.tender_id, keyed_tender.opening_certificate)


def make_bidder(client: TestClient, pki: BuiltPki, name: str) -> Bidder:  # type: ignore[type-arg]
    """Log ``name`` in and wrap its signer."""
    return Bidder(name, token_for(client, pki.signing(name)), signer_of(pki, name), uscc_of(pki, name))


@pytest.fixture
def bidders(app_client: TestClient, test_pki: BuiltPki, parties: Parties) -> list[Bidder]:  # type: ignore[type-arg]  # noqa: F811
    """The three registered tenderers, logged in."""
    return [make_bidder(app_client, test_pki, f"tenderer-{i}") for i in (1, 2, 3)]
