"""A real Celery worker process (not eager mode) aggregates a wave end to end."""

import time

import pytest

from aggregation.models import AggregationRun, PendingAggregation
from aggregation.scheduling import aggregation_queue_now
from tests.worker import celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def wait_for(condition, timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def test_worker_aggregates_a_queued_wave(rated_wave):
    with celery_worker():
        assert aggregation_queue_now(wave_id=rated_wave.pk)
        assert wait_for(
            lambda: AggregationRun.objects.filter(
                wave=rated_wave, status=AggregationRun.Status.COMPLETE
            ).exists()
        ), "no complete run; see var/test-worker.log"
    run = AggregationRun.objects.get(wave=rated_wave)
    assert run.cells.filter(panel__code="MOW", role__code="protectee").exists()
    assert not PendingAggregation.objects.filter(wave=rated_wave).exists()


def test_request_left_by_a_broker_outage_runs_when_a_worker_starts(rated_wave):
    """Pending without dispatch (the broker was down): a starting worker sweeps it up."""
    from django.utils import timezone

    PendingAggregation.objects.create(wave=rated_wave, requested_at=timezone.now())
    with celery_worker():
        assert wait_for(
            lambda: AggregationRun.objects.filter(
                wave=rated_wave, status=AggregationRun.Status.COMPLETE
            ).exists()
        ), "no complete run; see var/test-worker.log"


def test_large_wave_split_by_subject_into_a_chord_gives_the_same_results(rated_wave):
    """With the split threshold at 0 the worker aggregates the wave as a chord of one task
    per subject; the stored cells and comparisons equal those of a run in one piece."""
    from aggregation.models import CellResult, ComparisonResult, ReliabilityResult
    from aggregation.services import aggregation_run_wave

    with celery_worker(AGGREGATION_SPLIT_MIN_RATINGS="0"):
        assert aggregation_queue_now(wave_id=rated_wave.pk)
        assert wait_for(
            lambda: AggregationRun.objects.filter(
                wave=rated_wave,
                status__in=[AggregationRun.Status.COMPLETE, AggregationRun.Status.FAILED],
            ).exists()
        )
    split = AggregationRun.objects.get()
    assert split.status == AggregationRun.Status.COMPLETE, split.error
    # the same ratings: a run in one piece has the same fingerprint, so it must be forced
    assert aggregation_run_wave(wave_id=rated_wave.pk) == split
    whole = aggregation_run_wave(wave_id=rated_wave.pk, force=True)
    assert whole != split and whole.input_fingerprint == split.input_fingerprint

    def cells(run):
        return sorted(
            CellResult.objects.filter(run=run).values_list(
                "panel_id", "holder_id", "subject_id", "perspective", "role_id", "n", "mean", "sd"
            ),
            key=str,
        )

    def comparisons(run):
        return sorted(
            ComparisonResult.objects.filter(run=run).values_list(
                "preset", "subject_id", "role_id", "diff", "p_adjusted", "dominant_left"
            ),
            key=str,
        )

    def reliability(run):
        return sorted(
            ReliabilityResult.objects.filter(run=run).values_list(
                "panel_id", "block_id", "n_raters", "alpha_interval", "icc1"
            ),
            key=str,
        )

    assert cells(split) == cells(whole) and cells(whole)
    assert comparisons(split) == comparisons(whole) and comparisons(whole)
    assert reliability(split) == reliability(whole) and reliability(whole)
