"""Headless Chromium (Debian's, not a downloaded one) driven by Playwright's sync API.

Playwright's sync API runs an event loop in the test thread, which makes Django refuse
database access there unless told that it is safe: the tests only use the ORM between
browser steps, never concurrently with the loop.

The sync API also runs the code after its start in another ``contextvars`` context, where
Django hands out fresh database connections. So the browser is started per test, after
pytest-django has prepared the database (request ``reference_data`` before ``browser``:
transactional tests start after another one's flush), and the connections opened inside
are closed before it stops.
"""

import os
from pathlib import Path

import pytest
from django.db import connections

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"Chromium is not installed at {CHROMIUM}; bin/test installs it "
            "(apt-get install chromium)."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
            connections.close_all()


def phone_context(browser, *, width: int = 390, height: int = 844, locale: str = "ru-RU"):
    return browser.new_context(
        viewport={"width": width, "height": height},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale=locale,
    )


@pytest.fixture
def phone(browser):
    """A phone-sized browser context (390×844, touch), closed after the test."""
    context = phone_context(browser)
    yield context
    context.close()
