"""On the demo data the stored results recover the profiles seed_demo planted."""

from io import StringIO

import pytest
from django.core.management import call_command

from aggregation.models import ComparisonResult
from aggregation.selectors import run_latest_complete
from aggregation.services import aggregation_run_wave
from surveys.demo import VIGNETTES
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
        run=run,
        preset="ascribed_vs_conceived",
        subject__code=subject,
        estimator="plain_means",
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


def test_split_by_subject_stores_the_same_results_as_one_run(demo_run):
    """The parts of a chord (run here one after another) add up to the whole run."""
    from aggregation import services
    from aggregation.models import AggregationRun, CellResult, ReliabilityResult

    wave = demo_run.wave
    split = services.aggregation_split_start(wave_id=wave.pk, force=True)
    subjects = services.wave_subjects(wave_id=wave.pk)
    # The vignettes are subjects of the cube as any other, split off like them.
    assert set(subjects) == {"RUS", "KAZ", "ARM", "KGZ", "TJK", *VIGNETTES}
    for subject in subjects:
        services.aggregation_split_part(run_id=split.pk, subject=subject)
    services.aggregation_split_part(run_id=split.pk, subject="ARM")  # redelivered: idempotent
    assert run_latest_complete(wave=wave) == demo_run  # nothing visible before the finish
    services.aggregation_split_finish(run_id=split.pk)
    assert AggregationRun.objects.get(pk=split.pk).status == "complete"
    assert run_latest_complete(wave=wave).pk == split.pk

    def rows(model, run, fields):
        return sorted(model.objects.filter(run=run).values_list(*fields), key=str)

    cell_fields = ("panel_id", "holder_id", "subject_id", "perspective", "role_id", "n", "mean")
    comparison_fields = ("preset", "subject_id", "role_id", "diff", "p_adjusted")
    reliability_fields = ("panel_id", "block_id", "n_raters", "alpha_interval")
    assert rows(CellResult, split, cell_fields) == rows(CellResult, demo_run, cell_fields)
    assert rows(ComparisonResult, split, comparison_fields) == rows(
        ComparisonResult, demo_run, comparison_fields
    )
    assert rows(ReliabilityResult, split, reliability_fields) == rows(
        ReliabilityResult, demo_run, reliability_fields
    )
