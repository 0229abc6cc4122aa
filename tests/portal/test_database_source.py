"""The database-backed portal source: filters and Chinese full-text search on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tendering.errors import NotFound
from tendering.ocds.bulk import release_page
from tendering.ocds.schemas import validate
from tendering.platform import Platform
from tendering.search.query import parse_query
from tendering.search.source import DatabasePublicTenders
from tests.portal.dbseed import T0, Seeded, published_tender


@pytest.fixture
def seeded(platform: Platform) -> dict[str, Seeded]:
    """Three published tenders with Chinese and English text."""
    return {
        "roads": published_tender(
            platform,
            title="城南道路改造工程施工招标",
            description="道路改造，含排水与照明。",
            notices=(("clarification", "澄清第1号", "投标截止时间顺延五日。", timedelta(days=3)),),
        ),
        "laptops": published_tender(
            platform,
            title="区教育局笔记本电脑采购",
            category="goods",
            region="350200",
            state="cancelled",
            end_reason="项目资金未落实。",
            notices=(("cancellation", "终止公告", "项目资金未落实。", timedelta(days=5)),),
        ),
        "cleaning": published_tender(
            platform,
            title="Office cleaning services 办公楼保洁服务",
            category="services",
            region="310101",
            published=T0 + timedelta(days=10),
        ),
    }


def _titles(platform: Platform, **params: str) -> set[str]:
    result = DatabasePublicTenders(platform.session_factory).search(parse_query(params))
    assert result.total == len(result.items)
    return {item.title for item in result.items}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"q": "道路"}, {"roads"}),  # two characters: below a trigram, LIKE fallback
        ({"q": "笔记本电脑"}, {"laptops"}),  # trigram index
        ({"q": "保洁服务"}, {"cleaning"}),
        ({"q": "CLEANING"}, {"cleaning"}),  # case-insensitive for Latin letters
        ({"q": "排水与照明"}, {"roads"}),  # description
        ({"q": "道路 照明"}, {"roads"}),
        ({"q": "道路 保洁"}, set()),
        ({"q": "100%"}, set()),  # LIKE wildcards are literal
        ({"q": '"引号'}, set()),  # FTS5 syntax is literal
        ({"category": "goods"}, {"laptops"}),
        ({"region": "42"}, {"roads"}),
        ({"region": "310101"}, {"cleaning"}),
        ({"status": "cancelled"}, {"laptops"}),
        ({"from": "2026-03-05"}, {"cleaning"}),
        ({"to": "2026-03-02"}, {"roads", "laptops"}),
    ],
)
def test_search_and_filters(
    platform: Platform, seeded: dict[str, Seeded], params: dict[str, str], expected: set[str]
) -> None:
    names = {
        "roads": "城南道路改造工程施工招标",
        "laptops": "区教育局笔记本电脑采购",
        "cleaning": "Office cleaning services 办公楼保洁服务",
    }
    assert _titles(platform, **params) == {names[key] for key in expected}


def test_search_sees_edits(platform: Platform, seeded: dict[str, Seeded]) -> None:
    from tendering.tenders.models import Tender

    with platform.transaction() as session:
        tender = session.get(Tender, seeded["roads"].tender_id)
        assert tender is not None
        tender.title = tender.project_name = "城北桥梁加固工程"
    assert _titles(platform, q="桥梁加固") == {"城北桥梁加固工程"}
    assert _titles(platform, q="城南道路改造") == set()


def test_detail_view_and_ocds(platform: Platform, seeded: dict[str, Seeded]) -> None:
    source = DatabasePublicTenders(platform.session_factory)
    roads = source.get(seeded["roads"].tender_id)
    assert [lot.title for lot in roads.lots] == ["一标段"]
    assert [n.kind for n in roads.notices] == ["tender", "amendment"]
    assert roads.documents[0].id == seeded["roads"].document_id
    assert roads.tenderee.name == "武汉市城建局"
    laptops = source.get(seeded["laptops"].tender_id)
    assert laptops.cancel_reason == "项目资金未落实。"
    page = release_page(source, since=None, until=None, after=None, limit=10, base_url="http://x")
    assert len(page.releases) == 5
    for item in page.releases:
        verdict = validate(item, "release")
        assert verdict.ok, verdict.errors
    assert source.regions() == ("310101", "350200", "420100")
    with pytest.raises(NotFound):
        source.get(seeded["roads"].document_id)


def test_changed_pages_by_last_change(platform: Platform, seeded: dict[str, Seeded]) -> None:
    source = DatabasePublicTenders(platform.session_factory)
    order = [t.title for t in source.changed(None, None, limit=10)]
    assert order == [
        "城南道路改造工程施工招标",
        "区教育局笔记本电脑采购",
        "Office cleaning services 办公楼保洁服务",
    ]
    first = next(source.changed(None, None, limit=1))
    rest = [t.title for t in source.changed(None, None, after=(first.last_changed, first.id), limit=10)]
    assert rest == order[1:]
    assert [t.title for t in source.changed(T0 + timedelta(days=4), None, limit=10)] == order[1:]


def test_served_portal_reads_the_database(client: Any, seeded: dict[str, Seeded]) -> None:
    page = client.get("/announcements", params={"q": "笔记本"})
    assert page.status_code == 200
    assert "区教育局笔记本电脑采购" in page.text and "城南道路" not in page.text
    detail = client.get(f"/announcements/{seeded['roads'].tender_id}")
    assert "澄清第1号" in detail.text and "¥11,800,000.00" in detail.text
    package = client.get("/ocds/releases").json()
    verdict = validate(package, "release-package")
    assert verdict.ok, verdict.errors
    assert len(package["releases"]) == 5
    record = client.get(f"/ocds/tenders/{seeded['laptops'].tender_id}/record").json()
    assert validate(record, "record-package").ok
    assert "城南道路改造工程施工招标" in client.get("/feed.atom").text
    assert "/sitemap.xml?page=1" in client.get("/sitemap.xml").text
    assert str(seeded["cleaning"].tender_id) in client.get("/sitemap.xml?page=1").text


def test_list_items_are_the_detail_views_without_lots_and_documents(
    platform: Platform, seeded: dict[str, Seeded]
) -> None:
    from dataclasses import replace

    source = DatabasePublicTenders(platform.session_factory)
    items = source.search(parse_query({})).items
    assert len(items) == 3
    for item in items:
        full = source.get(item.id)
        assert full.lots and full.documents  # the detail has them; the list leaves them out
        assert item == replace(full, lots=(), documents=())
    cancelled = next(item for item in items if item.status == "cancelled")
    assert cancelled.cancel_reason == "项目资金未落实。"
    assert cancelled.last_changed == T0 + timedelta(days=5)


def test_export_views_are_the_detail_views(platform: Platform, seeded: dict[str, Seeded]) -> None:
    source = DatabasePublicTenders(platform.session_factory)
    exported = list(source.changed(None, None, limit=10))
    assert len(exported) == 3
    assert exported == [source.get(view.id) for view in exported]


def test_sitemap_entries_are_ids_and_change_times_in_publication_order(
    platform: Platform, seeded: dict[str, Seeded]
) -> None:
    source = DatabasePublicTenders(platform.session_factory)
    assert source.published_count() == 3
    entries = source.sitemap_entries(0, 10)
    views = {view.id: view for view in source.changed(None, None, limit=10)}
    assert [tender_id for tender_id, _ in entries] == [
        view.id for view in sorted(views.values(), key=lambda v: (v.published, v.id))
    ]
    assert all(changed == views[tender_id].changed_at for tender_id, changed in entries)
    assert source.sitemap_entries(1, 1) == entries[1:2]
    assert source.sitemap_entries(3, 10) == []
