"""The list key: created private outside production, refused missing in production, bound to context."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from experts.sealing import FileListKey, SealingError, key_file, load_list_key
from tendering.settings import Settings


def test_the_key_file_is_created_private_and_reused(settings: Settings) -> None:
    key = load_list_key(settings)
    path = key_file(settings)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(path.read_bytes()) == 32
    assert load_list_key(settings) is key


def test_production_refuses_a_missing_key_file(settings: Settings, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "experts-list.key"
    experts = settings.experts.model_copy(update={"sealed_list_key_file": missing})
    production = settings.model_copy(update={"environment": "production", "experts": experts})
    with pytest.raises(SealingError, match="production never creates one"):
        load_list_key(production)
    assert not missing.exists()


def test_a_sealed_item_opens_only_with_its_key_and_context() -> None:
    key, other = FileListKey(b"\x01" * 32), FileListKey(b"\x02" * 32)
    sealed = key.seal("王建国 +8613800138000".encode(), b"assignment-1")
    assert "王建国".encode() not in sealed.ciphertext
    assert key.open(sealed, b"assignment-1").decode() == "王建国 +8613800138000"
    with pytest.raises(SealingError):
        key.open(sealed, b"assignment-2")
    with pytest.raises(SealingError):
        other.open(sealed, b"assignment-1")
    tampered = type(sealed)(
        sealed.key_id, sealed.nonce, bytes([sealed.ciphertext[0] ^ 1]) + sealed.ciphertext[1:]
    )
    with pytest.raises(SealingError):
        key.open(tampered, b"assignment-1")
    with pytest.raises(SealingError):
        FileListKey(b"short")
