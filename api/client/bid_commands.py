"""``sealbid bid``: the bidder's tool (pack, seal; submission commands are added by submit_commands).

Client side only: depends on ``crypto`` and an HTTP client, never on the server stack.
"""

from __future__ import annotations

import click


@click.group()
def bid() -> None:
    """Prepare, seal and submit bids (runs on the bidder's machine)."""
