"""Celery tasks: thin wrappers that take ids and call a service (all idempotent)."""

from celery import shared_task
from django.db import DatabaseError

from aggregation.scheduling import aggregation_schedule, aggregation_sweep
from aggregation.services import aggregation_run_wave
from surveys.models import Wave


@shared_task(
    acks_late=True,
    autoretry_for=(DatabaseError, OSError),
    retry_backoff=5,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=8,
    soft_time_limit=25 * 60,
    time_limit=30 * 60,
)
def aggregate_wave(wave_id: int) -> int:
    """Aggregate a wave; returns the id of the run whose results readers now see."""
    return aggregation_run_wave(wave_id=wave_id).pk


@shared_task(acks_late=True, time_limit=120)
def dispatch_pending_aggregations() -> int:
    """Publish every aggregation request that a broker outage left pending."""
    return aggregation_sweep()


@shared_task(acks_late=True, time_limit=120)
def refresh_open_waves() -> int:
    """Periodic refresh: request aggregation of every open wave (no-op if nothing changed)."""
    wave_ids = list(Wave.objects.filter(status=Wave.Status.OPEN).values_list("id", flat=True))
    for wave_id in wave_ids:
        aggregation_schedule(wave_id=wave_id)
    return len(wave_ids)
