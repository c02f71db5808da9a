"""A panel admin in headless Chromium on a laptop screen: every admin report and panel page
renders on the synthetic demo, the comparison names Armenia's conflicting roles, an expert
CSV is previewed and imported.

``UPDATE_DOCS_SCREENSHOTS=1`` writes the screenshots of the comparison, the overview matrix,
the dyad page, the comparison builder and the research questions to ``docs/screenshots/``
(what the README and docs/admin.md show); otherwise they go to the test's temporary folder.
"""

import os
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from aggregation.services import aggregation_run_wave
from surveys.models import Expert, Wave

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
LAPTOP = {"width": 1280, "height": 800}

PAGES = {
    "comparison": "/admin/reports/comparison/?wave=2025&preset=ascribed_vs_conceived&subject=ARM",
    "overview": "/admin/reports/overview/?wave=2025&preset=ascribed_vs_conceived",
    "dyad": "/admin/reports/dyad/?wave=2025&subject=ARM",
    "trends": "/admin/reports/trends/",
    "trends-comparison": "/admin/reports/trends/?kind=comparison&preset=ascribed_vs_conceived"
    "&subject=ARM",
    "dashboard": "/admin/surveys/wave/dashboard/?wave=2025",
    "experts": "/admin/surveys/wave/experts/?wave=2025",
    "import": "/admin/surveys/expert/import/",
    "audit": "/admin/surveys/auditentry/",
    "index": "/admin/",
    "research-questions": "/admin/reports/research-questions/",
    "builder": "/admin/reports/builder/",
}
SCREENSHOTS = {"comparison", "overview", "dyad"}


@pytest.fixture(scope="module", autouse=True)
def _database_emptied_before_the_restore(django_db_setup, django_db_blocker):
    """Start from an empty database, so that pytest-django's restore of the serialized copy
    (``serialized_rollback``) meets no row. A transactional test without serialized rollback
    that ran before leaves the rows post_migrate makes after its flush (content types,
    permissions, the user groups of ``surveys.groups``) under new ids, and the restore would
    collide with them. Runs before this module's first test, ahead of the restore."""
    with django_db_blocker.unblock():
        # Without resetting the sequences (PostgreSQL): the restored rows keep their ids, and
        # new rows must not be numbered from 1 again.
        call_command(
            "flush",
            interactive=False,
            inhibit_post_migrate=True,
            reset_sequences=False,
            verbosity=0,
        )


@pytest.fixture
def demo(reference_data):
    call_command("seed_demo", stdout=StringIO())
    for slug in ("2025", "2021"):
        aggregation_run_wave(wave_id=Wave.objects.get(slug=slug).pk)


@pytest.fixture
def laptop(browser, live_server, demo):
    context = browser.new_context(viewport=LAPTOP, locale="en-GB")
    device = TOTPDevice.objects.create(user=User.objects.get(username="admin"), confirmed=True)
    page = context.new_page()
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "admin")
    page.fill("#id_password", "admin")
    page.click("input[type=submit]")
    # The demo admin sees identities: the second step asks for a code of its authenticator.
    expect(page).to_have_url(f"{live_server.url}/admin/second-factor/?next=%2Fadmin%2F")
    code = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    page.fill("#id_token", str(code).zfill(device.digits))
    page.click("#second-factor-form input[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/admin/")
    yield page
    context.close()


def _screenshot_dir(tmp_path: Path) -> Path:
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS"):
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    return tmp_path


