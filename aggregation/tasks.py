"""Celery tasks: thin wrappers that take ids and call a service (all idempotent)."""

from celery import chord, shared_task
from django.conf import settings
from django.db import DatabaseError

from aggregation import services
from aggregation.scheduling import aggregation_schedule, aggregation_sweep
from surveys.models import Wave

RETRYING = {
    "acks_late": True,
    "autoretry_for": (DatabaseError, OSError),
    "retry_backoff": 5,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 8,
    "soft_time_limit": 25 * 60,
    "time_limit": 30 * 60,
}


@shared_task(**RETRYING)
def aggregate_wave(wave_id: int, force: bool = False) -> int | None:
    """Aggregate a wave: in this task, or, for a large wave, split by subject into a chord.

    Returns the id of the run it stored (None when a chord was started instead).
    """
    n_ratings = services.wave_rating_count(wave_id=wave_id)
    if n_ratings < settings.AGGREGATION_SPLIT_MIN_RATINGS:
        return services.aggregation_run_wave(wave_id=wave_id, force=force).pk
    run = services.aggregation_split_start(wave_id=wave_id, force=force)
    if run is None:
        return None
    parts = [
        aggregate_wave_part.si(run.pk, subject)
        for subject in services.wave_subjects(wave_id=wave_id)
    ]
    chord(parts)(aggregate_wave_finish.si(run.pk).on_error(aggregate_wave_failed.si(run.pk)))
    return None


@shared_task(**RETRYING)
def aggregate_wave_part(run_id: int, subject: str) -> None:
    services.aggregation_split_part(run_id=run_id, subject=subject)


@shared_task(**RETRYING)
def aggregate_wave_finish(run_id: int) -> int:
    return services.aggregation_split_finish(run_id=run_id).pk


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def aggregate_wave_failed(run_id: int) -> None:
    services.aggregation_split_fail(run_id=run_id, reason="a part of the split run failed")


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def dispatch_pending_aggregations() -> int:
    """Redo runs whose worker died; publish every request a broker outage left pending."""
    return aggregation_sweep()


@shared_task(acks_late=True, soft_time_limit=100, time_limit=120)
def refresh_open_waves() -> int:
    """Periodic refresh: request aggregation of every open wave (no-op if nothing changed)."""
    wave_ids = list(Wave.objects.filter(status=Wave.Status.OPEN).values_list("id", flat=True))
    for wave_id in wave_ids:
        aggregation_schedule(wave_id=wave_id)
    return len(wave_ids)


@shared_task(acks_late=True, soft_time_limit=55 * 60, time_limit=60 * 60)
def ordinal_irt_full_posterior(job_id: int) -> int:
    """The full posterior (NUTS) of the ordinal IRT of one run (``aggregation.posterior``)."""
    from aggregation.posterior import posterior_compute

    return posterior_compute(job_id=job_id).run_id
