"""Who is looking at a portal page: the browser session cookie, read without requiring it.

Public pages show the signed-in person (if any) but never require one: :func:`current_viewer` reads
the browser session cookie when present and treats an ended session as "not signed in" (the cookie is
then cleared). Pages that need a signed-in browser are guarded with ``requires(..., browser=True)``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import Cookie

from api.auth import client_address, session_cookie_name
from tendering.errors import Forbidden, Unauthorized
from tendering.identity.browser import BrowserIdentity, authenticate_browser
from tendering.platform import Platform


def current_viewer(
    request: Request[Any, Any, Any], platform: Platform, *, look_up: bool = True
) -> BrowserIdentity | None:
    """The signed-in browser identity of this request, or None (an ended session counts as none).

    Blocking (database, PKI): call from a worker thread; ``look_up=False`` only returns an identity the
    request's guard already authenticated."""
    cached = request.state.get("browser_identity")
    if isinstance(cached, BrowserIdentity):
        return cached
    if request.state.get("browser_session_ended") or not look_up:
        return None
    secret = request.cookies.get(session_cookie_name(platform))
    if not secret:
        return None
    try:
        found = authenticate_browser(platform, secret, address=client_address(request))
    except Unauthorized:
        request.state["browser_session_ended"] = True
        return None
    request.state["browser_identity"] = found
    return found


def session_cookie(platform: Platform, value: str | None) -> Cookie:
    """The browser session cookie carrying ``value`` (None: a cookie that deletes it)."""
    secure = platform.settings.public_url.lower().startswith("https://")
    return Cookie(
        key=session_cookie_name(platform),
        value=value or "",
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure,
        max_age=None if value else 0,
        expires=None if value else 0,
    )


def require_same_origin(request: Request[Any, Any, Any]) -> None:
    """Forbidden when a form was posted from another site (its ``Origin`` is not this server's)."""
    origin = request.headers.get("origin")
    if origin is None:
        return  # not sent by every client on same-origin posts; the anti-forgery token still applies
    own = f"{request.url.scheme}://{request.url.netloc}".lower()
    platform: Platform = request.app.state.platform
    parts = urlsplit(platform.settings.public_url)
    public = f"{parts.scheme}://{parts.netloc}".lower()
    if origin.lower() not in (own, public):
        raise Forbidden("this form was sent from another site", code="csrf-failed")
