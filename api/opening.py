"""The opening: custodians release their shares, the opening's progress and outcomes (after the deadline)."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler


def opening_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return []
