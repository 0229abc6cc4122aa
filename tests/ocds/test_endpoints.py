"""The OCDS endpoints serve schema-valid packages; the bulk endpoint pages by date."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pytest
from litestar.testing import TestClient

from tendering.ocds.schemas import validate
from tendering.platform import Platform
from tendering.search.memory import InMemoryPublicTenders
from tendering.search.views import TenderView


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_bulk_release_package(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    response = portal.get("/ocds/releases")
    assert response.status_code == 200
    package = response.json()
    verdict = validate(package, "release-package")
    assert verdict.ok, verdict.errors
    assert len(package["releases"]) == sum(len(t.notices) for t in sample_tenders)
    assert "links" not in package


def test_bulk_paging_walks_every_release_once(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    seen: list[str] = []
    url = "/ocds/releases?limit=1"
    pages = 0
    while url:
        response = portal.get(url)
        package = response.json()
        assert validate(package, "release-package").ok
        seen += [f"{r['ocid']}/{r['id']}" for r in package["releases"]]
        next_url = package.get("links", {}).get("next")
        if next_url:
            assert response.headers["link"] == f'<{next_url}>; rel="next"'
            assert "limit=1" in next_url
        url = _path(next_url) if next_url else ""
        pages += 1
    assert pages == len(sample_tenders)
    assert len(seen) == len(set(seen)) == sum(len(t.notices) for t in sample_tenders)


def test_bulk_since_until(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    late = portal.get("/ocds/releases?since=2026-03-10T00:00:00Z").json()
    assert {r["tender"]["title"] for r in late["releases"]} == {"Office cleaning services 办公楼保洁服务"}
    early = portal.get("/ocds/releases", params={"until": "2026-03-06T00:00:00+08:00"}).json()
    assert {r["tender"]["title"] for r in early["releases"]} == {"城南道路改造工程施工招标"}


@pytest.mark.parametrize(
    "query",
    ["since=yesterday", "since=2026-03-01T00:00:00", "limit=0", "limit=5000", "limit=-1", "after=junk"],
)
def test_bulk_bad_parameters(portal: TestClient, query: str) -> None:  # type: ignore[type-arg]
    response = portal.get(f"/ocds/releases?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["parameter"] == query.split("=", maxsplit=1)[0]


def test_tender_releases_and_record(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    tender = sample_tenders[1]
    releases = portal.get(f"/ocds/tenders/{tender.id}/releases").json()
    assert validate(releases, "release-package").ok
    assert [r["tag"] for r in releases["releases"]] == [["tender"], ["tenderCancellation"]]
    record = portal.get(f"/ocds/tenders/{tender.id}/record").json()
    verdict = validate(record, "record-package")
    assert verdict.ok, verdict.errors
    assert record["records"][0]["compiledRelease"]["tender"]["status"] == "cancelled"
    missing = portal.get("/ocds/tenders/00000000-0000-0000-0000-000000000000/record")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(
    "query",
    [
        "since=2026-03-05T00:00:00Z&until=2026-03-05T00:00:00Z",
        "since=2026-03-06T00:00:00Z&until=2026-03-05T00:00:00Z",
        "since=2026-03-05T08:00:00%2B08:00&until=2026-03-05T00:00:00Z",  # the same instant
    ],
)
def test_bulk_refuses_an_empty_range(portal: TestClient, query: str) -> None:  # type: ignore[type-arg]
    response = portal.get(f"/ocds/releases?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "invalid-range"
    assert response.json()["parameter"] == "until"


def test_an_empty_page_is_a_problem_not_an_invalid_package(portal: TestClient) -> None:  # type: ignore[type-arg]
    # An empty release package would break the schema (releases: minItems 1), so none is served.
    assert not validate({**_package(portal), "releases": []}, "release-package").ok
    for query in ("since=2099-01-01T00:00:00Z", "until=2000-01-01T00:00:00Z"):
        response = portal.get(f"/ocds/releases?{query}")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "no-releases"


def test_no_published_tender_no_package(platform: Platform) -> None:
    from api.app import create_app

    app = create_app(platform=platform, configure_logs=False)
    app.state.public_tenders = InMemoryPublicTenders([])
    with TestClient(app) as client:
        response = client.get("/ocds/releases")
    assert response.status_code == 404
    assert response.json()["code"] == "no-releases"


def _package(portal: TestClient) -> dict[str, Any]:  # type: ignore[type-arg]
    package: dict[str, Any] = portal.get("/ocds/releases").json()
    assert validate(package, "release-package").ok
    return package
