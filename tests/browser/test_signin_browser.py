"""Signed-in portal in a real browser: the hand-off link, a recorded document download, the supervision page.

A client logs in with the certificate over HTTP (bearer token) and asks for a sign-in link, as
``sealbid login --browser`` does; Chromium opens the link, confirms, and continues as that identity.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from api.app import create_app
from api.local_server import serve_in_thread
from crypto.pki import BuiltPki
from tendering.clock import ManualClock
from tendering.platform import Platform
from tendering.tenders import reading, service
from tendering.tenders.schedule import tick
from tests.identity.conftest import dev, test_pki  # noqa: F401 - shared fixtures
from tests.portal.signin_helpers import bearer, signin_link
from tests.tenders.conftest import Parties
from tests.tenders.conftest import parties as tender_parties
from tests.tenders.helpers import agency, draft, published

T = TypeVar("T")
DOCUMENT = "第二章 投标人须知：投标文件应加密上传。".encode() * 300


def off_loop(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``function`` in a worker thread: Playwright's sync API keeps an event loop on this one, and
    certificate validation refuses to block inside a running loop."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(function, *args, **kwargs).result()


@pytest.fixture
def parties(platform: Platform, dev: object, test_pki: BuiltPki) -> Parties:  # noqa: F811
    """The tender parties (``tests/tenders``), registered off the browser's event loop."""
    return off_loop(tender_parties.__wrapped__, platform, dev, test_pki)  # type: ignore[attr-defined,no-any-return]


@pytest.fixture
def served(platform: Platform, dev: object) -> Iterator[tuple[str, httpx.Client]]:  # noqa: F811
    """The app served over HTTP, and an API client for it."""
    app = create_app(platform=platform, configure_logs=False)
    with serve_in_thread(app) as url, httpx.Client(base_url=url) as api:
        yield url, api


def browser_sign_in(
    page: Any, base_url: str, api: httpx.Client, pki: BuiltPki, who: str, next_path: str
) -> None:
    """``sealbid login --browser`` for ``who``, then open and confirm the link in the browser."""
    link = signin_link(api, bearer(api, pki, who), next_path)  # type: ignore[arg-type]
    page.goto(base_url + link)
    assert "确认登录" in page.locator("#confirm").inner_text()
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}{next_path}")


def test_tenderer_signs_in_and_downloads_a_recorded_document(
    served: tuple[str, httpx.Client],
    page: Any,
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    test_pki: BuiltPki,  # noqa: F811
    tmp_path: Path,
) -> None:
    base_url, api = served
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": DOCUMENT})
    (document,) = reading.public_detail(platform, tender_id).documents
    browser_sign_in(page, base_url, api, test_pki, "tenderer-1", f"/announcements/{tender_id}")
    assert page.locator("#signed-in-as").inner_text().startswith("已登录：闽江建设工程有限公司")
    published_hash = page.locator("#documents code.sha256").inner_text()
    with page.expect_download() as caught:
        page.get_by_role("button", name="下载 招标文件.pdf").click()
    download = caught.value
    assert download.suggested_filename == "招标文件.pdf"
    saved = tmp_path / "got.pdf"
    download.save_as(str(saved))
    assert hashlib.sha256(saved.read_bytes()).hexdigest() == published_hash == document.sha256
    records = api.get("/tenderer/downloads", headers=bearer(api, test_pki, "tenderer-1")).json()  # type: ignore[arg-type]
    (record,) = records
    assert record["document"]["id"] == str(document.id)
    assert record["certificate_fingerprint"] == test_pki.signing("tenderer-1").fingerprint
    assert record["address"] == "127.0.0.1"
    page.get_by_role("button", name="退出登录").click()
    page.wait_for_url(f"{base_url}/announcements")
    assert page.get_by_role("link", name="登录").count() == 1


def test_anonymous_visitor_gets_the_sign_in_explanation(
    served: tuple[str, httpx.Client],
    page: Any,
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
) -> None:
    base_url, _ = served
    tender_id = published(platform, clock, parties, documents={"招标文件.pdf": DOCUMENT})
    page.goto(f"{base_url}/announcements/{tender_id}")
    assert page.get_by_role("button", name="下载 招标文件.pdf").count() == 0
    assert "请以投标人身份登录后下载招标文件" in page.locator("#download-help").inner_text()
    refused = page.request.post(f"{base_url}/announcements/{tender_id}/documents/{uuid.uuid4()}/download")
    assert refused.status == 401
    assert "您尚未登录" in refused.text()


def test_supervisor_sees_a_warning_on_the_supervision_page(
    served: tuple[str, httpx.Client],
    page: Any,
    platform: Platform,
    clock: ManualClock,
    parties: Parties,
    test_pki: BuiltPki,  # noqa: F811
) -> None:
    base_url, api = served
    tender_id = draft(platform, clock, parties, title="闽江大桥维修加固工程招标公告").summary.id
    service.submit(platform, tender_id, actor=agency(parties))
    clock.advance(timedelta(hours=73))  # past the 72-hour review limit
    assert tick(platform).red == 1
    browser_sign_in(page, base_url, api, test_pki, "reviewer", "/supervision")
    assert page.get_by_role("heading", level=1).inner_text() == "电子监督：未处理的预警"
    assert "福建公信招标代理有限公司" in page.locator("#agencies").inner_text()
    warning = page.locator("#tenders tr.warning.red")
    assert warning.count() == 1
    assert "公告审核" in warning.inner_text()
    assert "闽江大桥维修加固工程招标公告" in page.locator("#tenders").inner_text()
