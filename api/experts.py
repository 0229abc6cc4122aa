"""Expert pool, extraction requests and the supervisor's status view."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler


def expert_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return []
