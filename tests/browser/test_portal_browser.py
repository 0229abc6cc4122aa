"""The portal in a real browser: search in Chinese, open a tender, the sign-in explanation, switch language.

The app runs under uvicorn in a thread (``serve_in_thread``) and reads injected sample tender views.
A screenshot of the tender page is written to the test's temporary directory (and to
``$SEALBID_SCREENSHOT_DIR`` when set) so a person can check the Chinese rendering.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.app import create_app
from api.local_server import serve_in_thread
from tendering.platform import Platform
from tendering.search.memory import InMemoryPublicTenders
from tendering.search.views import TenderView
from tests.portal.conftest import sample_tenders

__all__ = ["sample_tenders"]


@pytest.fixture
def base_url(platform: Platform, sample_tenders: list[TenderView]) -> Iterator[str]:
    """A served portal over the sample tenders."""
    app = create_app(platform=platform, configure_logs=False)
    app.state.public_tenders = InMemoryPublicTenders(sample_tenders)
    with serve_in_thread(app) as url:
        yield url


def test_search_for_a_chinese_term_finds_the_tender(base_url: str, page: Any) -> None:
    page.goto(f"{base_url}/announcements")
    assert page.title().startswith("招标公告")
    page.get_by_label("关键词").fill("笔记本电脑")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**/announcements?q=*")
    assert page.locator("#result-count").inner_text().startswith("共 1 条公告")
    results = page.locator("ol.results h2 a")
    assert results.all_inner_texts() == ["区教育局笔记本电脑采购"]


def test_filter_by_category_in_the_form(base_url: str, page: Any) -> None:
    page.goto(f"{base_url}/announcements")
    page.get_by_label("类别").select_option("services")
    page.get_by_role("button", name="搜索").click()
    page.wait_for_url("**category=services*")
    assert page.locator("ol.results h2 a").all_inner_texts() == ["Office cleaning services 办公楼保洁服务"]


def test_opening_a_tender_shows_lots_timeline_and_documents(
    base_url: str, page: Any, sample_tenders: list[TenderView], tmp_path: Path
) -> None:
    tender = sample_tenders[0]
    page.goto(f"{base_url}/announcements?q=道路")
    page.get_by_role("link", name=tender.title).click()
    page.wait_for_url(f"**/announcements/{tender.id}")
    assert page.get_by_role("heading", level=1).inner_text() == tender.title
    lots = page.locator("#lots tbody tr")
    assert lots.count() == 2
    assert "一标段：道路" in lots.nth(0).inner_text() and "¥11,800,000.00" in lots.nth(0).inner_text()
    timeline = page.locator("#timeline tbody tr th").all_inner_texts()
    assert timeline[0] == "公告发布" and "投标截止（开标时间）" in timeline
    assert "澄清第1号" in page.locator("#amendments").inner_text()
    documents = page.locator("#documents").inner_text()
    assert "请以投标人身份登录后下载招标文件" in documents and tender.documents[0].sha256 in documents

    page.set_viewport_size({"width": 1200, "height": 1400})
    shot = tmp_path / "tender-zh.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    keep = os.environ.get("SEALBID_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / shot.name)


def test_anonymous_visitor_is_told_how_to_sign_in(
    base_url: str, page: Any, sample_tenders: list[TenderView]
) -> None:
    tender = sample_tenders[0]
    page.goto(f"{base_url}/announcements/{tender.id}")
    assert page.get_by_role("button", name="下载").count() == 0
    help_text = page.locator("#download-help").inner_text()
    assert f"sealbid login --browser --p12 证书.p12 --next /announcements/{tender.id}" in help_text
    page.get_by_role("link", name="登录说明").click()
    page.wait_for_url("**/signin")
    assert "sealbid login --browser" in page.locator("#how").inner_text()
    # the API's download stays bearer-only and answers a browser with a problem document
    api = f"{base_url}/tenders/{tender.id}/documents/{tender.documents[0].id}/download"
    response = page.request.get(api)
    assert response.status in (401, 404)
    assert response.headers["content-type"].startswith("application/problem+json")


def test_language_switch_is_remembered(base_url: str, page: Any) -> None:
    page.goto(f"{base_url}/announcements")
    page.get_by_role("link", name="English").click()
    page.wait_for_url("**lang=en*")
    assert page.get_by_role("heading", level=1).inner_text() == "Tender announcements"
    assert page.locator("html").get_attribute("lang") == "en"
    page.goto(f"{base_url}/announcements")
    assert page.get_by_role("heading", level=1).inner_text() == "Tender announcements"
    page.get_by_role("link", name="中文").click()
    assert page.get_by_role("heading", level=1).inner_text() == "招标公告"
