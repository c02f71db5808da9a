"""Reads of stored aggregation results. Readers only ever see complete runs."""

from aggregation.models import AggregationRun
from surveys.models import Wave


def run_latest_complete(*, wave: Wave) -> AggregationRun | None:
    """The newest complete run of a wave; failed and running runs are never returned."""
    return (
        AggregationRun.objects.filter(wave=wave, status=AggregationRun.Status.COMPLETE)
        .order_by("-finished_at", "-pk")
        .first()
    )
