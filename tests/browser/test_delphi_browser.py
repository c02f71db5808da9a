"""A Delphi study in the browser: two experts answer round 1, round 2 opens with the same
links, one expert sees the previous median and IQR beside their own answer, keeps one item,
revises another with a reason and submits; the Delphi report shows both rounds, the
stability figures and the reason. Offline, a kept answer and a reason stay on the device.

``UPDATE_DOCS_SCREENSHOTS=1`` writes the screenshot of the demo study's report to
``docs/screenshots/delphi.png`` (what ``docs/admin.md`` shows); otherwise it goes to the
test's temporary folder.
"""

import os
import re
import time
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from playwright.sync_api import expect

from surveys import delphi
from surveys.models import DelphiStudy, Rating, Response, RevisionJustification
from surveys.services import invitation_create, wave_close
from tests.browser.conftest import admin_sign_in, phone_context
from tests.factories import ExpertFactory, survey_open

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),  # before the browser: see conftest
]

BLOCKS = [("RUS", "ARM", "expectation", ["protectee", "faithful_ally", "independent"])]


def answer(browser, link: str, items, values: list[int]) -> None:
    context = phone_context(browser, locale="en-GB")
    page = context.new_page()
    page.goto(link)
    page.locator("input[name=consent]").check()
    page.get_by_role("button", name="Start the survey").click()
    expect(page).to_have_url(re.compile(r"/b/\d+/$"))
    for item, value in zip(items, values, strict=True):
        page.locator(f"label[for='v-{item.pk}-{value}']").click()
    page.locator("button[name=action][value=review]").click()
    expect(page).to_have_url(re.compile(r"/review/(#.*)?$"))
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/thanks/(#.*)?$"))
    context.close()


def rounds_one_and_two(live_server, browser):
    """Round 1 answered by two experts (5/5/8 and 2/3/4) and round 2 opened with the same
    links; returns the study, round 2 and its items, and the first expert's link."""
    survey = survey_open(language="en", blocks=BLOCKS, other_panel_block=False)
    study = delphi.delphi_study_start(wave=survey.wave, justification="required")
    _second, second_token = invitation_create(
        expert=ExpertFactory(panel=survey.panel, language="en"), wave=survey.wave, language="en"
    )
    first_link = f"{live_server.url}{survey.url}"
    items = survey.items(0)
    answer(browser, first_link, items, [5, 5, 8])
    answer(browser, f"{live_server.url}/s/{second_token}/", items, [2, 3, 4])

    wave_close(wave=survey.wave)
    round_two, _ = delphi.delphi_round_open(study=study)
    new_items = list(round_two.wave.blocks.get().items.order_by("order"))
    return study, round_two, new_items, first_link


def start_round_two(context, link: str):
    page = context.new_page()
    page.goto(link)
    page.locator("input[name=consent]").check()
    page.get_by_role("button", name="Start the survey").click()
    expect(page.locator(".delphi-notice")).to_contain_text("Round 2")
    return page


def queued_bodies(page) -> list[str]:
    """The bodies of the changes the browser keeps until the server has them."""
    return page.evaluate(
        """() => new Promise((resolve) => {
            const request = indexedDB.open("survey-answers");
            request.onupgradeneeded = () => request.transaction.abort();
            request.onerror = () => resolve([]);
            request.onsuccess = () => {
                const db = request.result;
                if (!db.objectStoreNames.contains("changes")) { db.close(); resolve([]); return; }
                const all = db.transaction("changes").objectStore("changes").getAll();
                all.onsuccess = () => { db.close(); resolve(all.result.map((e) => e.body)); };
            };
        })"""
    )


def wait_for(condition, *, timeout: float = 20.0):
    """Poll the database until ``condition()`` holds: the test only waits, does nothing."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not stored in time"
        time.sleep(0.2)


def test_two_rounds_keep_revise_with_a_reason_and_the_report(live_server, browser):
    study, round_two, new_items, first_link = rounds_one_and_two(live_server, browser)

    # Round 2 through the same link.
    context = phone_context(browser, locale="en-GB")
    page = start_round_two(context, first_link)
    keep_item, same_item, revised_item = new_items
    feedback = page.locator(f"#feedback-{keep_item.pk}")
    expect(feedback).to_contain_text("Your previous answer: 5.")
    # Round 1 gave 5 and 2: median 3.5, quartiles 2.75 and 4.25.
    expect(feedback).to_contain_text("median 3.5")
    expect(feedback).to_contain_text("from 2.75 to 4.25")
    expect(feedback.locator("svg[role=img] title")).to_contain_text("median 3.5")

    # Keep the first answer with one tap: chosen on the page and saved as any change.
    feedback.get_by_role("button", name="Keep my previous answer").click()
    expect(page.locator(f"#v-{keep_item.pk}-5")).to_be_checked()
    expect(page.locator("#save-status")).to_have_text("Saved")

    # The same answer for the second; the third revised from 8 to 9, outside 5–7.
    page.locator(f"label[for='v-{same_item.pk}-5']").click()
    page.locator(f"label[for='v-{revised_item.pk}-9']").click()
    page.locator(f"#j-{revised_item.pk}").fill("A new alliance treaty was signed.")
    page.locator("button[name=action][value=review]").click()
    expect(page).to_have_url(re.compile(r"/review/(#.*)?$"))
    page.get_by_role("button", name="Submit").click()
    expect(page).to_have_url(re.compile(r"/thanks/(#.*)?$"))
    context.close()

    response = Response.objects.get(wave=round_two.wave)
    assert response.status == Response.Status.SUBMITTED
    assert {r.item_id: r.value for r in Rating.objects.filter(response=response)} == {
        keep_item.pk: 5,
        same_item.pk: 5,
        revised_item.pk: 9,
    }

    # Round 2 is the last: closing it ends the study and stores its figures.
    wave_close(wave=round_two.wave)
    assert DelphiStudy.objects.get(pk=study.pk).ended_at is not None
    User.objects.create_superuser("admin", "admin@example.org", "admin")
    admin_page = browser.new_page()
    admin_sign_in(admin_page, live_server)
    admin_page.goto(f"{live_server.url}/admin/reports/delphi/{study.pk}/")
    rounds = admin_page.locator("#delphi-rounds")
    expect(rounds).to_contain_text("1 of 3")  # one expert, three items in both rounds, one changed
    items_table = admin_page.locator("#delphi-items")
    expect(items_table.locator("thead")).to_contain_text("Round 1")
    expect(items_table.locator("thead")).to_contain_text("Round 2")
    expect(items_table).to_contain_text("changed 1/1")
    expect(admin_page.locator("#delphi-reasons")).to_contain_text(
        "A new alliance treaty was signed."
    )
    admin_page.close()


def test_keep_and_a_reason_given_offline_survive_a_reload_and_arrive(live_server, browser):
    """Offline, "keep my previous answer" and the reason of a revision stay on the device,
    come back into the page when it is opened again before they were sent, and arrive."""
    _study, round_two, new_items, first_link = rounds_one_and_two(live_server, browser)
    keep_item, _same_item, revised_item = new_items
    context = phone_context(browser, locale="en-GB")
    page = start_round_two(context, first_link)
    block_url = page.url

    # The server cannot be reached for saving: every change waits on the device.
    context.route("**/autosave/", lambda route: route.abort("internetdisconnected"))
    page.locator(f"#feedback-{keep_item.pk}").get_by_role(
        "button", name="Keep my previous answer"
    ).click()
    expect(page.locator(f"#v-{keep_item.pk}-5")).to_be_checked()
    expect(page).to_have_url(block_url)  # kept on the page, not posted
    page.locator(f"label[for='v-{revised_item.pk}-9']").click()
    page.locator(f"#j-{revised_item.pk}").fill("Written offline: a new treaty.")
    expect(page.locator("#sync-status")).to_contain_text("Answers waiting to be sent: 2.")
    # The reason is queued once typing pauses.
    deadline = time.monotonic() + 10
    while not any("Written+offline" in body for body in queued_bodies(page)):
        assert time.monotonic() < deadline, "the reason was not queued"
        page.wait_for_timeout(200)
    assert not Rating.objects.filter(response__wave=round_two.wave).exists()

    # Opened again before anything was sent: the page shows what the expert last chose.
    page.goto(block_url)
    expect(page.locator(f"#v-{keep_item.pk}-5")).to_be_checked()
    expect(page.locator(f"#v-{revised_item.pk}-9")).to_be_checked()
    expect(page.locator(f"#j-{revised_item.pk}")).to_have_value("Written offline: a new treaty.")

    # The connection returns: the kept answer, the revision and its reason arrive.
    context.unroute("**/autosave/")
    page.evaluate("window.dispatchEvent(new Event('online'))")
    response = Response.objects.get(wave=round_two.wave)
    wait_for(
        lambda: (
            RevisionJustification.objects.filter(response=response).exists()
            and Rating.objects.filter(response=response).count() == 2
        )
    )
    assert {r.item_id: r.value for r in Rating.objects.filter(response=response)} == {
        keep_item.pk: 5,
        revised_item.pk: 9,
    }
    assert RevisionJustification.objects.get(response=response).text == (
        "Written offline: a new treaty."
    )
    context.close()


def test_the_demo_study_report_shows_both_rounds_and_the_stability_figures(
    live_server, browser, tmp_path
):
    call_command("seed_demo", stdout=StringIO())
    study = DelphiStudy.objects.get()
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-GB")
    page = context.new_page()
    admin_sign_in(page, live_server)
    page.goto(f"{live_server.url}/admin/reports/delphi/{study.pk}/")
    rounds = page.locator("#delphi-rounds tbody tr")
    expect(rounds).to_have_count(2)
    stability = study.rounds.get(number=2).results["stability_overall"]
    expect(rounds.nth(1)).to_contain_text(f"{stability['changed']} of {stability['pairs']}")
    expect(page.locator("#delphi-items thead")).to_contain_text("Round 2")
    expect(page.locator("#delphi-items")).to_contain_text("changed")
    expect(page.locator("#delphi-concordance tbody tr").first).to_be_visible()
    expect(page.locator("#delphi-reasons")).to_contain_text("Synthetic reason")
    folder = tmp_path
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        folder = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    page.screenshot(path=str(folder / "delphi.png"), full_page=True)
    context.close()
