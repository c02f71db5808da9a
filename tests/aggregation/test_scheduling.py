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
