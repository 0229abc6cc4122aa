"""Who may call what: bearer-token authentication and role guards.

Policy: every route is either explicitly public (``opt=PUBLIC``, or registered through
:func:`public_routes`) or carries a :func:`requires` guard. ``requires()`` with no roles admits any
logged-in identity; ``requires("admin")`` only identities holding that role. There is no implicit
super-user: an admin is not a tenderer. ``tests/identity/test_route_policy.py`` walks the route table
and fails on any route that is neither.

A guard reads ``Authorization: Bearer <token>``, verifies the token against the platform clock and
re-checks in the registry (and, cached, in the PKI) that the bound certificate is still active, so a
revocation after login takes effect on the next request. The caller is then available to handlers as
the ``principal`` dependency (see :data:`PRINCIPAL_DEPENDENCY`).

Pages for signed-in people use ``requires(..., browser=True)``: without an ``Authorization`` header the
guard accepts the portal's browser session cookie (:data:`SESSION_COOKIE`, made by the sign-in hand-off
in ``tendering.identity.browser``) with the same re-checks, and for any state-changing method it also
requires the session's anti-forgery token (form field or header :data:`CSRF_FIELD`). API routes keep
``browser=False`` and accept bearer tokens only, so a cookie never authorises an API call.
"""

from __future__ import annotations

from typing import Any, Final, TypeAlias

import anyio.to_thread
from litestar import Request, Router
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler
from litestar.types import ControllerRouterHandler

from tendering.errors import Forbidden, Unauthorized
from tendering.identity.browser import BrowserIdentity, authenticate_browser, csrf_matches
from tendering.identity.models import Role
from tendering.identity.sessions import Principal, authenticate
from tendering.platform import Platform

#: Route ``opt`` that marks a route as deliberately open to anyone.
PUBLIC: Final[dict[str, Any]] = {"public": True}
#: The browser session cookie (``__Host-`` prefixed, hence Secure, when the public URL is https).
SESSION_COOKIE: Final[str] = "sealbid_session"
#: The anti-forgery token's form field, also accepted as the ``X-CSRF-Token`` header.
CSRF_FIELD: Final[str] = "csrf_token"
#: Methods that change nothing and need no anti-forgery token.
SAFE_METHODS: Final = frozenset({"GET", "HEAD", "OPTIONS"})


def session_cookie_name(platform: Platform) -> str:
    """The cookie name for this deployment (``__Host-sealbid_session`` behind https)."""
    secure = platform.settings.public_url.lower().startswith("https://")
    return f"__Host-{SESSION_COOKIE}" if secure else SESSION_COOKIE


async def browser_identity(
    connection: ASGIConnection[Any, Any, Any, Any], *, required: bool
) -> BrowserIdentity | None:
    """The browser's signed-in identity (cached on the connection), None when not signed in and not
    ``required``; Unauthorized when required and absent or ended."""
    cached = connection.state.get("browser_identity")
    if isinstance(cached, BrowserIdentity):
        return cached
    platform: Platform = connection.app.state.platform
    secret = connection.cookies.get(session_cookie_name(platform))
    if not secret:
        if required:
            raise Unauthorized("sign in first (sealbid login --browser)", code="login-required")
        return None
    try:
        found = await anyio.to_thread.run_sync(
            lambda: authenticate_browser(platform, secret, address=client_address(connection))
        )
    except Unauthorized:
        connection.state["browser_session_ended"] = True  # the page clears the dead cookie
        if required:
            raise
        return None
    connection.state["browser_identity"] = found
    return found


async def check_csrf(connection: ASGIConnection[Any, Any, Any, Any], found: BrowserIdentity) -> None:
    """Forbidden unless a state-changing request carries the session's anti-forgery token."""
    if connection.scope.get("method", "GET") in SAFE_METHODS:
        return
    offered = connection.headers.get("x-csrf-token")
    if not offered:
        form = await Request(connection.scope, connection.receive).form()
        value = form.get(CSRF_FIELD)
        offered = value if isinstance(value, str) else None
    if not csrf_matches(
        connection.cookies.get(session_cookie_name(connection.app.state.platform), ""), offered
    ):
        raise Forbidden(
            "this form is stale or did not come from this site; reload the page and try again",
            code="csrf-failed",
        )


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The peer address of the connection (a reverse proxy must be configured to pass the real one)."""
    client = connection.client
    return client.host if client else None


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The token of an ``Authorization: Bearer`` header, or Unauthorized."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("log in first: this needs an Authorization: Bearer token", code="login-required")
    return token.strip()


class RoleGuard:
    """A Litestar guard admitting authenticated identities that hold one of ``roles`` (any, if empty)."""

    def __init__(self, roles: tuple[Role, ...], *, browser: bool = False) -> None:
        self.roles = roles
        self.browser = browser

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
    ) -> None:
        """Authenticate the caller, check the role, and remember the principal on the connection."""
        platform: Platform = connection.app.state.platform
        if self.browser and "authorization" not in connection.headers:
            found = await browser_identity(connection, required=True)
            assert found is not None
            await check_csrf(connection, found)
            principal = found.principal
        else:
            token = bearer_token(connection)
            principal = await anyio.to_thread.run_sync(
                lambda: authenticate(platform, token, address=client_address(connection))
            )
        if self.roles and not set(self.roles) & set(principal.roles):
            wanted = " or ".join(role.value for role in self.roles)
            raise Forbidden(f"this needs the role {wanted}", code="role-required", required=[*self.roles])
        connection.state["principal"] = principal

    def __repr__(self) -> str:
        browser = ", browser=True" if self.browser else ""
        return f"requires({', '.join(role.value for role in self.roles)}{browser})"


def requires(*roles: Role | str, browser: bool = False) -> RoleGuard:
    """A guard for routes open to identities holding any of ``roles`` (no roles: any logged-in identity).

    ``browser=True`` (pages) also admits a signed-in browser session, with an anti-forgery check on
    state-changing methods; the API keeps the default (bearer tokens only).
    """
    return RoleGuard(tuple(Role(role) for role in roles), browser=browser)


def is_public(route_handler: BaseRouteHandler) -> bool:
    """Whether the route was explicitly marked public."""
    return bool(route_handler.opt.get("public"))


def role_guards(route_handler: BaseRouteHandler) -> list[RoleGuard]:
    """The role guards that apply to a route (from every layer)."""
    guards: list[RoleGuard] = []
    for layer in route_handler.ownership_layers:
        guards.extend(guard for guard in (layer.guards or []) if isinstance(guard, RoleGuard))
    return guards


def public_routes(*handlers: ControllerRouterHandler, path: str = "/") -> Router:
    """Register ``handlers`` as public (for handlers owned by modules that do not mark themselves)."""
    return Router(path=path, route_handlers=list(handlers), opt=PUBLIC)


def _provide_principal(request: Request[Any, Any, Any]) -> Principal:
    principal = request.state.get("principal")
    if not isinstance(principal, Principal):
        raise Unauthorized("log in first", code="login-required")
    return principal


#: The authenticated caller, injected into a handler parameter named ``principal``.
PrincipalDep: TypeAlias = NamedDependency[Principal]

#: Add to a controller's ``dependencies`` to receive the caller as a ``principal`` parameter.
PRINCIPAL_DEPENDENCY: Final[dict[str, Provide]] = {
    "principal": Provide(_provide_principal, sync_to_thread=False)
}
