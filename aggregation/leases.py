"""Leases of running aggregation runs: how a run whose worker died is told from a slow one.

A run is created ``running`` with ``lease_expires_at`` ``AGGREGATION_LEASE_SECONDS`` ahead.
While it loads, computes and stores, a background thread of the worker pushes the lease
forward every ``AGGREGATION_LEASE_RENEW_SECONDS``. A worker that is killed (SIGKILL, out of
memory, a lost machine) renews nothing, so its run's lease runs out; the sweep
(``aggregation.scheduling.aggregation_sweep``: beat every minute, every starting worker, every
new request of the wave) then marks the run failed and requests the wave's aggregation again.

A process that hangs keeps its thread alive, so renewal also stops once the run is older than
the task time limit (``CELERY_TASK_TIME_LIMIT``): such a run is given up like a dead one.
"""

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, connections
from django.utils import timezone

from aggregation.models import AggregationRun

logger = logging.getLogger(__name__)


def lease_expiry(*, now: datetime) -> datetime:
    """When a lease taken or renewed at ``now`` runs out."""
    return now + timedelta(seconds=settings.AGGREGATION_LEASE_SECONDS)


def lease_renew(*, run_id: int) -> bool:
    """Push the lease of a running run forward; False when the run is no longer running
    (complete, failed, or given up by the sweep)."""
    now = timezone.now()
    return bool(
        AggregationRun.objects.filter(pk=run_id, status=AggregationRun.Status.RUNNING).update(
            lease_expires_at=lease_expiry(now=now)
        )
    )


def _renew_until_stopped(run_id: int, stop: threading.Event, give_up_at: datetime) -> None:
    try:
        while not stop.wait(settings.AGGREGATION_LEASE_RENEW_SECONDS):
            if timezone.now() >= give_up_at:
                logger.warning(
                    "Run %s passed the task time limit; its lease is left to expire.", run_id
                )
                return
            try:
                if not lease_renew(run_id=run_id):
                    return
            except DatabaseError as error:  # the next renewal may succeed before the lease ends
                logger.warning("Lease of run %s not renewed (%s).", run_id, type(error).__name__)
    finally:
        connections.close_all()  # this thread's own connections


@contextmanager
def lease_kept(*, run_id: int, started_at: datetime) -> Iterator[None]:
    """Renew the run's lease from a background thread until the block ends.

    The thread has its own database connection and writes nothing but the lease, and only
    while the run is ``running``; it never waits on the block's work.
    """
    stop = threading.Event()
    give_up_at = started_at + timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    thread = threading.Thread(
        target=_renew_until_stopped,
        args=(run_id, stop, give_up_at),
        name=f"aggregation-lease-{run_id}",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=settings.AGGREGATION_LEASE_RENEW_SECONDS)
