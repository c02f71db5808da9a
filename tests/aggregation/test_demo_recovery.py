"""On the demo data the stored results recover the profiles seed_demo planted."""

from io import StringIO

import pytest
from django.core.management import call_command

from aggregation.models import ComparisonResult
from aggregation.selectors import run_latest_complete
from aggregation.services import aggregation_run_wave
from surveys.models import Wave

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_run():
    call_command("seed_demo", stdout=StringIO())
    wave = Wave.objects.get(slug="2025")
    aggregation_run_wave(wave_id=wave.pk)
    return run_latest_complete(wave=wave)


def right_profile(run, subject):
    rows = ComparisonResult.objects.filter(
        run=run, preset="ascribed_vs_conceived", subject__code=subject
    ).select_related("role")
    return rows, sorted(rows, key=lambda row: row.mean_right or -1, reverse=True)


def test_armenia_protectee_ascribed_against_independent_conceived(demo_run):
    rows, _ = right_profile(demo_run, "ARM")
    assert rows[0].dominant_left == "protectee"
    assert rows[0].dominant_right == "independent"


def test_kazakhstan_faithful_ally_against_active_independent_and_mediator(demo_run):
    rows, by_right_mean = right_profile(demo_run, "KAZ")
    assert rows[0].dominant_left == "faithful_ally"
    assert {row.role.code for row in by_right_mean[:2]} == {
        "active_independent",
        "mediator_integrator",
    }
