"""Scheduling aggregation without ever losing or blocking a submission.

``aggregation_schedule`` is called inside the transaction that stores ratings. It writes a
durable ``PendingAggregation`` row and, once the transaction commits, publishes the
``aggregate_wave`` task with a short countdown. Many submissions inside that window publish
one task, not one each. When the broker is down the publish fails fast, is logged, and the
request stays pending: the periodic sweep and every starting worker dispatch it later.

The same sweep, and every new request of a wave, also look for runs whose worker died (their
lease ran out, ``aggregation.leases``): such a run is marked failed and its wave's request is
made pending again, so that the wave is aggregated anew through the same path.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from aggregation.models import PendingAggregation
from aggregation.services import aggregation_runs_abandoned_fail
from project.celery import app

logger = logging.getLogger(__name__)


def aggregation_schedule(*, wave_id: int) -> None:
    """Record that ``wave_id`` needs aggregating and publish the task after commit."""
    PendingAggregation.objects.update_or_create(
        wave_id=wave_id, defaults={"requested_at": timezone.now()}
    )
    transaction.on_commit(lambda: _request_dispatch(wave_id=wave_id))


def aggregation_runs_abandoned_requeue(*, wave_id: int | None = None) -> list[int]:
    """Mark runs whose worker died as failed and make their waves' requests pending again
    (not yet dispatched); returns those waves. Idempotent: a run is marked once, by one
    caller, and only that caller requeues its wave."""
    wave_ids = aggregation_runs_abandoned_fail(wave_id=wave_id)
    now = timezone.now()
    for abandoned_wave_id in wave_ids:
        PendingAggregation.objects.get_or_create(
            wave_id=abandoned_wave_id, defaults={"requested_at": now}
        )
        PendingAggregation.objects.filter(wave_id=abandoned_wave_id).update(dispatched_at=None)
    return wave_ids


def _request_dispatch(*, wave_id: int, countdown: float | None = None) -> bool:
    """Dispatch a new request, after redoing a run of the wave whose worker died."""
    if aggregation_runs_abandoned_requeue(wave_id=wave_id):
        countdown = 0  # the redo is late already: no debounce
    if countdown is None:
        return aggregation_dispatch(wave_id=wave_id)
    return aggregation_dispatch(wave_id=wave_id, countdown=countdown)


def aggregation_dispatch(*, wave_id: int, countdown: float | None = None) -> bool:
    """Publish ``aggregate_wave`` for a pending request unless one is already on its way.

    Returns True when a task was published. A request counts as on its way while its
    ``dispatched_at`` is younger than ``AGGREGATION_REDISPATCH_AFTER``; an older one is
    assumed lost (a purged queue, a broker that lost its data) and is published again.
    """
    from aggregation.tasks import aggregate_wave  # the task module imports the services

    now = timezone.now()
    stale = now - timedelta(seconds=settings.AGGREGATION_REDISPATCH_AFTER)
    claimed = (
        PendingAggregation.objects.filter(wave_id=wave_id)
        .filter(Q(dispatched_at__isnull=True) | Q(dispatched_at__lt=stale))
        .update(dispatched_at=now)
    )
    if not claimed:
        return False
    if countdown is None:
        countdown = settings.AGGREGATION_DEBOUNCE_SECONDS
    try:
        # A fresh connection from the current settings: a broker that is down fails here,
        # quickly, instead of in a pooled connection that retries for a long time.
        with app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT
            )
            aggregate_wave.apply_async(
                args=[wave_id], countdown=countdown, connection=connection, retry=False
            )
    except Exception as error:  # any broker failure: the request stays pending
        logger.warning(
            "Broker unreachable (%s); aggregation of wave %s stays pending.",
            type(error).__name__,
            wave_id,
        )
        PendingAggregation.objects.filter(wave_id=wave_id, dispatched_at=now).update(
            dispatched_at=None
        )
        return False
    return True


def aggregation_queue_now(*, wave_id: int) -> bool:
    """Request aggregation of a wave and publish it at once (admins, the command line)."""
    PendingAggregation.objects.update_or_create(
        wave_id=wave_id, defaults={"requested_at": timezone.now(), "dispatched_at": None}
    )
    return _request_dispatch(wave_id=wave_id, countdown=0)


def aggregation_sweep() -> int:
    """Redo runs whose worker died, then dispatch every pending request that is not on its
    way; returns how many were sent. Beat runs it every minute, each worker when it starts."""
    aggregation_runs_abandoned_requeue()
    wave_ids = list(PendingAggregation.objects.values_list("wave_id", flat=True))
    return sum(aggregation_dispatch(wave_id=wave_id, countdown=0) for wave_id in wave_ids)
