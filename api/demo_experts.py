"""The demo's expert steps: the pool, the verifiable draw, call/SMS confirmation, verify-draw."""

from __future__ import annotations

from api.demo_context import DemoContext


def run_expert_steps(context: DemoContext, *, first_step: int, steps: int) -> None:
    """Pool, draw, confirmations through the simulator, and the draw checked from the log (one step)."""
