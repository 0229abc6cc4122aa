"""``sealbid custodian``: the opening-key custodian's tool (runs on a custodian's machine, not the server)."""

from __future__ import annotations

import click


@click.group()
def custodian() -> None:
    """Opening-key ceremony and share release (runs on a custodian's machine)."""
