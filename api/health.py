"""Liveness and readiness probes."""

from __future__ import annotations

from typing import Any

from litestar import Response, get

from api.deps import PlatformDep


@get("/healthz", tags=["operations"], summary="Liveness: the process answers", sync_to_thread=False)
def healthz() -> dict[str, str]:
    """Answer 200 while the process runs."""
    return {"status": "ok"}


@get("/readyz", tags=["operations"], summary="Readiness: database, broker, blob store", sync_to_thread=True)
def readyz(platform: PlatformDep) -> Response[dict[str, Any]]:
    """Answer 200 when every dependency is reachable, else 503 with what failed."""
    checks = platform.readiness()
    ready = all(value == "ok" for value in checks.values())
    return Response(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status_code=200 if ready else 503
    )
