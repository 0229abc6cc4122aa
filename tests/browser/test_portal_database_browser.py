"""The served portal over the real database in a browser: Chinese search, the tender page, the sign-in explanation."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from api.app import create_app
from api.local_server import serve_in_thread
from tendering.platform import Platform
from tests.portal.dbseed import published_tender


def test_database_portal_in_the_browser(platform: Platform, page: Any) -> None:
    seeded = published_tender(
        platform,
        title="滨江公园景观提升工程",
        description="绿化与步道改造。",
        notices=(("amendment", "变更第1号", "增加第二批苗木清单。", timedelta(days=2)),),
    )
    published_tender(platform, title="市第一医院医疗设备采购", category="goods")
    app = create_app(platform=platform, configure_logs=False)
    with serve_in_thread(app) as base_url:
        page.goto(f"{base_url}/announcements")
        page.get_by_label("关键词").fill("步道")  # only in the description, two characters
        page.get_by_role("button", name="搜索").click()
        page.wait_for_url("**q=*")
        assert page.locator("ol.results h2 a").all_inner_texts() == ["滨江公园景观提升工程"]
        page.get_by_role("link", name="滨江公园景观提升工程").click()
        page.wait_for_url(f"**/announcements/{seeded.tender_id}")
        assert "一标段" in page.locator("#lots").inner_text()
        assert "变更第1号" in page.locator("#amendments").inner_text()
        assert "请以投标人身份登录后下载招标文件" in page.locator("#download-help").inner_text()
        href = f"/tenders/{seeded.tender_id}/documents/{seeded.document_id}/download"  # the API's download
        anonymous = page.request.get(f"{base_url}{href}")
        assert anonymous.status in (401, 404)
        assert anonymous.headers["content-type"].startswith("application/problem+json")
