"""``sealbid custodian release``: a custodian releases its share after the opening time (client side only)."""

from __future__ import annotations

import click


def add_release_commands(group: click.Group) -> None:
    """Register the share-release commands on the ``custodian`` group."""
