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
