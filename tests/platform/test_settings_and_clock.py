"""Settings sources and production refusals; the clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError

from tendering import clock as clock_module
from tendering.clock import AcceleratedClock, ManualClock, SystemClock
from tendering.platform import clock_from_settings
from tendering.settings import load_settings


def test_environment_overrides_file_and_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sealbid.toml"
    config.write_text('port = 9001\nlog_origin = "tenders.example.cn/log"\n')
    monkeypatch.setenv("SEALBID_PORT", "9002")
    settings = load_settings(config)
    assert settings.port == 9002
    assert settings.log_origin == "tenders.example.cn/log"
    assert load_settings(config, port=7000).port == 7000


def test_config_file_from_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "sealbid.toml"
    config.write_text("token_ttl_seconds = 600\n")
    monkeypatch.setenv("SEALBID_CONFIG", str(config))
    assert load_settings().token_ttl_seconds == 600


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="settings file not found"):
        load_settings(tmp_path / "absent.toml")


def test_unknown_setting_is_refused() -> None:
    with pytest.raises(ValidationError):
        load_settings(no_such_setting=1)


def test_embedded_default_is_sqlite_in_the_data_dir(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.effective_database_url == f"sqlite:///{(tmp_path / 'sealbid.db').resolve()}"
    assert settings.effective_blob_dir == tmp_path / "blobs"
    assert settings.redis_url is None


def test_production_refuses_accelerated_time_and_dev_pki(tmp_path: Path) -> None:
    with pytest.raises(ValidationError) as err:
        load_settings(environment="production", clock_speed=100.0, revocation_policy="soft-fail")
    text = str(err.value)
    assert "clock_speed must be 1" in text
    assert "dev_pki must be off" in text
    assert "revocation_policy must be 'require'" in text
    ca = tmp_path / "ca.pem"
    ca.write_text("placeholder")
    ok = load_settings(environment="production", dev_pki=False, trust_anchor_files=(ca,))
    assert ok.environment == "production"


def test_sandbox_may_accelerate_but_test_environment_may_not() -> None:
    assert isinstance(
        clock_from_settings(load_settings(environment="sandbox", clock_speed=1440.0)), AcceleratedClock
    )
    assert isinstance(clock_from_settings(load_settings()), SystemClock)
    with pytest.raises(ValidationError):
        load_settings(environment="test", clock_speed=2.0)


def test_manual_clock_moves_only_forward() -> None:
    clock = ManualClock(datetime(2026, 3, 1, tzinfo=UTC))
    assert clock.advance(timedelta(days=20)) == datetime(2026, 3, 21, tzinfo=UTC)
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="backwards"):
        clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    assert clock.now().tzinfo is UTC


def test_accelerated_clock_runs_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr(clock_module.time, "monotonic", lambda: now[0])
    start = datetime(2026, 3, 1, tzinfo=UTC)
    clock = AcceleratedClock(1440.0, start)  # a day per minute
    now[0] += 60
    assert clock.now() == start + timedelta(days=1)
    with pytest.raises(ValueError, match="positive"):
        AcceleratedClock(0)


def test_system_clock_is_aware_utc() -> None:
    assert SystemClock().now().utcoffset() == timedelta(0)


def test_skipping_clock_runs_in_real_time_and_jumps_ahead_only() -> None:
    from datetime import UTC, datetime, timedelta

    from tendering.clock import SkippingClock

    start = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    clock = SkippingClock(start)
    first = clock.now()
    assert start <= first < start + timedelta(seconds=5)
    jumped = clock.skip(timedelta(days=21))
    assert jumped >= first + timedelta(days=21)
    assert clock.now() >= jumped
    with pytest.raises(ValueError, match="backwards"):
        clock.skip(timedelta(seconds=-1))
    assert clock.now() >= jumped
