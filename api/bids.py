"""Bid submission, withdrawal, the bidder's own bids and receipts (tenderer routes)."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler


def bid_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return []
