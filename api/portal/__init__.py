"""The portal: public announcement pages, Atom feed, sitemap and OCDS endpoints; browser sign-in,
document downloads for signed-in tenderers, and the supervising authority's warnings page."""

from __future__ import annotations

from collections.abc import Sequence

from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from api.auth import PUBLIC
from api.portal.downloads import PortalDocumentDownloads
from api.portal.feeds import FeedController
from api.portal.ocds import OcdsController
from api.portal.pages import PortalPages
from api.portal.rendering import STATIC_DIR
from api.portal.signin import SignInPages
from api.portal.supervision_page import SupervisionPages


def portal_route_handlers() -> Sequence[ControllerRouterHandler]:
    """Every portal route, including ``/static``."""
    return [
        PortalPages,
        SignInPages,
        PortalDocumentDownloads,
        SupervisionPages,
        FeedController,
        OcdsController,
        create_static_files_router(path="/static", directories=[STATIC_DIR], opt=dict(PUBLIC), name="static"),
    ]