def test_every_admin_page_renders_and_the_comparison_names_the_role_conflict(
    laptop, live_server, tmp_path
):
    page = laptop
    folder = _screenshot_dir(tmp_path)
    for name, url in PAGES.items():
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        expect(page.locator(".synthetic-banner")).to_be_visible()
        expect(page.locator("#content")).to_be_visible()
        if name in SCREENSHOTS:
            page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    page.goto(f"{live_server.url}{PAGES['comparison']}")
    left, right = page.locator(".dominant.left"), page.locator(".dominant.right")
    expect(left.locator(".role")).to_have_text("Protectee")
    expect(left.locator(".side")).to_contain_text("ascribed to Armenia by Russia (Moscow panel)")
    expect(right.locator(".role")).to_have_text("Independent")
    expect(right.locator(".side")).to_contain_text("self-conceived by Armenia (Yerevan panel)")
    chart = page.locator("figure svg.chart")
    expect(chart).to_be_visible()
    assert chart.bounding_box()["width"] >= 400, "the chart must stay legible"
    expect(page.locator("table.comparison-table tbody tr")).to_have_count(10)
    # No horizontal scrolling on a laptop screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= LAPTOP["width"]

    # The form switches the actor without any JavaScript.
    page.select_option("select[name=subject]", "KAZ")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("h2.report-heading")).to_contain_text("Kazakhstan")
    with page.expect_download() as download:
        page.get_by_role("link", name="Download CSV").click()
    assert download.value.suggested_filename == "comparison-2025-ascribed_vs_conceived-kaz.csv"


def test_expert_csv_is_previewed_then_imported(laptop, live_server, tmp_path):
    page = laptop
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "name,email,panel,language,affiliation\n"
        "Alice Example,alice@example.net,MOW,en,\n"
        "Bob Example,not-an-address,YER,ru,\n",
        encoding="utf-8",
    )
    good = tmp_path / "good.csv"
    good.write_text(
        "\ufeffname,email,panel,language,affiliation\nAlice Example,alice@example.net,MOW,en,\n",
        encoding="utf-8",
    )
    page.goto(f"{live_server.url}{PAGES['import']}")
    page.set_input_files("input[type=file]", str(bad))
    page.get_by_role("button", name="Check the file").click()
    expect(page.locator("#import-errors")).to_contain_text("1 of 2 rows have errors")
    expect(page.locator("#import-preview")).to_contain_text("The e-mail address is not valid.")
    assert not Expert.objects.with_email("alice@example.net").exists()

    page.set_input_files("input[type=file]", str(good))
    page.get_by_role("button", name="Check the file").click()
    page.get_by_role("button", name="Import 1 experts").click()
    expect(page.locator(".messagelist")).to_contain_text("1 experts imported.")
    assert Expert.objects.with_email("alice@example.net").get().panel.code == "MOW"


BUILDER_ASCRIBED_VS_ENACTED = (
    "/admin/reports/builder/?left_wave=2025&left_panel=MOW&left_holder=RUS&left_subject=ARM"
    "&left_perspective=expectation&left_estimator=plain_means&right_wave=2025&right_panel=MOW"
    "&right_holder=ARM&right_subject=ARM&right_perspective=performance"
    "&right_estimator=plain_means"
)


def test_research_questions_and_the_builder_name_the_planted_role_conflicts(
    laptop, live_server, tmp_path
):
    page = laptop
    folder = _screenshot_dir(tmp_path)
    page.set_viewport_size({"width": 1360, "height": 1500})
    page.goto(f"{live_server.url}/admin/reports/research-questions/")
    armenia = page.locator("#rq-ascribed-conceived-arm .rq-sentence")
    expect(armenia).to_contain_text("Moscow's panel ascribes Protectee")
    expect(armenia).to_contain_text("Yerevan's panel conceives of Armenia as Independent")
    kazakhstan = page.locator("#rq-ascribed-conceived-kaz .rq-sentence")
    expect(kazakhstan).to_contain_text("ascribes Faithful ally")
    expect(kazakhstan).to_contain_text("Active independent")
    expect(kazakhstan).to_contain_text("Mediator – integrator")
    expect(page.locator("#rq-ascribed-conceived-arm th").nth(2)).to_contain_text("2025")
    top = page.locator("#question-ascribed").bounding_box()["y"]
    page.screenshot(
        path=str(folder / "research-questions.png"),
        full_page=True,
        clip={"x": 0, "y": top - 20, "width": 1360, "height": 1500},
    )

    page.set_viewport_size({"width": 1360, "height": 1000})
    page.goto(f"{live_server.url}{BUILDER_ASCRIBED_VS_ENACTED}")
    expect(page.locator(".report-meta")).to_contain_text("paired t (the same experts)")
    expect(page.locator(".dominant.left .role")).to_have_text("Protectee")
    page.screenshot(path=str(folder / "builder.png"))
