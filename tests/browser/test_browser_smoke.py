"""The browser fixture drives the system Chromium against a real server."""

from __future__ import annotations

from api.app import create_app
from api.local_server import serve_in_thread
from tendering.platform import Platform


def test_chromium_loads_a_served_page(platform: Platform, page: object) -> None:
    app = create_app(platform=platform, configure_logs=False)
    with serve_in_thread(app) as base_url:
        response = page.goto(f"{base_url}/healthz")  # type: ignore[attr-defined]
        assert response is not None
        assert response.status == 200
        assert '"ok"' in page.content()  # type: ignore[attr-defined]
