"""A vignette page of the demo on a phone, with and without JavaScript.

The hypothetical case is shown above the roles, marked as such, fits the phone's width, and
is answered like any block page. ``UPDATE_DOCS_SCREENSHOTS=1`` writes the phone screenshot to
``docs/screenshots/block-vignette.png`` (what the README shows); otherwise it goes to the
test's temporary directory.
"""

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from surveys.models import Block, Rating
from surveys.services import token_hash
from tests.browser.conftest import phone_context
from tests.browser.test_languages_browser import demo_links

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),  # before the browser: see conftest
]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


@pytest.mark.parametrize("javascript", [True, False], ids=["script", "no-script"])
def test_a_vignette_page_on_a_phone_shows_the_case_above_the_roles(
    live_server, browser, tmp_path, javascript
):
    token = demo_links()["MOW"]
    order = Block.objects.get(wave__slug="2025", subject__code="VIGA").order
    context = phone_context(browser, locale="en-GB")
    if not javascript:
        context.close()
        context = browser.new_context(
            viewport={"width": 390, "height": 844},
            device_scale_factor=2,
            is_mobile=True,
            has_touch=True,
            java_script_enabled=False,
        )
    page = context.new_page()
    page.goto(f"{live_server.url}/s/{token}/")
    page.locator("#consent").check()
    page.locator(".consent-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/b/\d+/$"))
    page.goto(f"{live_server.url}/s/{token}/b/{order}/")
    page.locator("#language-select").select_option("en")
    page.locator(".language-form button[type=submit]").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    case = page.locator("section.vignette")
    expect(case.locator("h2")).to_have_text(re.compile("hypothetical case", re.IGNORECASE))
    expect(case).to_contain_text("State A is a small country")
    expect(page.locator("h1")).to_have_text("Hypothetical case: State A")
    first_role = page.locator("fieldset.role").first
    assert case.bounding_box()["y"] < first_role.bounding_box()["y"], "the case comes first"
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"no sideways scrolling on a phone ({width} px)"
    if javascript:
        folder = DOCS_SCREENSHOTS if os.environ.get("UPDATE_DOCS_SCREENSHOTS") else tmp_path
        page.screenshot(path=str(folder / "block-vignette.png"), full_page=False)

    first_role.locator("label[for$='-3']").first.click()
    page.locator("button[name=action][value=next]").click()
    expect(page).to_have_url(re.compile(rf"/b/{order + 1}/$"))
    rated = Rating.objects.filter(
        response__invitation__token_hash=token_hash(token), item__block__subject__code="VIGA"
    )
    assert list(rated.values_list("value", flat=True)) == [3]
    context.close()
