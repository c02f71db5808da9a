"""Stored aggregation runs: complete or invisible, idempotent, the newest complete one read."""

from unittest import mock

import pytest

from aggregation import engine
from aggregation.models import AggregationRun, CellResult, ComparisonResult, ReliabilityResult
from aggregation.selectors import run_latest_complete
from aggregation.services import aggregation_run_wave
from surveys.models import Rating

pytestmark = pytest.mark.django_db


def test_run_stores_cells_comparisons_and_reliability(rated_wave):
    run = aggregation_run_wave(wave_id=rated_wave.pk)
    assert run.status == AggregationRun.Status.COMPLETE
    assert run.n_ratings == Rating.objects.count()
    assert run.estimator_name == "plain_means" and run.estimator_version
    assert len(run.input_fingerprint) == 64
    cell = CellResult.objects.get(
        run=run,
        panel__code="MOW",
        perspective="expectation",
        role__code="protectee",
    )
    assert cell.n == 5 and cell.mean == pytest.approx(9 - 1 / 5 * 1)  # values 8,9,10,8,9
    assert ReliabilityResult.objects.filter(run=run).exists()


def test_ascribed_vs_conceived_recovers_planted_roles(rated_wave):
    run = aggregation_run_wave(wave_id=rated_wave.pk)
    row = ComparisonResult.objects.filter(
        run=run, preset="ascribed_vs_conceived", subject__code="ARM"
    ).first()
    assert row.dominant_left == "protectee"
    assert row.dominant_right == "independent"
    # Each side as columns, as its label says: what Moscow expects of Armenia against what
    # Yerevan conceives.
    sides = [getattr(row, f"{s}_{n}") for s in ("left", "right") for n in engine.SELECTOR_FIELDS]
    assert sides == ["MOW", "RUS", "ARM", "expectation", "YER", "ARM", "ARM", "conception"]
    assert row.left_label == "expectation RUS→ARM (MOW)"
    assert row.family_size >= 1


def test_same_ratings_make_no_new_run(rated_wave):
    first = aggregation_run_wave(wave_id=rated_wave.pk)
    again = aggregation_run_wave(wave_id=rated_wave.pk)
    assert again.pk == first.pk
    assert AggregationRun.objects.count() == 1


def test_changed_ratings_make_a_new_run_that_readers_see(rated_wave):
    first = aggregation_run_wave(wave_id=rated_wave.pk)
    Rating.objects.filter(value=9).update(value=10)
    second = aggregation_run_wave(wave_id=rated_wave.pk)
    assert second.pk != first.pk
    assert run_latest_complete(wave=rated_wave) == second


def test_failed_run_leaves_previous_results_visible(rated_wave):
    good = aggregation_run_wave(wave_id=rated_wave.pk)
    Rating.objects.filter(value=9).update(value=10)
    with (
        mock.patch(
            "aggregation.engine.reliability_from_counts", side_effect=RuntimeError("disk full")
        ),
        pytest.raises(RuntimeError),
    ):
        aggregation_run_wave(wave_id=rated_wave.pk)
    failed = AggregationRun.objects.exclude(pk=good.pk).get()
    assert failed.status == AggregationRun.Status.FAILED
    assert "disk full" in failed.error
    assert not failed.cells.exists()
    assert run_latest_complete(wave=rated_wave) == good


def test_failure_while_storing_leaves_no_half_run(rated_wave):
    good = aggregation_run_wave(wave_id=rated_wave.pk)
    Rating.objects.filter(value=9).update(value=10)
    with (
        # fails after the cells and comparisons were written, before the reliability
        mock.patch(
            "aggregation.services.reliability_rows", side_effect=RuntimeError("connection lost")
        ),
        pytest.raises(RuntimeError),
    ):
        aggregation_run_wave(wave_id=rated_wave.pk)
    failed = AggregationRun.objects.get(status=AggregationRun.Status.FAILED)
    assert not CellResult.objects.filter(run=failed).exists()
    assert run_latest_complete(wave=rated_wave) == good


def test_running_run_is_not_visible(rated_wave):
    from django.utils import timezone

    AggregationRun.objects.create(
        wave=rated_wave, estimator_name="x", estimator_version="1", started_at=timezone.now()
    )
    assert run_latest_complete(wave=rated_wave) is None


def test_run_abandoned_by_a_killed_worker_is_marked_failed_by_the_next(rated_wave):
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 60)
    stale = AggregationRun.objects.create(
        wave=rated_wave, estimator_name="plain_means", estimator_version="1.0", started_at=long_ago
    )
    aggregation_run_wave(wave_id=rated_wave.pk)
    stale.refresh_from_db()
    assert stale.status == AggregationRun.Status.FAILED
    assert "abandoned" in stale.error


