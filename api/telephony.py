"""Telephony provider webhooks (voice keypresses, SMS replies, delivery reports), signature-checked."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.types import ControllerRouterHandler


def telephony_route_handlers() -> Sequence[ControllerRouterHandler]:
    """The routes of this module."""
    return []
