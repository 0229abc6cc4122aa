"""A headless system Chromium driven by Playwright.

Outside CI a machine without ``/usr/bin/chromium`` skips the browser tests with the reason; in CI
(``CI=true``) a missing browser is a failure, because ``.ci/run`` installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SEALBID_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def _require_chromium() -> None:
    if CHROMIUM.exists():
        return
    reason = f"system Chromium not found at {CHROMIUM} (apt-get install -y chromium)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI must run the browser tests: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One headless Chromium per test module.

    Module scope, not session: Playwright's sync API keeps an event loop running on the main thread while
    it lives, which would break the asyncio tests of later modules.
    """
    _require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        the_browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield the_browser
        the_browser.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    """A fresh browser context and page per test (no cookies carried over), Chinese by default."""
    context = browser.new_context(locale="zh-CN", accept_downloads=True)  # type: ignore[attr-defined]
    the_page = context.new_page()
    yield the_page
    context.close()
