"""The online opening hall: live progress, objections and answers, the signed opening record."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler


def opening_hall_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return []
