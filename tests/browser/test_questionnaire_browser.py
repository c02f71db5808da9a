"""An expert on a phone: opens the link, fills every block, leaves, resumes, submits.

Set ``SCREENSHOT_DIR`` to keep screenshots of a block page at 360 px and 390 px.
"""

import os
import re
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

CANNOT_JUDGE = "cj"

# Per block, per row: (value or "cj", confidence or None).
PLAN = [
    [(8, 4), (CANNOT_JUDGE, None), (3, None)],
    [(10, 5), (0, 1), (CANNOT_JUDGE, None)],
    [(6, None), (7, 3)],
]


def choose(page, item, value, confidence):
    page.locator(f"label[for='v-{item.pk}-{value}']").click()
    if confidence is not None:
        page.locator(f"label[for='c-{item.pk}-{confidence}']").click()


def test_expert_fills_leaves_resumes_and_submits_on_a_phone(live_server, phone):
    survey = survey_open(language="ru")
    link = f"{live_server.url}{survey.url}"
    items = [survey.items(index) for index in range(len(survey.blocks))]

    page = phone.new_page()
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Добро пожаловать в экспертный опрос")
    page.get_by_label("согласен (согласна) участвовать").check()
    page.get_by_role("button", name="Начать опрос").click()

    # Block 1, partly with the keyboard: arrows move through the scale, focus is visible.
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[0].order}/$"))
    expect(page.locator("h1")).to_have_text("Ожидания: Россия → Армения")
    expect(page.locator(".prompt")).to_contain_text("Россия ожидает, что Армения будет играть")
    first = items[0][0]
    page.locator(f"#v-{first.pk}-0").focus()
    page.keyboard.press("ArrowRight")
    expect(page.locator(f"#v-{first.pk}-1")).to_be_checked()
    outline = page.locator(f"label[for='v-{first.pk}-1']").evaluate(
        "label => getComputedStyle(label).outlineStyle"
    )
    assert outline == "solid", "keyboard focus must be visible"
    page.locator(".role").first.locator("summary").click()
    expect(page.locator(".role").first.locator(".definition p")).to_be_visible()
    for item, (value, confidence) in zip(items[0], PLAN[0], strict=True):
        choose(page, item, value, confidence)
    page.get_by_label("Комментарий к этой странице").fill("Трудный вопрос.")
    page.get_by_role("button", name="Далее").click()

    # Block 2 through the buttons.
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[1].order}/$"))
    for item, (value, confidence) in zip(items[1], PLAN[1], strict=True):
        choose(page, item, value, confidence)
    page.get_by_role("button", name="Далее").click()

    # Block 3: one row, autosaved, then the expert leaves without pressing anything.
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[2].order}/$"))
    choose(page, items[2][0], *PLAN[2][0])
    expect(page.locator("#save-status")).to_have_text("Сохранено")
    expect(page.locator("#progress-text")).to_have_text("Отвечено: 7 из 8")
    page.close()

    # The same link later: back on block 3, with the autosaved answer.
    page = phone.new_page()
    page.goto(link)
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[2].order}/$"))
    expect(page.locator(f"#v-{items[2][0].pk}-6")).to_be_checked()
    choose(page, items[2][1], *PLAN[2][1])
    page.get_by_role("button", name="Проверить и отправить").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Проверьте свои ответы")
    expect(page.locator(".progress-text")).to_have_text("Отвечено: 8 из 8")
    expect(page.get_by_text("Вы ответили на все вопросы.")).to_be_visible()
    page.get_by_role("button", name="Отправить").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Спасибо!")

    response = Response.objects.get()
    assert response.status == Response.Status.SUBMITTED
    assert Invitation.objects.get().status == Invitation.Status.SUBMITTED
    expected = {
        item.pk: (
            None if value == CANNOT_JUDGE else value,
            value == CANNOT_JUDGE,
            confidence,
        )
        for block_items, block_plan in zip(items, PLAN, strict=True)
        for item, (value, confidence) in zip(block_items, block_plan, strict=True)
    }
    assert {
        rating.item_id: (rating.value, rating.cannot_judge, rating.confidence)
        for rating in Rating.objects.filter(response=response)
    } == expected
    assert list(BlockComment.objects.values_list("text", flat=True)) == ["Трудный вопрос."]
    assert {cookie["name"] for cookie in phone.cookies()} <= {"csrftoken"}


def test_one_page_questionnaire_is_submitted_through_the_review(live_server, phone):
    survey = survey_open(
        blocks=[("RUS", "RUS", "conception", ["regional_leader", "great_power"])],
        other_panel_block=False,
        language="en",
    )
    page = phone.new_page()
    page.goto(f"{live_server.url}{survey.url}")
    page.get_by_label("I have read the above and agree to take part").check()
    page.get_by_role("button", name="Start the survey").click()
    expect(page).to_have_url(re.compile(rf"/b/{survey.blocks[0].order}/$"))
    first, second = survey.items(0)
    choose(page, first, 9, 5)
    choose(page, second, CANNOT_JUDGE, None)
    page.get_by_role("button", name="Review and submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your answers")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")

    response = Response.objects.get()
    assert response.status == Response.Status.SUBMITTED
    assert {
        rating.item_id: (rating.value, rating.cannot_judge, rating.confidence)
        for rating in Rating.objects.filter(response=response)
    } == {first.pk: (9, False, 5), second.pk: (None, True, None)}


def test_block_page_fits_a_360_pixel_screen(live_server, browser, client):
    survey = survey_open(language="ru")
    client.post(survey.url, {"consent": "on"})
    context = phone_context(browser, width=360, height=780)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}{survey.url}")
        expect(page.locator(".role").first).to_be_visible()
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, "nothing may scroll sideways at 360 px"
        box = page.locator(f"label[for='v-{survey.items(0)[0].pk}-10']").bounding_box()
        assert box["width"] >= 24 and box["height"] >= 24, "touch targets of at least 24 px"
        assert box["x"] + box["width"] <= 360
        first, second = survey.items(0)[:2]
        choose(page, first, 7, 4)
        choose(page, second, CANNOT_JUDGE, None)
        # "Cannot judge" leaves nothing to be sure about.
        expect(page.locator(f"#c-{second.pk}-3")).to_be_disabled()
        expect(page.locator(f"#c-{first.pk}-3")).to_be_enabled()
        expect(page.locator("#save-status")).to_have_text("Сохранено")
        if os.environ.get("SCREENSHOT_DIR"):
            folder = Path(os.environ["SCREENSHOT_DIR"])
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / "block-360-full.png"), full_page=True)
            page.locator(".role").first.scroll_into_view_if_needed()
            page.screenshot(path=str(folder / "block-360.png"))
    finally:
        context.close()


def test_language_switch_in_the_browser(live_server, phone):
    survey = survey_open(language="kk")
    page = phone.new_page()
    page.goto(f"{live_server.url}{survey.url}")
    expect(page.locator("html")).to_have_attribute("lang", "kk")
    expect(page.get_by_role("button", name="Сауалнаманы бастау")).to_be_visible()
    page.select_option("#language-select", "en")
    page.locator(".language-form button[type=submit]").click()  # no switch without it
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("button", name="Start the survey")).to_be_visible()
    assert Invitation.objects.get().language == "en"
