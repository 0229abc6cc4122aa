"""The announcement list, filters, search, detail page and language switching."""

from __future__ import annotations

import pytest
from litestar.testing import TestClient

from tendering.search.views import TenderView


def test_home_redirects_to_the_list(portal: TestClient) -> None:  # type: ignore[type-arg]
    response = portal.get("/", follow_redirects=False)
    assert response.status_code in (301, 302, 303, 307, 308)
    assert response.headers["location"] == "/announcements"


def test_list_is_chinese_by_default(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    response = portal.get("/announcements")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["content-language"] == "zh-CN"
    assert '<html lang="zh-Hans-CN">' in response.text
    assert "招标公告" in response.text
    assert "共 3 条公告" in response.text
    for tender in sample_tenders:
        assert tender.title in response.text


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=道路", {"城南道路改造工程施工招标"}),
        ("q=笔记本", {"区教育局笔记本电脑采购"}),
        ("q=cleaning", {"Office cleaning services 办公楼保洁服务"}),
        ("q=CLEANING 保洁", {"Office cleaning services 办公楼保洁服务"}),
        ("q=道路 保洁", set()),
        (
            "q=武汉市城建局",
            {"城南道路改造工程施工招标", "区教育局笔记本电脑采购"},
        ),
        ("category=goods", {"区教育局笔记本电脑采购"}),
        ("region=31", {"Office cleaning services 办公楼保洁服务"}),
        ("status=cancelled", {"区教育局笔记本电脑采购"}),
        ("from=2026-03-05", {"Office cleaning services 办公楼保洁服务"}),
        ("to=2026-03-05", {"城南道路改造工程施工招标", "区教育局笔记本电脑采购"}),
        ("category=works&q=照明", {"城南道路改造工程施工招标"}),
    ],
)
def test_filters_and_search(
    portal: TestClient,  # type: ignore[type-arg]
    query: str,
    expected: set[str],
    sample_tenders: list[TenderView],
) -> None:
    response = portal.get(f"/announcements?{query}")
    assert response.status_code == 200
    shown = {t.title for t in sample_tenders if f"/announcements/{t.id}" in response.text}
    assert shown == expected
    assert f"共 {len(expected)} 条公告" in response.text


def test_paging(portal: TestClient) -> None:  # type: ignore[type-arg]
    first = portal.get("/announcements?per_page=2")
    assert 'rel="next"' in first.text and "第 1 页 / 2" in first.text
    second = portal.get("/announcements?per_page=2&page=2")
    assert 'rel="prev"' in second.text and second.text.count("<li>\n    <h2>") == 1


@pytest.mark.parametrize(
    "query",
    [
        "page=0",
        "page=x",
        "per_page=1000",
        "category=weapons",
        "status=secret",
        "from=2026-13-01",
        "from=2026-03-10&to=2026-03-01",
        "region=湖北",
        "region=4",
        "region=4201001",
        "q=" + "长" * 101,
        "q=%01",
    ],
)
def test_bad_parameters_are_problems(portal: TestClient, query: str) -> None:  # type: ignore[type-arg]
    response = portal.get(f"/announcements?{query}")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["code"] == "invalid-query"
    assert problem["parameter"] in query


def test_detail_page(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    tender = sample_tenders[0]
    response = portal.get(f"/announcements/{tender.id}")
    assert response.status_code == 200
    text = response.text
    for needle in (
        "一标段：道路",
        "二标段：照明",
        "¥12,000,000.00",
        "¥3,000,000.50",
        "招标文件.pdf",
        "澄清第1号",
        "投标截止时间顺延五日",
        "投标截止（开标时间）",
        "2026-03-27 09:30",
        "湖北招标代理有限公司",
    ):
        assert needle in text, needle
    assert tender.documents[0].sha256 in text
    # anonymous readers see how to sign in, not a download form
    assert "请以投标人身份登录后下载招标文件" in text
    assert f"/announcements/{tender.id}/documents/{tender.documents[0].id}/download" not in text
    assert text.index("公告发布") < text.index("澄清截止") < text.index("投标截止（开标时间）")


def test_cancelled_tender_says_why(portal: TestClient, sample_tenders: list[TenderView]) -> None:  # type: ignore[type-arg]
    response = portal.get(f"/announcements/{sample_tenders[1].id}")
    assert "本项目已终止" in response.text and "项目资金未落实" in response.text


def test_unknown_tender_is_404(portal: TestClient) -> None:  # type: ignore[type-arg]
    response = portal.get("/announcements/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert portal.get("/announcements/not-a-uuid").status_code in (400, 404)


def test_language_switching(portal: TestClient) -> None:  # type: ignore[type-arg]
    english = portal.get("/announcements?lang=en")
    assert english.headers["content-language"] == "en"
    assert "Tender announcements" in english.text and '<html lang="en">' in english.text
    assert "Xiamen, Fujian" in english.text and "Shanghai 310101" in english.text
    assert "lang=en" in english.headers.get("set-cookie", "")
    # the cookie now keeps English without the parameter
    assert "Tender announcements" in portal.get("/announcements").text
    assert "招标公告" in portal.get("/announcements?lang=zh-CN").text
    portal.cookies.clear()
    assert (
        "Tender announcements"
        in portal.get("/announcements", headers={"Accept-Language": "en-US,en;q=0.9"}).text
    )
    assert "招标公告" in portal.get("/announcements", headers={"Accept-Language": "fr"}).text


def test_static_css_is_public(portal: TestClient) -> None:  # type: ignore[type-arg]
    response = portal.get("/static/portal.css")
    assert response.status_code == 200
    assert "Noto Sans CJK SC" in response.text
