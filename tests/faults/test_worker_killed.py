"""A worker is killed with SIGKILL in the middle of an aggregation run (fault 1b).

The task is acknowledged late, so the broker still holds it: on Redis it becomes visible
again after the visibility timeout (shortened for the test workers through
``CELERY_TEST_VISIBILITY_TIMEOUT``) and the next worker runs it. Until a complete new run
replaces it, readers keep seeing the previous complete run; the killed run never shows.
"""

import re
import signal
from pathlib import Path

import pytest
from django.conf import settings

from aggregation.models import AggregationRun, CellResult, PendingAggregation
from aggregation.scheduling import aggregation_queue_now
from aggregation.selectors import run_latest_complete
from aggregation.services import aggregation_run_wave
from surveys.models import Rating
from tests.faults.conftest import needs_redis, wait_for
from tests.worker import celery_worker

pytestmark = [needs_redis, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

VISIBILITY_TIMEOUT = "3"
RECEIVED = re.compile(r"Task aggregation\.tasks\.aggregate_wave\[([0-9a-f-]+)\] received")


def _worker_log() -> str:
    return (Path(settings.VAR_DIR) / "test-worker.log").read_text()


def test_killed_aggregation_is_redelivered_and_previous_results_stay_visible(rated_wave):
    previous = aggregation_run_wave(wave_id=rated_wave.pk)
    previous_cells = CellResult.objects.filter(run=previous).count()
    assert previous_cells
    # New answers arrive: the next run has different input.
    rating = Rating.objects.filter(response__wave=rated_wave, value__lt=10).first()
    Rating.objects.filter(pk=rating.pk).update(value=rating.value + 1)

    with celery_worker(
        AGGREGATION_TEST_DELAY_SECONDS="120", CELERY_TEST_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT
    ) as worker:
        assert aggregation_queue_now(wave_id=rated_wave.pk)
        assert wait_for(
            lambda: AggregationRun.objects.filter(
                wave=rated_wave, status=AggregationRun.Status.RUNNING
            ).exists()
        ), "the worker never started the run; see the test-worker.log"
        assert run_latest_complete(wave=rated_wave).pk == previous.pk
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        first_log = _worker_log()

    killed = AggregationRun.objects.get(wave=rated_wave, status=AggregationRun.Status.RUNNING)
    # Readers still see the previous run, whole, and nothing of the killed one.
    assert run_latest_complete(wave=rated_wave).pk == previous.pk
    assert CellResult.objects.filter(run=previous).count() == previous_cells
    assert not CellResult.objects.filter(run=killed).exists()
    assert PendingAggregation.objects.filter(wave=rated_wave).exists()

    with celery_worker(CELERY_TEST_VISIBILITY_TIMEOUT=VISIBILITY_TIMEOUT):
        assert wait_for(
            lambda: (
                AggregationRun.objects.filter(
                    wave=rated_wave, status=AggregationRun.Status.COMPLETE
                )
                .exclude(pk=previous.pk)
                .exists()
            ),
            timeout=90,
        ), "the killed task was not redelivered; see the test-worker.log"
        second_log = _worker_log()

    [task_id] = RECEIVED.findall(first_log)
    assert task_id in RECEIVED.findall(second_log), "the same message came back"
    replacement = run_latest_complete(wave=rated_wave)
    assert replacement.pk not in (previous.pk, killed.pk)
    assert replacement.input_fingerprint != previous.input_fingerprint
    assert CellResult.objects.filter(run=replacement).count() == previous_cells
    assert not PendingAggregation.objects.filter(wave=rated_wave).exists()
