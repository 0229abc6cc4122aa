"""Token keys and tokens, challenges and signatures as units."""

from __future__ import annotations

import stat
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest

from tendering.errors import Unauthorized, Unavailable
from tendering.identity.tokens import (
    TokenService,
    fingerprint_to_x5t,
    load_or_create_secret,
    x5t_to_fingerprint,
)

NOW = datetime(2026, 1, 5, 1, 0, tzinfo=UTC)
FP = "ab" * 32


def test_secret_is_created_0600_once_and_refused_in_production(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "token-secret"
    with pytest.raises(Unavailable, match="does not exist"):
        load_or_create_secret(path, create=False)
    first = load_or_create_secret(path, create=True)
    assert len(first) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_secret(path, create=False) == first
    path.write_text("short")
    with pytest.raises(Unavailable, match="shorter"):
        load_or_create_secret(path, create=False)


def test_token_claims_round_trip_and_bind_the_certificate(tmp_path: Path) -> None:
    service = TokenService(tmp_path / "k", issuer="https://t.example", ttl_seconds=900, create_secret=True)
    identity = uuid.uuid4()
    token, claims = service.issue(
        identity_id=identity,
        kind="enterprise",
        roles=("tenderer",),
        fingerprint=FP,
        now=NOW.replace(microsecond=5),
    )
    payload = jwt.decode(token, options={"verify_signature": False})
    assert payload["cnf"] == {"x5t#S256": fingerprint_to_x5t(FP)}
    assert payload["sub"] == str(identity) and payload["aud"] == "https://t.example"
    assert payload["exp"] - payload["iat"] == 900
    assert service.verify(token, now=NOW + timedelta(seconds=899)) == claims
    with pytest.raises(Unauthorized) as expired:
        service.verify(token, now=NOW + timedelta(seconds=900))
    assert expired.value.code == "token-expired"
    other = TokenService(tmp_path / "k", issuer="https://other.example", ttl_seconds=900, create_secret=True)
    with pytest.raises(Unauthorized) as wrong_audience:
        other.verify(token, now=NOW)
    assert wrong_audience.value.code == "token-invalid"
    forged = jwt.encode({**payload, "roles": ["admin"]}, b"k" * 32, algorithm="HS256")
    with pytest.raises(Unauthorized):
        service.verify(forged, now=NOW)
    unsigned = jwt.encode({**payload, "roles": ["admin"]}, None, algorithm="none")
    with pytest.raises(Unauthorized):
        service.verify(unsigned, now=NOW)


def test_x5t_round_trip() -> None:
    assert x5t_to_fingerprint(fingerprint_to_x5t(FP)) == FP
    with pytest.raises(Unauthorized):
        x5t_to_fingerprint("short")
