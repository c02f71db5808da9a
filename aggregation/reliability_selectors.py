"""Reads of stored reliability results (the reliability report)."""

from dataclasses import dataclass

from aggregation.engine import ESTIMATOR_NAME
from aggregation.models import ReliabilityResult


@dataclass(frozen=True)
class StoredReliability:
    """Reliability of one panel on one block in a run, with its bootstrap intervals; numbers
    are None where the coefficient is undefined."""

    panel: str
    block: int
    holder: str
    subject: str
    perspective: str
    n_raters: int
    n_units: int
    alpha_interval: float | None
    alpha_interval_ci_low: float | None
    alpha_interval_ci_high: float | None
    alpha_ordinal: float | None
    alpha_ordinal_ci_low: float | None
    alpha_ordinal_ci_high: float | None
    icc1: float | None
    icc1_ci_low: float | None
    icc1_ci_high: float | None
    icc1k: float | None
    icc1k_ci_low: float | None
    icc1k_ci_high: float | None


def reliability_stored(*, run_id: int, estimator: str = ESTIMATOR_NAME) -> list[StoredReliability]:
    """The reliability rows of a run's result set of ``estimator`` (one query), by block
    order, then panel."""
    names = [
        name
        for name in StoredReliability.__dataclass_fields__
        if name not in {"panel", "block", "holder", "subject", "perspective"}
    ]
    rows = (
        ReliabilityResult.objects.filter(run_id=run_id, estimator=estimator)
        .order_by("block__order", "panel__code")
        .values_list(
            "panel__code",
            "block__order",
            "block__holder__code",
            "block__subject__code",
            "block__perspective",
            *names,
        )
    )
    return [StoredReliability(*row) for row in rows]
