"""Scheduling aggregation without ever losing or blocking a submission.

``aggregation_schedule`` is called inside the transaction that stores ratings. It writes a
durable ``PendingAggregation`` row and, once the transaction commits, publishes the
``aggregate_wave`` task with a short countdown. Many submissions inside that window publish
one task, not one each. When the broker is down the publish fails fast, is logged, and the
request stays pending: the periodic sweep and every starting worker dispatch it later.
"""

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from aggregation.models import PendingAggregation
from project.celery import app

logger = logging.getLogger(__name__)


def aggregation_schedule(*, wave_id: int) -> None:
    """Record that ``wave_id`` needs aggregating and publish the task after commit."""
    PendingAggregation.objects.update_or_create(
        wave_id=wave_id, defaults={"requested_at": timezone.now()}
    )
    transaction.on_commit(lambda: aggregation_dispatch(wave_id=wave_id))


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
    return aggregation_dispatch(wave_id=wave_id, countdown=0)


def aggregation_sweep() -> int:
    """Dispatch every pending request that is not on its way; returns how many were sent."""
    wave_ids = list(PendingAggregation.objects.values_list("wave_id", flat=True))
    return sum(aggregation_dispatch(wave_id=wave_id, countdown=0) for wave_id in wave_ids)
