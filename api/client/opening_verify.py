"""``sealbid opening verify``: a monitor checks an opening from the public log alone (client side only)."""

from __future__ import annotations

import click


@click.group()
def opening() -> None:
    """Check a tender's opening against the public transparency log."""
