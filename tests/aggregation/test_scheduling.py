"""Submissions schedule aggregation durably: a broker outage loses and blocks nothing."""

import time

import pytest
from django.conf import settings
from django.db import transaction

from aggregation.models import PendingAggregation
from aggregation.scheduling import aggregation_schedule, aggregation_sweep
from project.celery import app

pytestmark = pytest.mark.django_db(transaction=True)

UNREACHABLE_BROKER = "redis://127.0.0.1:1/0"


# Publishing uses the write URL (which defaults to the broker URL, and which an environment
# CELERY_BROKER_URL cannot override), so the tests switch brokers through it.


@pytest.fixture
def broker_down():
    app.conf.broker_write_url = UNREACHABLE_BROKER
    yield
    app.conf.broker_write_url = None


@pytest.fixture
def memory_broker():
    app.conf.broker_write_url = "memory://"
    yield
    app.conf.broker_write_url = None


def test_many_submissions_in_the_window_publish_one_task(open_wave, memory_broker, mocker):
    publish = mocker.patch("aggregation.tasks.aggregate_wave.apply_async")
    for _ in range(5):
        with transaction.atomic():
            aggregation_schedule(wave_id=open_wave.pk)
    assert publish.call_count == 1
    assert PendingAggregation.objects.get(wave=open_wave).dispatched_at is not None


def test_broker_down_keeps_the_request_and_does_not_block(open_wave, broker_down):
    started = time.monotonic()
    with transaction.atomic():
        aggregation_schedule(wave_id=open_wave.pk)
    assert time.monotonic() - started < 5
    pending = PendingAggregation.objects.get(wave=open_wave)
    assert pending.dispatched_at is None


def test_sweep_publishes_pending_request_when_broker_is_back(open_wave, broker_down, mocker):
    with transaction.atomic():
        aggregation_schedule(wave_id=open_wave.pk)
    app.conf.broker_write_url = "memory://"
    publish = mocker.patch("aggregation.tasks.aggregate_wave.apply_async")
    assert aggregation_sweep() == 1
    assert publish.call_args.kwargs["args"] == [open_wave.pk]
    assert PendingAggregation.objects.get(wave=open_wave).dispatched_at is not None


def test_every_periodic_task_can_be_sent_by_beat(memory_broker):
    """Beat sends its entries with apply_async, which refuses a task whose soft time limit
    (the task's or the project-wide one) exceeds its hard limit; every entry must pass."""
    app.loader.import_default_modules()
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = app.tasks[entry["task"]]
        assert task.apply_async(), name


def test_no_task_has_a_soft_time_limit_above_its_hard_limit():
    app.loader.import_default_modules()
    for name, task in app.tasks.items():
        if name.startswith("celery."):
            continue
        soft = task.soft_time_limit or app.conf.task_soft_time_limit
        hard = task.time_limit or app.conf.task_time_limit
        assert soft <= hard, f"{name}: soft limit {soft} s above hard limit {hard} s"


# Runs whose worker died are redone through the durable request ----------------------------


def _killed_run(wave, *, lease_in_seconds: float):
    """A run left ``running`` by a killed worker, and the request its task was sent for."""
    from datetime import timedelta

    from django.utils import timezone

    from aggregation.models import AggregationRun

    now = timezone.now()
    PendingAggregation.objects.create(wave=wave, requested_at=now, dispatched_at=now)
    return AggregationRun.objects.create(
        wave=wave,
        estimator_name="plain_means",
        estimator_version="1.0",
        input_fingerprint="f" * 64,
        started_at=now - timedelta(seconds=40),
        lease_expires_at=now + timedelta(seconds=lease_in_seconds),
    )


def test_sweep_redoes_a_run_whose_lease_ran_out_once(rated_wave, memory_broker, mocker):
    from aggregation.models import AggregationRun

    killed = _killed_run(rated_wave, lease_in_seconds=-1)
    publish = mocker.patch("aggregation.tasks.aggregate_wave.apply_async")
    assert aggregation_sweep() == 1
    assert publish.call_args.kwargs["args"] == [rated_wave.pk]
    assert publish.call_args.kwargs["countdown"] == 0
    killed.refresh_from_db()
    assert killed.status == AggregationRun.Status.FAILED and "abandoned" in killed.error
    assert PendingAggregation.objects.get(wave=rated_wave).dispatched_at is not None
    # The next minute's sweep: the redo is on its way, nothing is sent again.
    assert aggregation_sweep() == 0
    assert publish.call_count == 1


def test_sweep_leaves_a_run_with_a_live_lease_alone(rated_wave, memory_broker, mocker):
    from aggregation.models import AggregationRun

    working = _killed_run(rated_wave, lease_in_seconds=20)
    publish = mocker.patch("aggregation.tasks.aggregate_wave.apply_async")
    assert aggregation_sweep() == 0
    publish.assert_not_called()
    working.refresh_from_db()
    assert working.status == AggregationRun.Status.RUNNING


def test_two_sweeps_at_once_send_one_redo(rated_wave, memory_broker, mocker):
    import threading

    from django.db import connections

    _killed_run(rated_wave, lease_in_seconds=-1)
    publish = mocker.patch("aggregation.tasks.aggregate_wave.apply_async")
    start = threading.Barrier(2)
    sent = []

    def sweep():
        start.wait()
        try:
            sent.append(aggregation_sweep())
        finally:
            connections.close_all()

    sweepers = [threading.Thread(target=sweep) for _ in range(2)]
    for sweeper in sweepers:
        sweeper.start()
    for sweeper in sweepers:
        sweeper.join(timeout=30)
    assert sorted(sent) == [0, 1]
    assert publish.call_count == 1


def test_a_new_request_redoes_a_run_whose_lease_ran_out(rated_wave, memory_broker, mocker):
    """A submission for the wave finds the dead run before beat does."""
    from aggregation.models import AggregationRun

    killed = _killed_run(rated_wave, lease_in_seconds=-1)
    publish = mocker.patch("aggregation.tasks.aggregate_wave.apply_async")
    with transaction.atomic():
        aggregation_schedule(wave_id=rated_wave.pk)
    assert publish.call_count == 1
    killed.refresh_from_db()
    assert killed.status == AggregationRun.Status.FAILED
