"""The research-questions page and the comparison builder page on the synthetic demo."""

import re
from html import unescape
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction

from aggregation.research_questions import research_questions_bundle_table
from aggregation.services import aggregation_run_wave
from surveys.groups import PANEL_ADMINS, RESEARCHERS, groups_sync
from surveys.models import Panel, Wave
from tests.conftest import login_with_second_factor

pytestmark = pytest.mark.django_db

PAGE = "/admin/reports/research-questions/"
BUILDER = "/admin/reports/builder/"


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """The demo with both waves aggregated, once for the module (rolled back at its end)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=StringIO())
        for slug in ("2021", "2025"):
            aggregation_run_wave(wave_id=Wave.objects.get(slug=slug).pk, force=True)
        yield
        transaction.set_rollback(True)


def _user(group: str, username: str) -> User:
    groups_sync()
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def _text(html: str) -> str:
    """The page's words: tags dropped, whitespace collapsed."""
    html = re.sub(r"<style.*?</style>", "", html, flags=re.S)
    html = re.sub(r"</?em>", "", html)
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def _card(html: str, slug: str) -> str:
    match = re.search(rf'<article class="rq-card" id="{slug}".*?</article>', html, flags=re.S)
    assert match, slug
    return _text(match.group(0))


@pytest.fixture
def researcher_client(client, demo_data):
    client.force_login(_user(RESEARCHERS, "researcher"))
    return client


def test_page_names_protectee_against_independent_for_armenia(researcher_client):
    html = researcher_client.get(PAGE).content.decode()
    card = _card(html, "rq-ascribed-conceived-arm")
    # The demo's 2025 cells: Moscow's 12 experts rate protectee 8.58 on average, Yerevan's 11
    # rate Armenia independent 7.91 (ratings through each expert's stretch of the scale).
    assert "In 2025 Moscow's panel ascribes Protectee, 8.6 [" in card
    assert "Yerevan's panel conceives of Armenia as Independent, 7.9 [" in card
    assert "Estimator: plain means." in card
    # The test settings run Aldrich–McKelvey and the C-scores: each card says how they fare.
    assert "no result stored yet" not in card
    assert "Aldrich–McKelvey" in card and "Vignette C-scores" in card


def test_page_names_faithful_ally_against_active_independent_and_mediator_for_kazakhstan(
    researcher_client,
):
    card = _card(researcher_client.get(PAGE).content.decode(), "rq-ascribed-conceived-kaz")
    assert "Moscow's panel ascribes Faithful ally" in card
    conceived = card.split("Astana's panel conceives of Kazakhstan as", 1)[1].split(";")[0]
    assert "Active independent" in conceived and "Mediator – integrator" in conceived


def test_page_shows_the_trend_from_2021_to_2025_with_its_interval(researcher_client):
    card = _card(researcher_client.get(PAGE).content.decode(), "rq-ascribed-conceived-arm")
    assert "Difference 2021" in card and "Difference 2025" in card
    # The planted gap in protectee grows (ascribed 8.6 both waves, conceived 6.5 → 3.5).
    assert re.search(r"From 2021 to 2025 the difference in Protectee went from .*widening", card)


def test_page_has_every_question_with_inter_role_correlations(researcher_client):
    text = _text(researcher_client.get(PAGE).content.decode())
    for heading in (
        "Russia's ego role against the alter part",
        "Roles ascribed by Russia against the allies' own",
        "Russia's global roles against its regional leader role",
        "The organized other against the significant others",
    ):
        assert heading in text
    assert "correlation across" in text and "r =" in text


def test_bundle_table_changes_are_the_differences_of_the_stored_differences(demo_data):
    table = research_questions_bundle_table()
    rows = table[
        (table["comparison"] == "rq-ascribed-conceived-arm") & (table["role"] == "protectee")
    ]
    by_wave = rows.set_index("wave")
    assert by_wave.loc["2025", "previous_wave"] == "2021"
    assert by_wave.loc["2025", "change"] == pytest.approx(
        by_wave.loc["2025", "diff"] - by_wave.loc["2021", "diff"]
    )
    assert by_wave.loc["2025", "change_ci_low"] > 0  # the planted gap widens
    assert set(table["estimator"]) == {"plain_means"}
    # Role-by-role rows carry the corrected estimators' checks; inter-role ones have none.
    roles = table[table["kind"] == "roles"]
    assert roles["corrected_estimator_disagrees"].notna().all()
    assert roles["corrected_checks"].str.contains("aldrich_mckelvey: ").all()
    assert (table.loc[table["kind"] == "inter_role", "corrected_checks"] == "").all()


def test_panel_admin_may_not_read_the_research_questions(client, demo_data):
    login_with_second_factor(client, _user(PANEL_ADMINS, "panel-admin"))
    assert client.get(PAGE).status_code == 403


def test_builder_compares_ascribed_against_enacted_paired(researcher_client):
    query = (
        "left_wave=2025&left_panel=MOW&left_holder=RUS&left_subject=ARM&left_perspective="
        "expectation&left_estimator=plain_means&right_wave=2025&right_panel=MOW&right_holder=ARM"
        "&right_subject=ARM&right_perspective=performance&right_estimator=plain_means"
    )
    text = _text(researcher_client.get(f"{BUILDER}?{query}").content.decode())
    assert "paired t (the same experts; n counts pairs)" in text
    assert "Protectee" in text


def test_builder_compares_a_panel_against_all_panels_with_the_overlapping_test(
    researcher_client,
):
    query = (
        "left_wave=2025&left_panel=YER&left_holder=ARM&left_subject=ARM&left_perspective="
        "conception&left_estimator=plain_means&right_wave=2025&right_panel=ALL&right_holder=ARM"
        "&right_subject=ARM&right_perspective=performance&right_estimator=plain_means"
    )
    text = _text(researcher_client.get(f"{BUILDER}?{query}").content.decode())
    assert "partially overlapping samples t (one panel's experts on both sides)" in text


def test_builder_offers_a_panel_admin_only_their_panels(client, demo_data):
    user = _user(PANEL_ADMINS, "panel-admin")
    user.administered_panels.set(Panel.objects.filter(code="YER"))
    login_with_second_factor(client, user)
    html = client.get(BUILDER).content.decode()
    options = re.search(r'<select name="left_panel".*?</select>', html, flags=re.S).group(0)
    assert 'value="YER"' in options and 'value="MOW"' not in options
    assert 'value="ALL"' not in options
