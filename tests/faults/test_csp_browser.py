"""In headless Chromium, the admin pages, the reports and the API reference render under the
Content-Security-Policy without a single violation (the browser reports each one to the
console: "Refused to … because it violates the following Content Security Policy …").

One refusal is wanted: Redoc's bundle shows a "powered by" logo from its CDN, which the
policy blocks like anything else from another site (the page works without it).
"""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import browser  # noqa: F401 - the fixture
from tests.browser.test_admin_browser import (  # noqa: F401 - fixtures
    PAGES,
    _database_emptied_before_the_restore,
    demo,
    laptop,
)

WANTED_REFUSAL = "https://cdn.redoc.ly/"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def test_admin_reports_and_api_docs_raise_no_csp_violation(laptop, live_server):  # noqa: F811
    page = laptop
    violations = []
    page.on(
        "console",
        lambda message: (
            violations.append((page.url, message.text))
            if "Content Security Policy" in message.text
            else None
        ),
    )
    for url in [*PAGES.values(), "/api/v1/docs/", "/api/v1/redoc/"]:
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        assert "default-src 'self'" in response.headers["content-security-policy"], url
        page.wait_for_load_state("networkidle")
    page.goto(f"{live_server.url}/api/v1/docs/")
    expect(page.locator("#swagger-ui .information-container")).to_be_visible(timeout=15_000)
    page.goto(f"{live_server.url}/api/v1/redoc/")
    expect(page.locator("#redoc-container h1, redoc h1").first).to_be_visible(timeout=15_000)
    unwanted = [(url, text) for url, text in violations if WANTED_REFUSAL not in text]
    assert not unwanted, unwanted
