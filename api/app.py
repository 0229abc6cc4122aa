"""The Litestar app factory."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin
from litestar.types import ControllerRouterHandler

from api.auth import public_routes
from api.bids import bid_route_handlers
from api.devpki import DevPkiController
from api.experts import expert_route_handlers
from api.health import healthz, readyz
from api.identities import IdentityAdminController
from api.logging import configure_logging
from api.login import LoginController
from api.middleware import request_id_middleware
from api.opening import opening_route_handlers
from api.opening_hall import opening_hall_route_handlers
from api.opening_keys import opening_key_route_handlers
from api.portal import portal_route_handlers
from api.problems import handle_exception
from api.supervision import AgencyWarningsController, SupervisionController
from api.telephony import telephony_route_handlers
from api.tender_access import (
    DocumentDownloadController,
    MonitorDownloadsController,
    OrganisationProfileController,
    PublicTenderController,
    TendererController,
)
from api.tenders import AgencyTenderController, ReviewController
from api.translog import TranslogController
from tendering.platform import Platform, build_platform
from tendering.settings import Settings, load_settings


def _provide_platform(state: State) -> Platform:
    platform: Platform = state.platform
    return platform


def route_handlers() -> Sequence[ControllerRouterHandler]:
    """Every route sealbid serves."""
    return [
        public_routes(healthz, readyz),
        LoginController,
        IdentityAdminController,
        DevPkiController,
        TranslogController,
        *portal_route_handlers(),
        AgencyTenderController,
        ReviewController,
        PublicTenderController,
        DocumentDownloadController,
        TendererController,
        OrganisationProfileController,
        MonitorDownloadsController,
        SupervisionController,
        *opening_key_route_handlers(),
        *bid_route_handlers(),
        *opening_route_handlers(),
        *opening_hall_route_handlers(),
        *expert_route_handlers(),
        *telephony_route_handlers(),
        AgencyWarningsController,
    ]


def create_app(
    settings: Settings | None = None,
    *,
    platform: Platform | None = None,
    start_worker: bool | None = None,
    configure_logs: bool = True,
) -> Litestar:
    """Build the sealbid web app.

    ``platform`` may be injected (tests, the demo); otherwise it is built from ``settings`` and closed
    on shutdown. In the embedded default (no Redis) an in-process worker runs the tasks unless
    ``start_worker`` is False.
    """
    settings = settings or (platform.settings if platform else load_settings())
    owned = platform is None
    the_platform = platform or build_platform(settings)
    if configure_logs:
        configure_logging(json=settings.environment == "production")

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        run_worker = the_platform.tasks.in_process if start_worker is None else start_worker
        if run_worker:
            the_platform.tasks.start_worker()
            the_platform.start_maintenance()
        try:
            yield
        finally:
            if owned:
                the_platform.close()

    openapi = OpenAPIConfig(
        title="sealbid",
        version="0.1.0",
        description="Electronic tendering: signed, sealed bids, k-of-n opening, a public transparency log.",
        path="/schema",
        render_plugins=[ScalarRenderPlugin()],
    )
    exception_handlers: dict[Any, Any] = {Exception: handle_exception}
    return Litestar(
        route_handlers=route_handlers(),
        dependencies={"platform": Provide(_provide_platform, sync_to_thread=False)},
        state=State({"platform": the_platform}),
        middleware=[request_id_middleware],
        exception_handlers=exception_handlers,
        openapi_config=openapi,
        lifespan=[lifespan],
        logging_config=None,
    )
