"""Fixtures of the CMS tests: one throwaway PKI per session."""

from __future__ import annotations

import pytest

from tests.crypto.cms.testpki import Pki, build_test_pki


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Root, intermediate, EC/RSA signers and recipients, a TSA; PEM files for openssl."""
    return build_test_pki(tmp_path_factory.mktemp("cms-pki"))
