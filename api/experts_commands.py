"""``sealbid experts``: the expert pool and draws (import/export, verify-draw)."""

from __future__ import annotations

import click


@click.group()
def experts() -> None:
    """Expert pool and verifiable draws."""
