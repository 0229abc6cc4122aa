"""``sealbid bid decrypt``: a bidder decrypts its own layer during the opening (client side only)."""

from __future__ import annotations

import click


def add_decrypt_commands(group: click.Group) -> None:
    """Register the bidder-decryption commands on the ``bid`` group."""
