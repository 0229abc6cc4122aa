"""The public portal: announcement pages, Atom feed, sitemap and OCDS endpoints (all public)."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from api.auth import PUBLIC
from api.portal.feeds import FeedController
from api.portal.ocds import OcdsController
from api.portal.pages import PortalPages
from api.portal.rendering import STATIC_DIR


def portal_route_handlers() -> Sequence[ControllerRouterHandler]:
    """Every public portal route, including ``/static``."""
    return [
        PortalPages,
        FeedController,
        OcdsController,
        create_static_files_router(path="/static", directories=[STATIC_DIR], opt=dict(PUBLIC), name="static"),
    ]
