"""`sealbid serve` hands the proxy policy to uvicorn, so recorded client addresses are the real ones."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import uvicorn
from click.testing import CliRunner

from api.cli import main


def _serve(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **env: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kwargs: seen.update(kwargs))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(main, ["--data-dir", str(tmp_path), "serve", "--port", "9123"])
    assert result.exit_code == 0, result.output
    return seen


def test_serve_trusts_only_the_configured_proxies(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen = _serve(monkeypatch, tmp_path, SEALBID_TRUSTED_PROXIES='["10.0.0.5", "192.168.0.0/24"]')
    assert seen["port"] == 9123
    assert seen["proxy_headers"] is True
    assert seen["forwarded_allow_ips"] == ["10.0.0.5", "192.168.0.0/24"]


def test_serve_with_no_trusted_proxy_ignores_forwarded_headers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen = _serve(monkeypatch, tmp_path, SEALBID_TRUSTED_PROXIES="[]")
    assert seen["proxy_headers"] is False
