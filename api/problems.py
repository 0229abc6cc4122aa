"""One exception handler: every error leaves the API as RFC 9457 ``application/problem+json``."""

from __future__ import annotations

from typing import Any

import structlog
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from ulid import ULID

from tendering.errors import SealbidError

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger("sealbid.api")


def _problem(request: Request[Any, Any, Any], status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    state = request.scope.setdefault("state", {})
    # Errors raised before routing (an unknown path) never pass the request-id middleware.
    request_id = state.get("request_id") or state.setdefault("request_id", str(ULID()))
    body.setdefault("request_id", request_id)
    body.setdefault("instance", request.url.path)
    return Response(
        content=body, status_code=status, media_type=PROBLEM_JSON, headers={"X-Request-ID": request_id}
    )


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[dict[str, Any]]:
    """Map sealbid errors, framework errors and crashes to problem documents."""
    if isinstance(exc, SealbidError):
        return _problem(request, exc.status, exc.to_problem())
    if isinstance(exc, ValidationException):
        return _problem(
            request,
            400,
            {
                "type": "https://sealbid.dev/problems/invalid-input",
                "title": "Invalid input",
                "status": 400,
                "code": "invalid-input",
                "detail": exc.detail,
                "errors": exc.extra if isinstance(exc.extra, list) else [],
            },
        )
    if isinstance(exc, HTTPException):
        code = {404: "not-found", 405: "method-not-allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http-error"
        )
        return _problem(
            request,
            exc.status_code,
            {
                "type": f"https://sealbid.dev/problems/{code}",
                "title": str(exc.detail) if exc.detail else "HTTP error",
                "status": exc.status_code,
                "code": code,
                "detail": str(exc.detail),
            },
        )
    log.exception("unhandled error", path=request.url.path)
    return _problem(
        request,
        500,
        {
            "type": "https://sealbid.dev/problems/internal",
            "title": "Internal error",
            "status": 500,
            "code": "internal",
            "detail": "An unexpected error occurred; quote the request id when reporting it.",
        },
    )


__all__ = ["PROBLEM_JSON", "MediaType", "handle_exception"]
