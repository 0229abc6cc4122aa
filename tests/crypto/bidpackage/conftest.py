"""Fixtures of the bid-package tests: sealbid's dev PKI, built once per session."""

from __future__ import annotations

import pytest

from crypto.pki import BuiltPki, build_pki, dev_pki_spec
from tests.crypto.bidpackage.helpers import NOW


@pytest.fixture(scope="session")
def dev() -> BuiltPki:
    """Five tenderers with signing and encryption certificates, a TSA and a checker."""
    return build_pki(dev_pki_spec("http://pki.test.invalid/pki", NOW))
