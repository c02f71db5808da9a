"""An expert on a phone that loses its connection, and the form's keyboard and layout traps.

Offline answers stay in the browser until the server has them and arrive by themselves when
the connection returns; "Next" and "Submit" keep the expert on the page while offline. Enter
on the last page never submits; an answer can be cleared; the language choice does not
change on arrow keys; the page fits 320 px at 200 % text.

Set ``SCREENSHOT_DIR`` to keep screenshots of the block page at 360 × 740 and at 320 px
with 200 % text.
"""

import os
import re
import time
from itertools import pairwise
from pathlib import Path

import pytest
from playwright.sync_api import expect

from surveys.models import BlockComment, Invitation, Rating, Response
from tests.browser.conftest import phone_context
from tests.factories import survey_open

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),  # before the browser: see conftest
]

OFFLINE_TEXT = "You are offline."
SAVED_TEXT = "All answers saved. Nothing is kept on this device."
ONE_PAGE = [("RUS", "RUS", "conception", ["regional_leader", "great_power", "bridge"])]


def choose(page, item, value):
    page.locator(f"label[for='v-{item.pk}-{value}']").click()


def start(page, survey, live_server):
    page.goto(f"{live_server.url}{survey.url}")
    page.get_by_label("I have read the above and agree to take part").check()
    page.get_by_role("button", name="Start the survey").click()
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[0].order}/$"))


def stored() -> dict[int, tuple]:
    return {
        rating.item_id: (rating.value, rating.cannot_judge, rating.confidence)
        for rating in Rating.objects.all()
    }