def test_wave_without_a_moscow_panel_aggregates_without_presets_that_need_it(open_wave, panels):
    from django.utils import timezone

    from surveys import services
    from surveys.models import Response

    response = Response.objects.create(
        wave=open_wave,
        panel=panels["YER"],
        pseudonym=services.pseudonym_new(),
        status=Response.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )
    item = open_wave.blocks.get(perspective="conception").items.first()
    Rating.objects.create(response=response, item=item, value=7)
    panels["MOW"].delete()
    run = aggregation_run_wave(wave_id=open_wave.pk)
    assert run.status == AggregationRun.Status.COMPLETE
    assert run.cells.exists()


@pytest.mark.parametrize(
    ("model", "fields"),
    [
        ("CellResult", "CELL_FIELDS"),
        ("ComparisonResult", "COMPARISON_FIELDS"),
        ("ReliabilityResult", "RELIABILITY_FIELDS"),
        ("WaveChangeResult", "WAVE_CHANGE_FIELDS"),
    ],
)
def test_stored_rows_fill_every_column_of_their_model(model, fields):
    from aggregation import models, services

    columns = [
        field.attname
        for field in getattr(models, model)._meta.concrete_fields
        if not field.primary_key
    ]
    assert sorted(getattr(services, fields)) == sorted(columns)


# Runs whose worker died: leases, the sweep's marking, no input computed twice ------------


def _running_run(wave, *, lease_in_seconds: float, fingerprint: str = "") -> AggregationRun:
    from datetime import timedelta

    from django.utils import timezone

    from aggregation import engine

    now = timezone.now()
    return AggregationRun.objects.create(
        wave=wave,
        estimator_name=engine.ESTIMATOR_NAME,
        estimator_version=engine.ESTIMATOR_VERSION,
        input_fingerprint=fingerprint,
        started_at=now - timedelta(seconds=5),
        lease_expires_at=now + timedelta(seconds=lease_in_seconds),
    )


def _current_fingerprint(wave) -> str:
    from aggregation.services import WaveInputs, home_panels

    return WaveInputs.load(wave=wave, homes=home_panels()).fingerprint


def test_sweep_marks_a_run_whose_lease_ran_out_failed_once(rated_wave):
    from aggregation.services import aggregation_runs_abandoned_fail

    expired = _running_run(rated_wave, lease_in_seconds=-1)
    alive = _running_run(rated_wave, lease_in_seconds=30, fingerprint="f" * 64)
    assert aggregation_runs_abandoned_fail() == [rated_wave.pk]
    assert aggregation_runs_abandoned_fail() == [], "a second sweep finds nothing to redo"
    expired.refresh_from_db()
    alive.refresh_from_db()
    assert expired.status == AggregationRun.Status.FAILED
    assert expired.error.startswith("abandoned") and expired.finished_at
    assert alive.status == AggregationRun.Status.RUNNING


def test_a_task_leaves_an_input_to_the_live_run_that_has_it(rated_wave):
    """A redelivered task (or the sweep's new request) while the first delivery's run still
    holds its lease: nothing is computed, no run is added, the running run is returned."""
    running = _running_run(
        rated_wave, lease_in_seconds=30, fingerprint=_current_fingerprint(rated_wave)
    )
    with mock.patch(
        "aggregation.engine.cell_statistics_from_counts", side_effect=AssertionError("computed")
    ):
        assert aggregation_run_wave(wave_id=rated_wave.pk) == running
    assert list(AggregationRun.objects.all()) == [running]


def test_a_task_redoes_an_input_whose_run_lost_its_lease(rated_wave):
    dead = _running_run(
        rated_wave, lease_in_seconds=-1, fingerprint=_current_fingerprint(rated_wave)
    )
    redone = aggregation_run_wave(wave_id=rated_wave.pk)
    dead.refresh_from_db()
    assert dead.status == AggregationRun.Status.FAILED and "abandoned" in dead.error
    assert redone.status == AggregationRun.Status.COMPLETE
    assert redone.input_fingerprint == dead.input_fingerprint
    assert run_latest_complete(wave=rated_wave) == redone


def test_one_running_run_per_input_is_enforced_by_the_database(rated_wave):
    from django.db import IntegrityError, transaction

    _running_run(rated_wave, lease_in_seconds=30, fingerprint="a" * 64)
    _running_run(rated_wave, lease_in_seconds=30, fingerprint="b" * 64)  # other input: fine
    with pytest.raises(IntegrityError), transaction.atomic():
        _running_run(rated_wave, lease_in_seconds=30, fingerprint="a" * 64)
