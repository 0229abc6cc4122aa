"""How every server-side CLI command gets its settings: from the top-level ``sealbid`` options."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tendering.settings import Settings


def settings_from(ctx: click.Context) -> Settings:
    """Settings as ``--config`` and ``--data-dir`` on ``sealbid`` (and the environment) describe them."""
    from tendering.settings import load_settings

    obj = ctx.find_root().obj or {}
    overrides = {"data_dir": obj["data_dir"]} if obj.get("data_dir") else {}
    return load_settings(obj.get("config"), **overrides)
