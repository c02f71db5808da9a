"""The release's tables of the corrected estimators: one row per result set of the run
(``estimators``), and each complete corrected result set's cells, comparisons and, where the
estimator has corrected values, reliability (``cells_<estimator>`` and so on)."""

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from aggregation.engine import ESTIMATOR_NAME
from aggregation.exports import WAVE, ExportSource, Variable, export_source
from aggregation.models import AggregationRun, EstimatorResult, ReliabilityResult
from surveys.models import Wave

ESTIMATOR_VARIABLES = [
    WAVE,
    Variable("estimator", "Estimator of the result set", "string"),
    Variable("estimator_version", "Version of the estimator", "string"),
    Variable("status", "complete, not_applicable or failed", "string"),
    Variable("note", "Why not applicable, or the error", "string"),
    Variable("mode", "IRT: fast (mode + Laplace) or full (NUTS posterior)", "string"),
    Variable(
        "converged",
        "1 converged, 0 not; empty where not judged",
        "integer",
        nullable=True,
        note="NUTS: not converged when more than 5% of the split R-hats exceed 1.01; the "
        "fast mode: whether the optimiser converged.",
    ),
    Variable("rhat_share_above", "Share of split R-hats above 1.01", "float", nullable=True),
    Variable("ess_bulk_min", "Smallest bulk effective sample size", "float", nullable=True),
    Variable("seconds", "Seconds the fit took", "float", nullable=True),
]

TABLE_DESCRIPTIONS = {
    "estimators": "one row per estimator's result set: version, status, convergence",
    "cells": "cell estimates of the corrected estimator {estimator}: n, estimate, 95% interval",
    "comparisons": "the named comparisons on the estimates of {estimator}",
    "reliability": "alpha and ICC per panel and block of the ratings as {estimator} corrects them",
}


def estimators_frame(run: AggregationRun) -> pd.DataFrame:
    rows = (
        EstimatorResult.objects.filter(run=run)
        .order_by("estimator")
        .values(*[variable.name for variable in ESTIMATOR_VARIABLES[1:]])
    )
    frame = pd.DataFrame.from_records(list(rows), columns=[v.name for v in ESTIMATOR_VARIABLES[1:]])
    frame["converged"] = frame["converged"].map({True: 1, False: 0})
    frame.insert(0, "wave", run.wave.slug)
    return frame


def corrected_table_description(table: str) -> str:
    """The README's line for a table of this module ('' for any other)."""
    if table in TABLE_DESCRIPTIONS:
        return TABLE_DESCRIPTIONS[table]
    kind, _, estimator = table.partition("_")
    return TABLE_DESCRIPTIONS.get(kind, "").format(estimator=estimator) if estimator else ""


def corrected_sources(
    *,
    wave: Wave,
    run: AggregationRun,
    made: Callable[..., ExportSource],
    reliability_source: Callable[[str], ExportSource],
) -> dict[str, ExportSource]:
    """The ``estimators`` table (through ``made``, the release's frame source), then for each
    complete corrected result set of the run its cells and comparisons (the exports' sources
    for that estimator) and its reliability where the run stored any (``reliability_source``)."""
    sources = {"estimators": made("estimators", ESTIMATOR_VARIABLES, lambda: estimators_frame(run))}
    complete = (
        EstimatorResult.objects.filter(run=run, status=EstimatorResult.Status.COMPLETE)
        .exclude(estimator=ESTIMATOR_NAME)
        .order_by("estimator")
        .values_list("estimator", flat=True)
    )
    with_reliability = set(
        ReliabilityResult.objects.filter(run=run).values_list("estimator", flat=True).distinct()
    )
    for estimator in complete:
        for table in ("cells", "comparisons"):
            source = export_source(wave=wave, table=table, run_id=run.pk, estimator=estimator)
            sources[f"{table}_{estimator}"] = replace(source, table=f"{table}_{estimator}")
        if estimator in with_reliability:
            sources[f"reliability_{estimator}"] = reliability_source(estimator)
    return sources
