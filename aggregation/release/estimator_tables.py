"""The release's tables of the corrected estimators: one row per result set of the run
(``estimators``), and each complete corrected result set's cells, comparisons and, where the
estimator has corrected values, reliability (``cells_<estimator>`` and so on)."""

from collections.abc import Callable
from dataclasses import replace

import pandas as pd

from aggregation.engine import ESTIMATOR_NAME
from aggregation.exports import WAVE, ExportSource, Variable, export_source
from aggregation.models import AggregationRun, EstimatorResult, ReliabilityResult
from aggregation.selectors import EstimatorSummary, estimator_summaries
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


def result_set_records(run: AggregationRun) -> list[dict]:
    """One record per result set of the run (``selectors.estimator_summaries``), by
    estimator; a run stored before result sets per estimator has its plain means only."""
    summaries = estimator_summaries(run_id=run.pk) or {
        run.estimator_name: EstimatorSummary(
            run.estimator_name,
            run.estimator_version,
            EstimatorResult.Status.COMPLETE,
            note="",
            mode="",
            converged=None,
            rhat_share_above=None,
            ess_bulk_min=None,
            unidentified_experts=0,
        )
    }
    return [
        {
            "estimator": summary.estimator,
            "estimator_version": summary.version,
            "status": summary.status,
            "note": summary.note,
            "mode": summary.mode,
            "converged": summary.converged,
            "rhat_share_above": summary.rhat_share_above,
            "ess_bulk_min": summary.ess_bulk_min,
        }
        for _, summary in sorted(summaries.items())
    ]


def estimators_frame(run: AggregationRun, records: list[dict]) -> pd.DataFrame:
    """The ``estimators`` table of ``result_set_records``, with the fits' seconds."""
    seconds = dict(EstimatorResult.objects.filter(run=run).values_list("estimator", "seconds"))
    frame = pd.DataFrame.from_records(records)
    frame["converged"] = frame["converged"].map({True: 1, False: 0})
    frame["seconds"] = frame["estimator"].map(seconds)
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
    records = result_set_records(run)
    sources = {
        "estimators": made(
            "estimators", ESTIMATOR_VARIABLES, lambda: estimators_frame(run, records)
        )
    }
    complete = [
        record["estimator"]
        for record in records
        if record["status"] == EstimatorResult.Status.COMPLETE
        and record["estimator"] != ESTIMATOR_NAME
    ]
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
