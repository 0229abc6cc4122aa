"""The opening hall in a real browser: live progress, an objection and its answer, the record when ready.

Playwright's sync API runs an event loop on the main thread while it lives, and the platform's
certificate checks and time-stamping refuse to run inside one: the browser is started after the
fixtures, and the database changes the opening would make run in a worker thread.
"""

# ruff: noqa: F811 - pytest fixtures are imported by name and then requested as parameters

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from playwright.sync_api import sync_playwright

from api.app import create_app
from api.local_server import serve_in_thread
from api.opening_hall import STREAM_TIMING_KEY
from crypto.pki import BuiltPki
from tendering.opening.hall_stream import StreamTiming
from tendering.opening.models import Outcome
from tendering.opening.record import publish_opening_record
from tendering.platform import Platform
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, _require_chromium
from tests.identity.conftest import token_for
from tests.opening.hall_fixtures import (  # noqa: F401 - fixtures
    HallTender,
    decide,
    dev,
    finish,
    hall_tender,
    parties,
    release_share,
    test_pki,
)
from tests.portal.signin_helpers import signin_link
from tests.tenders.conftest import Parties


def off_loop(action: Callable[[], object]) -> None:
    """Run ``action`` in a worker thread (outside Playwright's event loop) and wait for it."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(action).result()


def signed_in_page(
    context: Any, http: httpx.Client, base_url: str, pki: BuiltPki, name: str, path: str
) -> Any:
    """A page of ``context`` signed in as ``name`` through the portal's hand-off link, at ``path``."""
    link = signin_link(http, token_for(http, pki.signing(name)), path)  # type: ignore[arg-type]
    page = context.new_page()
    page.goto(f"{base_url}{link}")
    page.locator("form[action='/signin'] button[type=submit]").click()
    page.wait_for_url(f"{base_url}{path}")
    return page


def publish(platform: Platform, hall: HallTender, parties: Parties) -> None:
    for number, tenderer in enumerate(parties.tenderers):
        decide(
            platform, hall.outcomes[tenderer], Outcome.OPENED, amount=f"{1000 + number}", lot_id=hall.lot_id
        )
    finish(platform, hall.tender_id)
    with platform.transaction() as session:
        publish_opening_record(session, platform, hall.tender_id)


def test_the_hall_lives_in_the_browser(
    platform: Platform, hall_tender: HallTender, parties: Parties, test_pki: BuiltPki, dev: Any
) -> None:
    _require_chromium()
    app = create_app(platform=platform, configure_logs=False)
    app.state[STREAM_TIMING_KEY] = StreamTiming(interval=0.05)
    with (
        serve_in_thread(app) as base_url,
        httpx.Client(base_url=base_url, timeout=30.0) as http,
        sync_playwright() as playwright,
    ):
        hall_path = f"/tenders/{hall_tender.tender_id}/opening-hall"
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        bidder_context = browser.new_context(locale="zh-CN")
        agency_context = browser.new_context(locale="zh-CN")
        try:
            bidder = signed_in_page(bidder_context, http, base_url, test_pki, "tenderer-1", hall_path)
            assert "开标大厅" in bidder.title()
            custodians = bidder.locator("#hall-custodians")
            assert custodians.inner_text().startswith("0 /")

            off_loop(lambda: release_share(platform, hall_tender.tender_id, 3))
            bidder.wait_for_function(
                "document.getElementById('hall-custodians').textContent.startsWith('1 /')"
            )

            bidder.get_by_label("异议内容").fill("开标时间与公告不一致")
            bidder.get_by_role("button", name="提出异议").click()
            bidder.locator("#hall-objections li", has_text="开标时间与公告不一致").wait_for()

            agency = signed_in_page(agency_context, http, base_url, test_pki, "agency", hall_path)
            agency.locator("#answer-objection option", has_text="开标时间与公告不一致").wait_for(
                state="attached"
            )
            agency.get_by_label("答复内容").fill("以变更公告为准")
            agency.get_by_role("button", name="提交答复").click()
            bidder.locator(
                "#hall-objections li", has_text="以变更公告为准"
            ).wait_for()  # live, without reload

            off_loop(lambda: publish(platform, hall_tender, parties))
            bidder.locator("#record-json").wait_for()
            assert bidder.locator("#hall-envelopes").inner_text().startswith("3 / 3")
            assert bidder.locator("#hall-forms").is_hidden()
            record = http.get(bidder.locator("#record-json").get_attribute("href") or "")
            assert record.json()["objections"][0]["answer"] == "以变更公告为准"
        finally:
            bidder_context.close()
            agency_context.close()
            browser.close()
