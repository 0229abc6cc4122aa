"""The supervising authority's warnings page: per agency and per tender, signed-in authority only."""

from __future__ import annotations

import re
from datetime import timedelta

from litestar.testing import TestClient

from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.tenders import service
from tendering.tenders.schedule import tick
from tests.identity.conftest import app_client, dev, test_pki  # noqa: F401 - shared fixtures
from tests.portal.signin_helpers import sign_in
from tests.tenders.conftest import Parties, parties  # noqa: F401 - shared fixtures
from tests.tenders.helpers import agency, draft

Client = TestClient  # type: ignore[type-arg]


def submitted_for_review(platform: Platform, clock: ManualClock, parties: Parties, title: str) -> None:  # noqa: F811
    """Submit a tender for review (the authority has 72 hours; yellow 24 hours before)."""
    tender_id = draft(platform, clock, parties, title=title).summary.id
    service.submit(platform, tender_id, actor=agency(parties))


def rows(html: str) -> list[str]:
    """The level, step and responsible party of every warning row, tags stripped."""
    found = re.findall(r'<tr class="warning (\w+)">(.*?)</tr>', html, re.S)
    cells = [re.findall(r"<td>(.*?)</td>", body, re.S)[:3] for _, body in found]
    return [
        level + ":" + " ".join(re.sub(r"<[^>]+>", "", cell).strip() for cell in row)
        for (level, _), row in zip(found, cells, strict=True)
    ]


def test_anonymous_and_tenderers_are_refused_with_a_page(app_client: Client, test_pki: BuiltPki) -> None:  # noqa: F811
    anonymous = app_client.get("/supervision")
    assert anonymous.status_code == 401
    assert anonymous.headers["content-type"].startswith("text/html")
    assert 'data-code="login-required"' in anonymous.text and "您尚未登录" in anonymous.text
    assert "--next /supervision" in anonymous.text
    sign_in(app_client, test_pki, "tenderer-1")
    refused = app_client.get("/supervision?lang=en")
    assert refused.status_code == 403
    assert "does not hold the role needed here" in refused.text
    assert 'href="/supervision"' not in refused.text  # the menu offers the page to authorities only


def test_authority_sees_warnings_per_agency_and_per_tender(
    app_client: Client,  # noqa: F811
    test_pki: BuiltPki,  # noqa: F811
    platform: Platform,
    clock: ManualClock,
    parties: Parties,  # noqa: F811
) -> None:
    submitted_for_review(platform, clock, parties, "城南道路改造工程施工招标公告")
    clock.advance(timedelta(hours=25))
    submitted_for_review(platform, clock, parties, "滨江公园景观提升工程招标公告")
    clock.advance(timedelta(hours=48))  # first: 73 h (red); second: 48 h (yellow, 24 h before its limit)
    tick(platform)
    answer = sign_in(app_client, test_pki, "reviewer", "/supervision")
    assert answer.headers["location"] == "/supervision"
    page = app_client.get("/supervision")
    assert page.status_code == 200
    text = page.text
    assert "已登录：审查员 王明 (行政监督部门)" in text
    agencies = text[text.index('id="agencies"') : text.index('id="tenders"')]
    assert re.search(
        r"福建公信招标代理有限公司</a></td><td class=\"num\">1</td><td class=\"num\">1</td>", agencies
    )
    tenders = text[text.index('id="tenders"') :]
    assert tenders.index("城南道路改造工程施工招标公告") < tenders.index(
        "滨江公园景观提升工程招标公告"
    )  # red first
    assert rows(text) == [
        "red:红色：已超时 公告审核 行政监督部门",
        "yellow:黄色：即将到期 公告审核 行政监督部门",
    ]
    english = app_client.get("/supervision?lang=en&level=red").text
    assert rows(english) == ["red:Red: overdue Review of the announcement Supervising authority"]
    other = app_client.get(f"/supervision?agency={parties.other_agency}&lang=zh-CN")
    assert rows(other.text) == [] and "没有未处理的预警" in other.text
    bad = app_client.get("/supervision?agency=not-an-id")
    assert bad.status_code == 400 and bad.headers["content-type"].startswith("text/html")
