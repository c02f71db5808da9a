"""The report pages and panel tools on a 360 px phone and on a laptop: axe-core finds no
serious or critical violation, and on the phone the page never scrolls sideways (a wide
table scrolls inside its own labelled container instead).

axe-core is a test-only tool pinned in ``tests/browser/package.json``; ``bin/test`` installs
it into ``tests/browser/node_modules`` and the test loads it into each page from there.
It is added as an inline script, which the site's Content-Security-Policy refuses, so the
browser contexts of this test bypass the policy (``bypass_csp``); nothing else changes.
The screenshots of every page at 360 × 740 go to the test's temporary folder.
"""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from aggregation.services import aggregation_run_wave
from surveys.models import Wave
from tests.browser.conftest import admin_sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

AXE = Path(__file__).resolve().parent / "node_modules" / "axe-core" / "axe.min.js"
PHONE = {"width": 360, "height": 740}
LAPTOP = {"width": 1280, "height": 800}
SERIOUS = {"serious", "critical"}

PAGES = {
    "comparison": "/admin/reports/comparison/?wave=2025&preset=ascribed_vs_conceived&subject=ARM",
    "overview": "/admin/reports/overview/?wave=2025&preset=ascribed_vs_conceived",
    "dyad": "/admin/reports/dyad/?wave=2025&subject=ARM",
    "trends": "/admin/reports/trends/",
    "network": "/admin/reports/network/?wave=2025&compare=2021",
    "trends-comparison": "/admin/reports/trends/?kind=comparison&preset=ascribed_vs_conceived"
    "&subject=ARM",
    "dashboard": "/admin/surveys/wave/dashboard/?wave=2025",
    "experts": "/admin/surveys/wave/experts/?wave=2025",
}


@pytest.fixture(scope="module", autouse=True)
def _database_emptied_before_the_restore(django_db_setup, django_db_blocker):
    """Start from an empty database, so that the restore of the serialized copy meets no row
    (see the same fixture in ``test_admin_browser.py``)."""
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
def axe_script() -> Path:
    """The path of axe-core's script; skips before the demo is built if it is missing."""
    if not AXE.exists():
        pytest.skip(
            f"axe-core is not installed at {AXE}; bin/test installs it "
            "(npm ci --prefix tests/browser)."
        )
    return AXE


@pytest.fixture
def demo(reference_data):
    call_command("seed_demo", stdout=StringIO())
    for slug in ("2025", "2021"):
        aggregation_run_wave(wave_id=Wave.objects.get(slug=slug).pk)


def _logged_in(context, live_server):
    page = context.new_page()
    admin_sign_in(page, live_server)
    return page


def _serious_violations(page, axe_script: Path) -> list[str]:
    """axe-core's violations of impact serious or critical, one line per element."""
    page.add_script_tag(path=str(axe_script))
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{violation['id']} ({violation['impact']}): {violation['help']} "
        f"at {json.dumps(node['target'])}: {node['failureSummary']}"
        for violation in result["violations"]
        if violation["impact"] in SERIOUS
        for node in violation["nodes"]
    ]


def _sideways_scroll(page) -> str | None:
    """A mobile browser zooms out to show a page wider than the screen, and ``innerWidth``
    grows with the zoom; ``clientWidth`` stays the width the page was laid out for."""
    widths = page.evaluate(
        """({
            scroll: document.documentElement.scrollWidth,
            viewport: Math.min(window.innerWidth, document.documentElement.clientWidth),
        })"""
    )
    if widths["scroll"] > widths["viewport"] + 1:
        return f"the page is {widths['scroll']} px wide in a {widths['viewport']} px viewport"
    return None


def test_report_pages_fit_a_phone_and_have_no_serious_accessibility_violation(
    axe_script, browser, live_server, demo, tmp_path
):
    problems = []

    phone = browser.new_context(
        viewport=PHONE,
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="en-GB",
        bypass_csp=True,
    )
    page = _logged_in(phone, live_server)
    for name, url in PAGES.items():
        response = page.goto(f"{live_server.url}{url}")
        assert response.status == 200, url
        page.screenshot(path=str(tmp_path / f"phone-{name}.png"), full_page=True)
        if scroll := _sideways_scroll(page):
            problems.append(f"{name} at 360 px: {scroll}")
        problems += [f"{name} at 360 px: {v}" for v in _serious_violations(page, axe_script)]
    phone.close()

    laptop = browser.new_context(viewport=LAPTOP, locale="en-GB", bypass_csp=True)
    page = _logged_in(laptop, live_server)
    for name, url in PAGES.items():
        page.goto(f"{live_server.url}{url}")
        problems += [f"{name} at 1280 px: {v}" for v in _serious_violations(page, axe_script)]
    laptop.close()

    assert not problems, "\n".join(problems)
