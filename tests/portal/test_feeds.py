"""Atom feed and sitemap."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from litestar.testing import TestClient

from api.portal import feeds
from tendering.platform import Platform
from tendering.search.memory import InMemoryPublicTenders
from tendering.search.views import TenderView

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"


def test_atom_feed(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    response = portal.get("/feed.atom")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.findtext(f"{ATOM}title") == "sealbid 招标公告"
    entries = feed.findall(f"{ATOM}entry")
    assert entries[0].findtext(f"{ATOM}title") == "Office cleaning services 办公楼保洁服务"
    assert len(entries) == 3
    for entry in entries:
        assert entry.findtext(f"{ATOM}id", "").startswith("urn:uuid:")
        assert entry.findtext(f"{ATOM}updated", "").endswith("Z")
        assert entry.find(f"{ATOM}link").get("href", "").startswith("http://127.0.0.1:8000/announcements/")  # type: ignore[union-attr]


def test_feed_filters_and_language(portal: TestClient) -> None:  # type: ignore[type-arg]
    feed = ET.fromstring(portal.get("/feed.atom?q=笔记本&lang=en").content)
    assert feed.findtext(f"{ATOM}title") == "sealbid tender announcements"
    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == ["区教育局笔记本电脑采购"]
    assert portal.get("/feed.atom?category=ships").status_code == 400


def test_titles_are_escaped(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    from dataclasses import replace

    from tendering.search.memory import InMemoryPublicTenders

    portal.app.state.public_tenders = InMemoryPublicTenders(
        [replace(sample_tenders[0], title="A & B <script>")]
    )
    feed = ET.fromstring(portal.get("/feed.atom").content)
    assert feed.find(f"{ATOM}entry").findtext(f"{ATOM}title") == "A & B <script>"  # type: ignore[union-attr]
    page = portal.get("/announcements").text
    assert "A &amp; B &lt;script&gt;" in page and "<script>" not in page


def _locations(portal: TestClient, url: str, tag: str) -> list[str]:  # type: ignore[type-arg]
    response = portal.get(url)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/xml")
    return [
        u.findtext(f"{SITEMAP}loc", "") for u in ET.fromstring(response.content).findall(f"{SITEMAP}{tag}")
    ]


def test_sitemap_index_and_its_pages(
    portal: TestClient,  # type: ignore[type-arg]
    sample_tenders: list[TenderView],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(feeds, "SITEMAP_LIMIT", 2)  # 3 tenders: two pages of tenders
    base = "http://127.0.0.1:8000"
    index = _locations(portal, "/sitemap.xml", "sitemap")
    assert index == [
        f"{base}/sitemap.xml?page=portal",
        f"{base}/sitemap.xml?page=1",
        f"{base}/sitemap.xml?page=2",
    ]
    assert _locations(portal, "/sitemap.xml?page=portal", "url") == [f"{base}/announcements"]
    first, second = (_locations(portal, f"/sitemap.xml?page={n}", "url") for n in (1, 2))
    by_publication = sorted(sample_tenders, key=lambda t: (t.published, str(t.id)))
    assert first + second == [f"{base}/announcements/{t.id}" for t in by_publication]
    assert (len(first), len(second)) == (2, 1)
    page = ET.fromstring(portal.get("/sitemap.xml?page=2").content)
    lastmod = page.find(f"{SITEMAP}url").findtext(f"{SITEMAP}lastmod")  # type: ignore[union-attr]
    assert lastmod == by_publication[-1].changed_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    for beyond in ("3", "0", "-1", "x", "9999999999"):
        response = portal.get(f"/sitemap.xml?page={beyond}")
        assert response.status_code == 404
        assert response.json()["code"] == "sitemap-page-unknown"


def test_sitemap_pages_hold_at_most_50000_urls(portal: TestClient) -> None:  # type: ignore[type-arg]
    assert feeds.SITEMAP_LIMIT == 50_000  # the sitemaps.org limit per sitemap
    assert len(_locations(portal, "/sitemap.xml", "sitemap")) == 2  # portal pages + one page of tenders


def test_no_tenders_no_tender_pages(platform: Platform) -> None:
    from api.app import create_app

    app = create_app(platform=platform, configure_logs=False)
    app.state.public_tenders = InMemoryPublicTenders([])
    with TestClient(app) as client:
        index = ET.fromstring(client.get("/sitemap.xml").content)
        assert [s.findtext(f"{SITEMAP}loc") for s in index] == [
            "http://127.0.0.1:8000/sitemap.xml?page=portal"
        ]
        assert client.get("/sitemap.xml?page=1").status_code == 404
