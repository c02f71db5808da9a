"""A worker is killed with SIGKILL in the middle of an aggregation run (fault 1b).

The killed run stops renewing its lease (``aggregation.leases``). Once the lease has run out,
the sweep (beat every minute, a starting worker, a new request of the wave) marks the run
failed and requests the wave's aggregation again, and another worker redoes it: on the
filesystem broker, which loses the killed worker's message, and on Redis, which gives it
back only after the visibility timeout (an hour by default). When the message does come back
it finds the input computed and computes nothing. Until the new run is complete, readers
keep seeing the previous complete run; the killed run never shows.

The killed worker renews its lease every second or two, so that the test sees a renewal
quickly; where the lease must run out before the next worker starts, the lease is 3 s. That
the default lease and beat's interval redo a run within two minutes even in the worst case
is ``tests/aggregation/test_leases.py``.
"""

import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import timezone

from aggregation.models import AggregationRun, CellResult, PendingAggregation
from aggregation.scheduling import aggregation_queue_now
from aggregation.selectors import run_latest_complete
from aggregation.services import aggregation_run_wave
from project.celery import app as celery_app
from surveys.models import Rating, Wave
from tests.faults.conftest import wait_for
from tests.worker import celery_beat, celery_worker

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

ON_REDIS = settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://"))
RECEIVED = re.compile(r"Task aggregation\.tasks\.aggregate_wave\[([0-9a-f-]+)\] received")
SUCCEEDED = re.compile(r"Task aggregation\.tasks\.aggregate_wave\[([0-9a-f-]+)\] succeeded")
SECOND_LOG = "test-worker-2.log"
THIRD_LOG = "test-worker-3.log"


def _log(name: str) -> str:
    return (Path(settings.VAR_DIR) / name).read_text()


def _slow_worker(*, lease: str, renew: str):
    # A message an earlier test of this process queued and no worker took is not this test's
    # task: the slow worker must receive exactly the run it is killed in.
    celery_app.control.purge()
    return celery_worker(
        AGGREGATION_TEST_DELAY_SECONDS="300",
        AGGREGATION_LEASE_SECONDS=lease,
        AGGREGATION_LEASE_RENEW_SECONDS=renew,
    )


@dataclass
class Killed:
    previous: AggregationRun
    previous_cells: int
    run: AggregationRun | None = None
    task_id: str = ""
    killed_at: float = 0.0  # time.monotonic()


def _slow_run_started(wave: Wave) -> Killed:
    """Aggregate the wave once, change an answer, and queue its aggregation again to the slow
    worker; return once that worker's run has renewed its lease at least once."""
    previous = aggregation_run_wave(wave_id=wave.pk)
    state = Killed(previous, CellResult.objects.filter(run=previous).count())
    assert state.previous_cells
    rating = Rating.objects.filter(response__wave=wave, value__lt=10).first()
    Rating.objects.filter(pk=rating.pk).update(value=rating.value + 1)
    assert aggregation_queue_now(wave_id=wave.pk)
    running = AggregationRun.objects.filter(wave=wave, status=AggregationRun.Status.RUNNING)
    assert wait_for(running.exists), "the worker never started the run; see test-worker.log"
    state.run = running.get()
    assert wait_for(
        lambda: running.get().lease_expires_at > state.run.lease_expires_at, timeout=30
    ), "the worker does not renew the lease"
    return state


def _kill(worker: subprocess.Popen, state: Killed) -> None:
    """SIGKILL the slow worker; readers still see the previous run, whole."""
    worker.send_signal(signal.SIGKILL)
    worker.wait(timeout=10)
    state.killed_at = time.monotonic()
    # The run's task is the last the slow worker received: on a loaded machine the same task
    # can be logged twice (a retry keeps its id), or an unrelated task can come first.
    state.task_id = RECEIVED.findall(_log("test-worker.log"))[-1]
    state.run.refresh_from_db()
    assert state.run.status == AggregationRun.Status.RUNNING
    assert run_latest_complete(wave=state.run.wave).pk == state.previous.pk
    assert CellResult.objects.filter(run=state.previous).count() == state.previous_cells
    assert not CellResult.objects.filter(run=state.run).exists()


