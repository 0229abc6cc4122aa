"""Request ids: taken from ``X-Request-ID`` when sane, else made; echoed back and bound to logs."""

from __future__ import annotations

import re
import time

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from ulid import ULID

_SANE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
log = structlog.get_logger("sealbid.access")


def request_id_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware factory that assigns a request id and writes one access-log line."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _SANE.match(incoming) else str(ULID())
        scope.setdefault("state", {})["request_id"] = request_id
        status = {"code": 500}
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                MutableScopeHeaders.from_message(message)["X-Request-ID"] = request_id
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                await app(scope, receive, send_with_id)
            finally:
                client = scope.get("client")
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status["code"],
                    client=client[0] if client else None,
                    ms=round((time.perf_counter() - started) * 1000, 2),
                )

    return middleware
