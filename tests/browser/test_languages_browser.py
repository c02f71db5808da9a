"""An expert in Astana, Yerevan, Bishkek and Dushanbe answers the demo in their own language.

For each of kk, hy, ky and tg a headless phone opens a demo link of that capital's panel and
walks the landing page, the consent, every block page, the review and the thank-you page.
On every page each visible piece of text is read with the ``lang`` that applies to it (its
element's or an ancestor's): it must be the page's language (the language menu's options,
which name each language in itself, excepted), and its letters must be of that language's
script: Cyrillic without Latin words for Kazakh, Kyrgyz and Tajik, Armenian for Armenian.
Actor codes, numbers and two- to four-letter capitals (codes such as "IP") are allowed.

Set ``SCREENSHOT_DIR`` to keep a phone screenshot of each language's first block page (the
ones in docs/screenshots/ were made so).
"""

import os
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from playwright.sync_api import expect

from surveys.models import Invitation
from surveys.services import token_hash
from tests.browser.conftest import phone_context

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("reference_data"),  # before the browser: see conftest
]

PANEL_LANGUAGES = {"AST": "kk", "YER": "hy", "BIS": "ky", "DYU": "tg"}
SCRIPTS = {
    "kk": re.compile(r"[А-Яа-яЁёӘәҒғҚқҢңӨөҰұҮүҺһІі]"),
    "ky": re.compile(r"[А-Яа-яЁёҢңӨөҮү]"),
    "tg": re.compile(r"[А-Яа-яЁёҒғӢӣҚқӮӯҲҳҶҷ]"),
    "hy": re.compile(r"[\u0531-\u0556\u0561-\u0587]"),
}
LETTER = re.compile(r"[^\W\d_]", re.UNICODE)
ALLOWED_LATIN = re.compile(r"\b[A-Z]{2,4}\b")
# Every visible text node with the lang that applies to it; <option>s of the language menu
# name each language in itself and are read with their own lang.
TEXTS_WITH_LANG = """() => {
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const found = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    const element = node.parentElement;
    if (!text || !element) continue;
    const inOption = element.closest("option");
    if (!inOption && !element.getClientRects().length) continue;
    if (!inOption && getComputedStyle(element).visibility === "hidden") continue;
    const holder = element.closest("[lang]");
    found.push([text, holder ? holder.getAttribute("lang") : document.documentElement.lang,
                Boolean(inOption)]);
  }
  return found;
}"""


def demo_links() -> dict[str, str]:
    """Per panel code, the token of an unanswered demo invitation of the open wave."""
    out = StringIO()
    call_command("seed_demo", stdout=out)
    tokens = [
        line.strip().rstrip("/").rsplit("/", 1)[1]
        for line in out.getvalue().splitlines()
        if "/s/" in line
    ]
    by_hash = {token_hash(token): token for token in tokens}
    links = {}
    for invitation in Invitation.objects.filter(token_hash__in=list(by_hash)).select_related(
        "expert__panel"
    ):
        links.setdefault(invitation.expert.panel.code, by_hash[invitation.token_hash])
    return links


def wrong_texts(page, language: str) -> list[tuple[str, str]]:
    """(text, why) of every visible text that is not in ``language`` or not in its script."""
    wrong = []
    texts = page.evaluate(TEXTS_WITH_LANG)
    assert len(texts) >= 8, texts  # the page has its texts: the check is not vacuous
    for text, lang, in_option in texts:
        if in_option:
            continue
        if lang != language:
            wrong.append((text, f"lang={lang}"))
            continue
        letters = LETTER.findall(ALLOWED_LATIN.sub("", text))
        foreign = [letter for letter in letters if not SCRIPTS[language].match(letter)]
        if foreign:
            wrong.append((text, f"letters {''.join(sorted(set(foreign)))}"))
    return wrong


def check_page(page, language: str, where: str) -> None:
    assert page.locator("html").get_attribute("lang") == language, where
    wrong = wrong_texts(page, language)
    assert not wrong, f"{where}: {wrong}"


def test_each_capital_answers_the_demo_in_its_own_language(live_server, browser):
    links = demo_links()
    screenshots = os.environ.get("SCREENSHOT_DIR")
    for panel, language in PANEL_LANGUAGES.items():
        context = phone_context(browser, width=360, height=740, locale=f"{language}")
        page = context.new_page()
        page.goto(f"{live_server.url}/s/{links[panel]}/")
        check_page(page, language, f"{language} landing")

        page.locator("#consent").check()
        page.locator(".consent-form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/b/\d+/$"))
        check_page(page, language, f"{language} first block")
        if screenshots:
            page.screenshot(path=str(Path(screenshots) / f"block-{language}.png"), full_page=False)
        first_row = page.locator("label[for^='v-'][for$='-7']").first
        first_row.dispatch_event("click")
        page.wait_for_load_state("networkidle")

        while "/b/" in page.url:
            check_page(page, language, f"{language} {page.url}")
            current = page.url
            review = page.locator("button[name=action][value=review]")
            (review if review.count() else page.locator("button[name=action][value=next]")).click()
            page.wait_for_url(lambda url, current=current: url != current)

        assert page.url.endswith("/review/"), page.url
        check_page(page, language, f"{language} review")
        page.locator("form.actions button[type=submit]").click()
        page.wait_for_url(re.compile(r"/thanks/$"))
        check_page(page, language, f"{language} thanks")
        context.close()
    submitted = Invitation.objects.filter(
        token_hash__in=[token_hash(links[panel]) for panel in PANEL_LANGUAGES],
        status=Invitation.Status.SUBMITTED,
    )
    assert submitted.count() == len(PANEL_LANGUAGES)
