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
from tendering.identity.models import Role
from tendering.identity.sessions import Principal, authenticate
from tendering.platform import Platform

#: Route ``opt`` that marks a route as deliberately open to anyone.
PUBLIC: Final[dict[str, Any]] = {"public": True}


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

    def __init__(self, roles: tuple[Role, ...]) -> None:
        self.roles = roles

    async def __call__(
        self, connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler
    ) -> None:
        """Authenticate the caller, check the role, and remember the principal on the connection."""
        platform: Platform = connection.app.state.platform
        token = bearer_token(connection)
        principal = await anyio.to_thread.run_sync(
            lambda: authenticate(platform, token, address=client_address(connection))
        )
        if self.roles and not set(self.roles) & set(principal.roles):
            wanted = " or ".join(role.value for role in self.roles)
            raise Forbidden(f"this needs the role {wanted}", code="role-required", required=[*self.roles])
        connection.state["principal"] = principal

    def __repr__(self) -> str:
        return f"requires({', '.join(role.value for role in self.roles)})"


def requires(*roles: Role | str) -> RoleGuard:
    """A guard for routes open to identities holding any of ``roles`` (no roles: any logged-in identity)."""
    return RoleGuard(tuple(Role(role) for role in roles))


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