def wait_for(condition, *, timeout: float = 15.0):
    """Poll the database until ``condition()`` holds: the test only waits, does nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not stored in time"
        time.sleep(0.2)


def queued(page) -> int:
    """How many changes the browser still keeps (0 when the database is gone too)."""
    return page.evaluate(
        """() => new Promise((resolve) => {
            const request = indexedDB.open("survey-answers");
            request.onupgradeneeded = () => request.transaction.abort();
            request.onerror = () => resolve(0);
            request.onsuccess = () => {
                const db = request.result;
                if (!db.objectStoreNames.contains("changes")) { db.close(); resolve(0); return; }
                const count = db.transaction("changes").objectStore("changes").count();
                count.onsuccess = () => { db.close(); resolve(count.result); };
            };
        })"""
    )


def test_answers_given_offline_arrive_when_the_connection_returns(live_server, phone):
    survey = survey_open(language="en")
    first, second, third = survey.items(0)
    page = phone.new_page()
    start(page, survey, live_server)

    choose(page, first, 8)
    expect(page.locator("#save-status")).to_have_text("Saved")

    phone.set_offline(True)
    choose(page, second, "cj")
    choose(page, third, 3)
    page.get_by_label("Comment on this page (optional)").fill("Written offline.")
    page.get_by_role("button", name="Next").click()

    # Still on the page, told why, with the answers kept on the device.
    expect(page.locator("#sync-alert")).to_contain_text(OFFLINE_TEXT)
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[0].order}/$"))
    expect(page.locator("#sync-status")).to_contain_text("Answers waiting to be sent: 3.")
    assert queued(page) == 1
    assert stored() == {first.pk: (8, False, None)}
    if os.environ.get("SCREENSHOT_DIR"):
        page.screenshot(path=str(Path(os.environ["SCREENSHOT_DIR"]) / "block-offline.png"))

    phone.set_offline(False)
    wait_for(lambda: len(stored()) == 3 and BlockComment.objects.exists())
    assert stored() == {
        first.pk: (8, False, None),
        second.pk: (None, True, None),
        third.pk: (3, False, None),
    }
    assert BlockComment.objects.get().text == "Written offline."
    expect(page.locator("#sync-status")).to_have_text(SAVED_TEXT)
    expect(page.locator("#sync-alert")).to_have_text("")
    assert queued(page) == 0, "no answer stays on the device once the server has it"

    page.get_by_role("button", name="Next").click()
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[1].order}/$"))
    assert len(stored()) == 3


def test_submitting_offline_keeps_the_expert_on_the_page(live_server, phone):
    survey = survey_open(blocks=ONE_PAGE, other_panel_block=False, language="en")
    first, second, third = survey.items(0)
    page = phone.new_page()
    start(page, survey, live_server)
    choose(page, first, 9)
    expect(page.locator("#save-status")).to_have_text("Saved")

    phone.set_offline(True)
    choose(page, second, 4)
    choose(page, third, "cj")
    page.get_by_label("Comment on this page (optional)").fill("Last page, offline.")
    page.get_by_role("button", name="Review and submit").click()
    expect(page.locator("#sync-alert")).to_contain_text(OFFLINE_TEXT)
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[0].order}/$"))

    phone.set_offline(False)
    wait_for(lambda: len(stored()) == 3 and BlockComment.objects.exists())
    expect(page.locator("#sync-status")).to_have_text(SAVED_TEXT)
    page.get_by_role("button", name="Review and submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your answers")
    expect(page.get_by_text("You have answered every question.")).to_be_visible()

    # The confirmation itself, offline: the review page stays, nothing is submitted.
    phone.set_offline(True)
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#sync-alert")).to_contain_text(OFFLINE_TEXT)
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your answers")
    assert Response.objects.get().status == Response.Status.DRAFT

    phone.set_offline(False)
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    response = Response.objects.get()
    assert response.status == Response.Status.SUBMITTED
    assert stored() == {
        first.pk: (9, False, None),
        second.pk: (4, False, None),
        third.pk: (None, True, None),
    }
    assert BlockComment.objects.get().text == "Last page, offline."


def test_a_page_that_cannot_load_shows_the_offline_page(live_server, phone):
    survey = survey_open(language="en")
    page = phone.new_page()
    start(page, survey, live_server)
    page.wait_for_function(
        "() => navigator.serviceWorker && navigator.serviceWorker.controller !== null"
    )
    phone.set_offline(True)
    page.get_by_role("link", name="About this survey and your anonymity").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("No connection")
    assert survey.token in page.url, "the address stays: Try again loads it"
    names = page.evaluate("() => caches.keys()")
    assert names and all(re.fullmatch(r"survey-offline-[0-9a-f]{12}", name) for name in names)
    kept = page.evaluate(
        "async () => (await (await caches.open((await caches.keys())[0])).keys()).map(r => r.url)"
    )
    assert not any(survey.token in url for url in kept), "no page with the link is cached"
    phone.set_offline(False)
    page.get_by_role("button", name="Try again").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome to the expert survey")


def test_enter_clearing_and_the_language_choice_with_the_keyboard(live_server, phone):
    survey = survey_open(blocks=ONE_PAGE, other_panel_block=False, language="en")
    first, second, _third = survey.items(0)
    page = phone.new_page()
    start(page, survey, live_server)

    # Enter on a rating of the last (here: only) page stays on the page.
    choose(page, first, 7)
    expect(page.locator("#save-status")).to_have_text("Saved")
    page.locator(f"#v-{first.pk}-7").focus()
    page.keyboard.press("Enter")
    page.wait_for_timeout(500)
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[0].order}/$"))
    assert Response.objects.get().status == Response.Status.DRAFT

    # An answer cleared back to unanswered, its confidence with it.
    choose(page, second, 5)
    page.locator(f"label[for='c-{second.pk}-4']").click()
    wait_for(lambda: stored().get(second.pk) == (5, False, 4))
    page.locator(f"label[for='v-{second.pk}-none']").click()
    expect(page.locator(f"#c-{second.pk}-none")).to_be_checked()
    expect(page.locator(f"#row-{second.pk}")).not_to_have_class(re.compile("is-answered"))
    wait_for(lambda: second.pk not in stored())
    assert stored() == {first.pk: (7, False, None)}

    # Arrow keys move through the languages without leaving the page; the button switches.
    select = page.locator("#language-select")
    select.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(500)
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert select.input_value() != "en"
    assert Invitation.objects.get().language == "en"
    select.select_option("ru")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[0].order}/$"))
    assert Invitation.objects.get().language == "ru"
    assert Response.objects.get().status == Response.Status.DRAFT


def test_enter_without_javascript_leads_to_the_review_not_the_submission(live_server, browser):
    survey = survey_open(blocks=ONE_PAGE, other_panel_block=False, language="en")
    first = survey.items(0)[0]
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        start(page, survey, live_server)
        choose(page, first, 6)
        page.locator(f"#v-{first.pk}-6").press("Enter")
        expect(page.get_by_role("heading", level=1)).to_have_text("Review your answers")
        assert Response.objects.get().status == Response.Status.DRAFT
        assert stored() == {first.pk: (6, False, None)}
        page.get_by_role("link", name=re.compile("How Russia sees")).click()
        page.locator(f"label[for='v-{first.pk}-none']").click()
        page.get_by_role("button", name="Save and finish later").click()
        expect(page.locator(".notice")).to_contain_text("Your answers are saved.")
        assert stored() == {}
    finally:
        context.close()


@pytest.mark.parametrize(
    ("width", "height", "text_size", "name"),
    [(360, 740, "100%", "block-360x740"), (320, 640, "200%", "block-320-text-200")],
)
def test_the_block_page_fits_small_screens_and_large_text(
    live_server, browser, client, width, height, text_size, name
):
    survey = survey_open(language="ru")
    client.post(survey.url, {"consent": "on"})
    context = phone_context(browser, width=width, height=height)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}{survey.url}")
        expect(page.locator(".role").first).to_be_visible()
        page.evaluate(f"document.documentElement.style.fontSize = '{text_size}'")
        fits = page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
        assert fits, "nothing may scroll sideways"
        labels = page.locator(".role").first.locator(".scale label").all()
        boxes = [label.bounding_box() for label in labels]
        for box in boxes:
            assert box["x"] >= 0 and box["x"] + box["width"] <= width
        for one, other in pairwise(boxes):
            overlap_x = min(one["x"] + one["width"], other["x"] + other["width"]) - max(
                one["x"], other["x"]
            )
            overlap_y = min(one["y"] + one["height"], other["y"] + other["height"]) - max(
                one["y"], other["y"]
            )
            assert overlap_x <= 0.5 or overlap_y <= 0.5, "the 0–10 buttons must not overlap"
        spilled = page.locator(".scale label, .confidence label, .row-extra label").evaluate_all(
            "labels => labels.filter(l => l.scrollWidth > l.clientWidth + 1).length"
        )
        assert spilled == 0, "no number or word runs out of its button"
        outside = page.locator(".role").first.evaluate(
            """row => {
                const edge = row.getBoundingClientRect().right;
                return [...row.querySelectorAll("span, label, legend, summary")]
                    .filter(e => e.getBoundingClientRect().right > edge + 0.5).length;
            }"""
        )
        assert outside == 0, "nothing sticks out of the row's card"
        if os.environ.get("SCREENSHOT_DIR"):
            folder = Path(os.environ["SCREENSHOT_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"{name}.png"))
            page.screenshot(path=str(folder / f"{name}-full.png"), full_page=True)
            page.locator(".role").first.screenshot(path=str(folder / f"{name}-row.png"))
    finally:
        context.close()
