"""Leases of running runs: renewed while the run works, and short enough that a run whose
worker died is redone well within two minutes under the default settings."""

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from aggregation.leases import lease_kept
from aggregation.models import AggregationRun

# What the redo needs after the sweep found the run: beat's message reaching a worker, the
# wave's input loaded and computed again (well under a second for a million ratings, see
# docs/performance.md) and the clocks of web, worker and database machines apart.
REDO_ALLOWANCE_SECONDS = 20


def _sweep_interval_seconds() -> float:
    [entry] = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "aggregation.tasks.dispatch_pending_aggregations"
    ]
    return float(entry["schedule"])


def test_default_settings_redo_a_killed_run_within_two_minutes():
    """Worst case: the worker dies just after renewing; the lease runs out a full lease
    later; beat's sweep ran just before that, so the next one comes an interval later."""
    lease = settings.AGGREGATION_LEASE_SECONDS
    interval = _sweep_interval_seconds()
    assert interval >= 60, "beat sweeps at most once a minute"
    renew = settings.AGGREGATION_LEASE_RENEW_SECONDS
    assert renew <= lease / 2, "one missed renewal is harmless"
    assert lease + interval + REDO_ALLOWANCE_SECONDS < 120
    assert (lease, interval) == (30, 60)  # the documented defaults (docs/reliability.md)


@pytest.fixture
def running_run(rated_wave):
    now = timezone.now()
    return AggregationRun.objects.create(
        wave=rated_wave,
        estimator_name="plain_means",
        estimator_version="1.0",
        started_at=now,
        lease_expires_at=now + timedelta(seconds=1),
    )


@pytest.mark.django_db(transaction=True)
def test_lease_is_renewed_while_the_run_works_and_not_after(running_run, settings):
    settings.AGGREGATION_LEASE_SECONDS = 5
    settings.AGGREGATION_LEASE_RENEW_SECONDS = 0.05
    first = running_run.lease_expires_at
    with lease_kept(run_id=running_run.pk, started_at=running_run.started_at):
        time.sleep(0.5)
        running_run.refresh_from_db()
        renewed = running_run.lease_expires_at
        assert renewed > first + timedelta(seconds=3)
    running_run.refresh_from_db()
    stopped = running_run.lease_expires_at
    time.sleep(0.3)
    running_run.refresh_from_db()
    assert running_run.lease_expires_at == stopped, "no renewal after the block ended"


@pytest.mark.django_db(transaction=True)
def test_a_run_no_longer_running_is_not_renewed(running_run, settings):
    settings.AGGREGATION_LEASE_RENEW_SECONDS = 0.05
    AggregationRun.objects.filter(pk=running_run.pk).update(status=AggregationRun.Status.FAILED)
    with lease_kept(run_id=running_run.pk, started_at=running_run.started_at):
        time.sleep(0.3)
    running_run.refresh_from_db()
    assert running_run.lease_expires_at == running_run.started_at + timedelta(seconds=1)


@pytest.mark.django_db(transaction=True)
def test_a_run_past_the_task_time_limit_is_not_renewed(running_run, settings):
    """A hung worker keeps its thread alive: its run is given up like a dead one."""
    settings.AGGREGATION_LEASE_RENEW_SECONDS = 0.05
    long_ago = timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 1)
    with lease_kept(run_id=running_run.pk, started_at=long_ago):
        time.sleep(0.3)
    running_run.refresh_from_db()
    assert running_run.lease_expires_at == running_run.started_at + timedelta(seconds=1)
