"""The opening-key ceremony bundle: upload by the lead custodian, verification, the opening certificate."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler


def opening_key_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return []
