"""Every route is either explicitly public or guarded by a role guard."""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute

from api.app import create_app
from api.auth import is_public, role_guards
from tendering.platform import Platform

#: Public by design; anything added here needs a reason in api/auth.py's policy.
EXPECTED_PUBLIC_PREFIXES = (
    "/healthz",
    "/readyz",
    "/auth/challenge",
    "/auth/login",
    "/dev-pki/",
    "/log",
    "/schema",
    # the public portal (api/portal): pages, static files, Atom feed, sitemap, OCDS open data
    "/announcements",
    "/static/",
    "/feed.atom",
    "/sitemap.xml",
    "/ocds/",
    # published tenders as JSON (api/tender_access.py)
    "/public/",
    # browser sign-in (api/portal/signin.py): how a browser gets a session from a single-use hand-off
    # link issued to a bearer login, and drops it; the link or the session's anti-forgery token is the
    # credential
    "/signin",
    "/signout",
    # telephony provider webhooks, authenticated by the provider's request signature (api/telephony.py)
    "/telephony/",
)
#: Exact public paths (the portal's home page redirects to the announcement list).
EXPECTED_PUBLIC_PATHS = ("/",)


def _handlers(app: Litestar) -> list[tuple[str, str, object]]:
    return [
        (route.path, method, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        for method in sorted(handler.http_methods)
    ]


def test_every_route_is_public_or_guarded(platform: Platform) -> None:
    app = create_app(platform=platform, configure_logs=False)
    openapi_path = app.openapi_config.path if app.openapi_config else "/schema"
    unguarded = []
    for path, method, handler in _handlers(app):
        if path == openapi_path or path.startswith(openapi_path + "/"):
            continue  # the OpenAPI document and its viewers are public
        if method == "OPTIONS" and handler.fn.__name__ == "options_handler":  # type: ignore[attr-defined]
            continue  # Litestar's automatic CORS preflight answer, which runs no handler code
        if not (is_public(handler) or role_guards(handler)):  # type: ignore[arg-type]
            unguarded.append(f"{method} {path}")
    assert not unguarded, f"routes neither public (opt=PUBLIC) nor guarded (requires(...)): {unguarded}"


def test_public_routes_are_the_expected_ones(platform: Platform) -> None:
    app = create_app(platform=platform, configure_logs=False)
    public = {path for path, _, handler in _handlers(app) if is_public(handler)}  # type: ignore[arg-type]
    assert {"/healthz", "/readyz", "/auth/challenge", "/auth/login"} <= public
    strays = sorted(
        p for p in public if not p.startswith(EXPECTED_PUBLIC_PREFIXES) and p not in EXPECTED_PUBLIC_PATHS
    )
    assert not strays, f"unexpected public routes: {strays}"


def test_guarded_routes_name_their_roles(platform: Platform) -> None:
    app = create_app(platform=platform, configure_logs=False)
    guards = {path: role_guards(h) for path, method, h in _handlers(app) if method != "OPTIONS"}  # type: ignore[arg-type]
    assert [g.roles for g in guards["/auth/me"]] == [()]
    assert [tuple(r.value for r in g.roles) for g in guards["/admin/identities"]] == [("admin",)]
    assert [g.roles for g in guards["/auth/browser-link"]] == [()]


def test_only_pages_accept_the_browser_session(platform: Platform) -> None:
    """A browser session cookie authorises portal pages only; every API route takes bearer tokens."""
    app = create_app(platform=platform, configure_logs=False)
    browser_routes = sorted(
        {path for path, _, h in _handlers(app) if any(g.browser for g in role_guards(h))}  # type: ignore[arg-type]
    )
    assert browser_routes == [
        "/announcements/{tender_id:uuid}/documents/{document_id:uuid}/download",
        "/supervision",
        # the opening hall page and what its script uses (api/opening_hall.py); its /state is bearer-only
        "/tenders/{tender_id:uuid}/opening-hall",
        "/tenders/{tender_id:uuid}/opening-hall/events",
        "/tenders/{tender_id:uuid}/opening-hall/objections",
        "/tenders/{tender_id:uuid}/opening-hall/objections/{objection_id:uuid}/answer",
    ]
