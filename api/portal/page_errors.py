"""The HTML answer when a signed-in portal page cannot be shown.

Refusals (not signed in, wrong role, stale form) and domain errors of pages guarded with
``requires(..., browser=True)`` are rendered as pages that say in the reader's language what to do,
with the status code the API would answer (:data:`PAGE_EXCEPTION_HANDLERS`).
"""

from __future__ import annotations

from typing import Any, Final

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotFoundException, ValidationException

from api.portal.rendering import render
from api.problems import handle_exception
from tendering.errors import SealbidError
from tendering.platform import Platform

#: Error codes the catalogs explain (``problem.<code>``); others show a generic text with the detail.
EXPLAINED_CODES: Final = frozenset(
    {
        "login-required",
        "browser-session-ended",
        "signin-link-invalid",
        "role-required",
        "csrf-failed",
        "documents-closed",
        "document-period-closed",
        "document-period-not-started",
        "tender-not-found",
        "not-found",
        "certificate-revoked",
        "token-invalid",
    }
)


def page_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Render a refusal or a domain error of a signed-in page as an HTML page with its status."""
    if isinstance(exc, SealbidError):
        status, code, detail = exc.status, exc.code, exc.detail
    elif isinstance(exc, NotFoundException):
        status, code, detail = 404, "not-found", str(exc.detail)
    elif isinstance(exc, ValidationException | HTTPException):
        status, code, detail = exc.status_code, "invalid-input", str(exc.detail)
    else:
        return handle_exception(request, exc)
    platform: Platform = request.app.state.platform
    return render(
        request,
        platform,
        "problem.html",
        status_code=status,
        look_up_viewer=False,
        code=code,
        explained=code in EXPLAINED_CODES,
        detail=detail,
        sign_in=status == 401,
    )


#: Exception handlers for controllers of signed-in pages.
PAGE_EXCEPTION_HANDLERS: Final[dict[Any, Any]] = {Exception: page_problem}
