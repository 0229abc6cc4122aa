"""Atom feed and sitemap."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from litestar.testing import TestClient

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


def test_sitemap(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    response = portal.get("/sitemap.xml")
    assert response.status_code == 200
    urls = ET.fromstring(response.content).findall(f"{SITEMAP}url")
    locations = {u.findtext(f"{SITEMAP}loc") for u in urls}
    assert "http://127.0.0.1:8000/announcements" in locations
    assert {f"http://127.0.0.1:8000/announcements/{t.id}" for t in sample_tenders} <= locations
