"""Browser sign-in pages: how to sign in, confirming a hand-off link, signing out.

``GET /signin`` explains how to sign in (``sealbid login --browser``); with ``?token=`` it shows whom
the link signs in as and a confirmation button, without using the link (so link previews and
prefetching do not spend it, and nobody is signed in as someone else without seeing the name).
``POST /signin`` uses the link once, sets the session cookie and continues to the link's page.
``POST /signout`` ends the session (anti-forgery token required while the session is alive).

These routes are public by design: they are how a browser gets (or drops) a session.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect

from api.auth import CSRF_FIELD, PUBLIC, client_address, session_cookie_name
from api.deps import PlatformDep
from api.portal.page_errors import PAGE_EXCEPTION_HANDLERS
from api.portal.rendering import render
from api.portal.viewer import current_viewer, require_same_origin, session_cookie
from tendering.errors import Forbidden
from tendering.identity.browser import (
    LINK_TTL,
    csrf_matches,
    end_browser_session,
    pending_signin,
    redeem_signin_link,
)

FormBody = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]
#: The link's secret must not leak to other sites through the Referer header, nor into a cache.
PRIVATE_HEADERS = {"Referrer-Policy": "same-origin", "Cache-Control": "no-store"}


class SignInPages(Controller):
    """Signing a browser in with a hand-off link, and out again."""

    path = "/"
    opt = dict(PUBLIC)  # noqa: RUF012 - Litestar layer attribute
    include_in_schema = False
    exception_handlers = PAGE_EXCEPTION_HANDLERS

    @get("/signin", sync_to_thread=True)
    def signin_page(self, request: Request[Any, Any, Any], platform: PlatformDep) -> Response[str]:
        """How to sign in; with ``?token=`` the confirmation of a hand-off link."""
        token = request.query_params.get("token")
        pending = pending_signin(platform, token) if token else None
        response = render(
            request,
            platform,
            "signin.html",
            pending=pending,
            token=token,
            link_seconds=int(LINK_TTL.total_seconds()),
        )
        response.headers.update(PRIVATE_HEADERS)
        return response

    @post("/signin", sync_to_thread=True)
    def signin(
        self,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        data: FormBody,
    ) -> Response[Any]:
        """Use the hand-off link: the browser is signed in and continues to the link's page."""
        require_same_origin(request)
        secret, _, next_path = redeem_signin_link(
            platform, str(data.get("token", "")), address=client_address(request)
        )
        response: Response[Any] = Redirect(next_path, status_code=303)
        response.set_cookie(session_cookie(platform, secret))
        response.headers.update(PRIVATE_HEADERS)
        return response

    @post("/signout", sync_to_thread=True)
    def signout(
        self,
        request: Request[Any, Any, Any],
        platform: PlatformDep,
        data: FormBody,
    ) -> Response[Any]:
        """End the browser session and forget the cookie."""
        require_same_origin(request)
        secret = request.cookies.get(session_cookie_name(platform))
        if secret and current_viewer(request, platform) is not None:
            if not csrf_matches(secret, data.get(CSRF_FIELD)):
                raise Forbidden(
                    "this form is stale or did not come from this site; reload the page and try again",
                    code="csrf-failed",
                )
            end_browser_session(platform, secret, address=client_address(request))
        response: Response[Any] = Redirect("/announcements", status_code=303)
        response.set_cookie(session_cookie(platform, None))
        return response
