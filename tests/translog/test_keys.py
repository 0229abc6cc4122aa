"""The log's signer key: created once (0600 in a 0700 directory), refused when missing in production."""

from __future__ import annotations

from pathlib import Path

import pytest

from crypto.signednote import generate_signer, parse_signer_key
from tendering.settings import Settings, load_settings
from tendering.translog.keys import LogKeyError, load_signer


def test_key_is_created_private_and_reused(settings: Settings) -> None:
    signer = load_signer(settings)
    path = settings.effective_log_signer_key_file
    assert signer.name == settings.log_origin
    assert path.stat().st_mode & 0o777 == 0o600
    assert path.parent.stat().st_mode & 0o777 == 0o700
    assert load_signer(settings).public_key == signer.public_key
    assert parse_signer_key(path.read_text().strip()).public_key == signer.public_key


def test_production_never_creates_a_key(tmp_path: Path) -> None:
    anchor = tmp_path / "ca.pem"
    anchor.write_text("placeholder")
    production = load_settings(
        None, environment="production", data_dir=tmp_path, dev_pki=False, trust_anchor_files=(anchor,)
    )
    with pytest.raises(LogKeyError, match="production never creates one"):
        load_signer(production)
    assert not production.effective_log_signer_key_file.exists()
    production.effective_log_signer_key_file.parent.mkdir(parents=True)
    production.effective_log_signer_key_file.write_text(generate_signer(production.log_origin)[0])
    assert load_signer(production).name == production.log_origin


def test_key_for_another_origin_is_refused(settings: Settings) -> None:
    path = settings.effective_log_signer_key_file
    path.parent.mkdir(parents=True)
    path.write_text(generate_signer("other.example/log")[0])
    with pytest.raises(LogKeyError, match="not for log_origin"):
        load_signer(settings)


def test_damaged_key_is_refused(settings: Settings) -> None:
    path = settings.effective_log_signer_key_file
    path.parent.mkdir(parents=True)
    path.write_text("PRIVATE+KEY+broken")
    with pytest.raises(LogKeyError, match="cannot use"):
        load_signer(settings)
