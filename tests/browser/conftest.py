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


def admin_sign_in(page, live_server, *, username: str = "admin", password: str = "admin") -> None:
    """Sign in through the login page and the second step, with a code of a TOTP device made
    for this sign-in."""
    from django.contrib.auth.models import User
    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice
    from playwright.sync_api import expect

    user = User.objects.get(username=username)
    # A device of its own for every sign-in: a code is accepted once per device and time
    # step, and a test may sign in twice within one step.
    device = TOTPDevice.objects.create(user=user, name="browser test", confirmed=True)
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/admin/second-factor/?next=%2Fadmin%2F")
    code = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    page.fill("#id_token", str(code).zfill(device.digits))
    page.click("#second-factor-form input[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/admin/")
