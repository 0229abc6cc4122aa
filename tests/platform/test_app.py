"""The app factory: probes, problem documents, request ids, OpenAPI."""

from __future__ import annotations

from litestar.testing import TestClient

from tendering.platform import Platform


def test_healthz_and_readyz_report_every_dependency(client: TestClient) -> None:  # type: ignore[type-arg]
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "broker": "ok", "blobs": "ok"}


def test_readyz_says_which_dependency_failed(client: TestClient, platform: Platform) -> None:  # type: ignore[type-arg]
    platform.engine.dispose()
    platform.engine.pool._creator = lambda *a, **k: (_ for _ in ()).throw(OSError("db down"))  # type: ignore[attr-defined]
    ready = client.get("/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"].startswith("unavailable (")
    assert "db down" not in ready.text  # details (hosts, users) stay in the server log
    assert body["checks"]["blobs"] == "ok"


def test_unknown_route_is_a_problem_document(client: TestClient) -> None:  # type: ignore[type-arg]
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "not-found"
    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_request_id_is_echoed_or_made(client: TestClient) -> None:  # type: ignore[type-arg]
    given = client.get("/healthz", headers={"X-Request-ID": "trace-12345678"})
    assert given.headers["x-request-id"] == "trace-12345678"
    made = client.get("/healthz", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 26


def test_openapi_schema_is_served(client: TestClient) -> None:  # type: ignore[type-arg]
    schema = client.get("/schema/openapi.json").json()
    assert schema["info"]["title"] == "sealbid"
    assert "/readyz" in schema["paths"]
