"""The identity test PKI and login helpers.

The PKI is sealbid's own development PKI (``dev_pki_spec``: dev-root -> dev-ca, demo participants)
plus, under ``dev-ca``, one participant for each way a login can fail: revoked, expired,
not-yet-valid, encryption-only, an invalid USCC and an unregistered person. A second, untrusted root
(``rogue-root``) issues one tenderer certificate. Both are built once per session at the manual
clock's start time; each test gets a fresh revocation authority.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from litestar.testing import TestClient

from crypto.identity import IdentityKind
from crypto.pki import (
    BuiltPki,
    CASpec,
    Credential,
    LeafPurpose,
    LeafSpec,
    PkiSpec,
    Revocation,
    Validity,
    build_pki,
)
from crypto.pki.dev import dev_pki_spec, dev_uscc
from tendering.clock import ManualClock
from tendering.identity.audit import Actor
from tendering.identity.checker import DevPki
from tendering.identity.service import grant_by_certificate
from tendering.platform import Platform

BASE_URL = "http://127.0.0.1:8000/dev-pki"
START = ManualClock().now()


def _enterprise(name: str, serial: int, **kw: Any) -> LeafSpec:
    return LeafSpec(
        name=name,
        kind=IdentityKind.ENTERPRISE,
        display_name=f"{name} 有限公司",
        uscc=dev_uscc(serial),
        roles=("tenderer",),
        purpose=kw.pop("purpose", LeafPurpose.SIGNING),
        **kw,
    )


def identity_spec() -> PkiSpec:
    """dev_pki_spec plus the failure cases."""
    spec = dev_pki_spec(BASE_URL, START)
    (root,) = spec.roots
    (issuing,) = root.children
    extra = (
        _enterprise("revoked", 60, revoked=Revocation(timedelta(hours=-1), x509.ReasonFlags.key_compromise)),
        _enterprise("expired", 61, validity=Validity(timedelta(days=-400), timedelta(days=-1))),
        _enterprise("early", 62, validity=Validity(timedelta(days=1), timedelta(days=365))),
        _enterprise("enc-only", 63, purpose=LeafPurpose.ENCRYPTION),
        _enterprise("bad-uscc", 64, uscc_prefix="X"),
        LeafSpec(
            name="stranger",
            kind=IdentityKind.PERSON,
            display_name="陌生人",
            person_id="P9999999",
            roles=("expert",),
            purpose=LeafPurpose.SIGNING,
        ),
    )
    issuing = replace(issuing, leaves=(*issuing.leaves, *extra))
    return replace(spec, roots=(replace(root, children=(issuing,)),))


@functools.cache
def identity_pki() -> BuiltPki:
    """The identity test PKI, built once per process (also used by tests/client)."""
    return build_pki(identity_spec())


@pytest.fixture(scope="session")
def test_pki() -> BuiltPki:
    """The identity test PKI."""
    return identity_pki()


@pytest.fixture(scope="session")
def rogue_pki() -> BuiltPki:
    """A PKI nobody trusts."""
    leaf = _enterprise("rogue", 70)
    ca = CASpec(name="rogue-root", display_name="Rogue Root CA", leaves=(leaf,))
    return build_pki(PkiSpec(roots=(ca,), base_url="http://rogue.invalid/pki", now=START))


@pytest.fixture
def dev(platform: Platform, test_pki: BuiltPki) -> DevPki:
    """The platform trusts the test PKI; a fresh revocation authority for this test."""
    installed = platform.certificates.use_dev_pki(test_pki)
    assert installed is not None
    return installed


@pytest.fixture
def app_client(dev: DevPki, client: TestClient) -> Iterator[TestClient]:  # type: ignore[type-arg]
    """The app's test client on a platform that trusts the test PKI."""
    return client  # type: ignore[return-value]


def b64(data: bytes) -> str:
    """Standard base64."""
    return base64.b64encode(data).decode("ascii")


def sign(credential: Credential, data: bytes, algorithm: str | None = None) -> tuple[str, bytes]:
    """Sign like a client: ECDSA-SHA256 for EC keys, RSA-PSS (or PKCS#1 v1.5) SHA-256 for RSA keys."""
    key = credential.private_key
    if isinstance(key, ec.EllipticCurvePrivateKey):
        return "ecdsa-sha256", key.sign(data, ec.ECDSA(hashes.SHA256()))
    assert isinstance(key, rsa.RSAPrivateKey)
    if algorithm == "rsa-pkcs1v15-sha256":
        return algorithm, key.sign(data, padding.PKCS1v15(), hashes.SHA256())
    pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
    return "rsa-pss-sha256", key.sign(data, pss, hashes.SHA256())


def login_body(client: TestClient, credential: Credential, **overrides: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    """A signed login request for a fresh challenge (fields may be overridden)."""
    issued = client.post("/auth/challenge")
    assert issued.status_code == 201, issued.text
    signing_input = base64.b64decode(issued.json()["signing_input"])
    algorithm, signature = sign(credential, signing_input, overrides.pop("algorithm", None))
    body = {
        "challenge_id": issued.json()["challenge"]["id"],
        "certificate": b64(credential.certificate.public_bytes(Encoding.DER)),
        "signature": b64(signature),
        "signature_algorithm": algorithm,
    }
    body.update(overrides)
    return body


def login(client: TestClient, credential: Credential, **overrides: Any) -> Any:  # type: ignore[type-arg]
    """POST /auth/login; returns the response."""
    return client.post("/auth/login", json=login_body(client, credential, **overrides))


def token_for(client: TestClient, credential: Credential) -> dict[str, str]:  # type: ignore[type-arg]
    """Log in and return the Authorization header."""
    response = login(client, credential)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}


def enrol(platform: Platform, credential: Credential, *roles: str) -> None:
    """Register the credential's subject with ``roles`` as the server console would."""
    purpose = "encryption" if credential.name.endswith("-enc") else "signing"
    grant_by_certificate(
        platform,
        credential.certificate.public_bytes(Encoding.DER),
        list(roles),
        actor=Actor.system("console"),
        basis="console",
        purpose=purpose,
    )