def _replacement_exists(state: Killed) -> bool:
    return (
        AggregationRun.objects.filter(wave=state.run.wave, status=AggregationRun.Status.COMPLETE)
        .exclude(pk=state.previous.pk)
        .exists()
    )


def _assert_redone_once(state: Killed) -> None:
    """The killed run is marked abandoned; exactly one new complete run replaced it."""
    wave = state.run.wave
    state.run.refresh_from_db()
    assert state.run.status == AggregationRun.Status.FAILED
    assert state.run.error.startswith("abandoned")
    replacement = run_latest_complete(wave=wave)
    assert replacement.pk not in (state.previous.pk, state.run.pk)
    assert replacement.input_fingerprint == state.run.input_fingerprint
    assert CellResult.objects.filter(run=replacement).count() == state.previous_cells
    assert set(AggregationRun.objects.filter(wave=wave)) == {
        state.previous,
        state.run,
        replacement,
    }, "the input was computed once more, not twice"
    assert not PendingAggregation.objects.filter(wave=wave).exists()


def test_killed_run_is_redone_by_the_periodic_sweep_within_two_minutes(rated_wave):
    """A second worker and beat (every minute, as in production) run beside the slow worker;
    the slow worker is killed; beat's sweep finds its run once the lease (the default 30 s)
    ran out, and the second worker redoes it, within two minutes of the kill."""
    with _slow_worker(lease="30", renew="2") as first:
        state = _slow_run_started(rated_wave)
        # The second worker keeps Redis's default visibility timeout (an hour): the killed
        # task's message stays away while the sweep and this worker redo the run.
        with celery_beat(), celery_worker(log_name=SECOND_LOG):
            _kill(first, state)
            assert wait_for(
                lambda: _replacement_exists(state),
                timeout=120 - (time.monotonic() - state.killed_at),
            ), f"no complete run within 2 minutes of the kill; see {SECOND_LOG}, test-beat.log"
            redone_after = time.monotonic() - state.killed_at
            assert "Sending due task dispatch-pending-aggregations" in _log("test-beat.log")
    assert redone_after < 120
    if ON_REDIS:
        # After the redo the message comes back (here to a worker that gives back what has
        # been unacknowledged for over a second, instead of waiting out the hour) and
        # computes nothing: the input is computed already.
        with celery_worker(log_name=THIRD_LOG, CELERY_TEST_VISIBILITY_TIMEOUT="1"):
            assert wait_for(
                lambda: state.task_id in SUCCEEDED.findall(_log(THIRD_LOG)), timeout=60
            ), f"the killed task's message did not come back; see {THIRD_LOG}"
    _assert_redone_once(state)


def test_killed_run_is_redone_when_a_worker_starts(rated_wave):
    """The lease ran out before the next worker started: that worker's start finds the run.
    On Redis the killed message comes back at the same moment (a visibility timeout of 3 s):
    of the redelivered task and the sweep's new request, one computes, the other finds the
    input taken and computes nothing."""
    with _slow_worker(lease="3", renew="1") as first:
        state = _slow_run_started(rated_wave)
        _kill(first, state)
    assert wait_for(
        lambda: AggregationRun.objects.get(pk=state.run.pk).lease_expires_at < timezone.now(),
        timeout=10,
    )
    second = {"CELERY_TEST_VISIBILITY_TIMEOUT": "3"} if ON_REDIS else {}
    with celery_worker(log_name=SECOND_LOG, **second):
        assert wait_for(lambda: _replacement_exists(state), timeout=60), (
            f"the starting worker did not redo the run; see {SECOND_LOG}"
        )
        if ON_REDIS:
            assert wait_for(lambda: len(SUCCEEDED.findall(_log(SECOND_LOG))) == 2, timeout=60), (
                "the killed task's message did not come back"
            )
            assert state.task_id in SUCCEEDED.findall(_log(SECOND_LOG))
    assert time.monotonic() - state.killed_at < 120
    _assert_redone_once(state)
