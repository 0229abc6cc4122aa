"""Server-rendered pages: the Jinja environment, the caller's language, and display formatting.

Templates live in ``api/templates`` (autoescaped); every visible word comes from the message catalog
(``t("key")``). The language is chosen per request by :func:`tendering.i18n.negotiate_locale`
(``?lang=`` then the ``lang`` cookie then ``Accept-Language``); an explicit ``?lang=`` is remembered in
the cookie.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import MediaType, Request, Response
from litestar.datastructures import Cookie

from api.portal.viewer import current_viewer, session_cookie
from tendering.i18n import LOCALES, Catalog, match_locale, negotiate_locale
from tendering.platform import Platform
from tendering.search.views import Money

TEMPLATE_DIR: Final[Path] = Path(__file__).resolve().parents[1] / "templates"
STATIC_DIR: Final[Path] = Path(__file__).resolve().parents[1] / "static"
LANG_COOKIE: Final[str] = "lang"


@cache
def environment() -> Environment:
    """The template environment (built once; templates are read-only package data)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = format_money
    env.filters["filesize"] = format_size
    return env


def format_money(money: Money | None) -> str:
    """``¥12,000,000.00`` style, never through float."""
    if money is None:
        return "—"
    symbol = "¥" if money.currency == "CNY" else f"{money.currency} "
    return f"{symbol}{money.amount.quantize(Decimal('0.01')):,}"


def format_size(size: int) -> str:
    """A byte count for people."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / 1024 / 1024:.1f} MiB"


def request_locale(request: Request[Any, Any, Any], platform: Platform) -> str:
    """The language for this request."""
    return negotiate_locale(
        query=request.query_params.get("lang"),
        cookie=request.cookies.get(LANG_COOKIE),
        accept_language=request.headers.get("accept-language"),
        default=platform.settings.default_locale,
    )


def url_with(request: Request[Any, Any, Any], **changes: object) -> str:
    """This page's URL with some query parameters changed (None removes one)."""
    params = {key: value for key, value in request.query_params.items() if value}
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return f"{request.url.path}?{query}" if query else request.url.path


def render(
    request: Request[Any, Any, Any],
    platform: Platform,
    template: str,
    *,
    status_code: int = 200,
    look_up_viewer: bool = True,
    time_zone: str | None = None,
    **context: Any,
) -> Response[str]:
    """Render ``template`` in the caller's language as an HTML response.

    The signed-in viewer (if any) is shown; ``look_up_viewer=False`` (on the event loop, e.g. in an
    exception handler) shows only a viewer the request's guard already authenticated. Times are shown in
    ``time_zone`` (a tender's own zone), else the platform's ``default_time_zone``; ``local_time(moment,
    zone=…)`` shows one time in another zone (each tender's in a list)."""
    locale = request_locale(request, platform)
    catalog = Catalog(locale)
    viewer = current_viewer(request, platform, look_up=look_up_viewer)
    page_zone = time_zone or platform.settings.default_time_zone

    def local_time(moment: datetime | None, with_time: bool = True, zone: str | None = None) -> str:
        if moment is None:
            return "—"
        shown = moment.astimezone(ZoneInfo(zone or page_zone))
        return shown.strftime("%Y-%m-%d %H:%M" if with_time else "%Y-%m-%d")

    html = (
        environment()
        .get_template(template)
        .render(
            t=catalog,
            locale=locale,
            locales=LOCALES,
            request=request,
            url_with=lambda **changes: url_with(request, **changes),
            local_time=local_time,
            time_zone=page_zone,
            viewer=viewer,
            current_path=url_with(request),
            **context,
        )
    )
    cookies = []
    chosen = match_locale(request.query_params.get("lang"))
    if chosen:
        cookies.append(
            Cookie(key=LANG_COOKIE, value=chosen, max_age=365 * 86400, samesite="lax", httponly=True)
        )
    if request.state.get("browser_session_ended"):
        cookies.append(session_cookie(platform, None))
    headers = {"Content-Language": locale, "Vary": "Accept-Language, Cookie"}
    if viewer is not None:
        headers["Cache-Control"] = "private, no-store"
    return Response(
        html, status_code=status_code, media_type=MediaType.HTML, cookies=cookies, headers=headers
    )
