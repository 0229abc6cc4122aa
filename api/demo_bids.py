"""The demo's sealed-bid and opening steps (issues: sealed bids, online opening)."""

from __future__ import annotations

from api.demo_context import DemoContext


def run_bid_steps(context: DemoContext, *, first_step: int, steps: int) -> None:
    """Key ceremony, five sealed bids with receipts, then the opening (two steps: ``first_step`` and next)."""
