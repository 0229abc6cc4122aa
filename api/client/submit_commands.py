"""``sealbid bid submit|withdraw|list|fetch`` and ``sealbid receipt verify`` (client side only)."""

from __future__ import annotations

import click


@click.group()
def receipt() -> None:
    """Check bid receipts offline."""


def add_submission_commands(group: click.Group) -> None:
    """Register the submission commands on the ``bid`` group."""
