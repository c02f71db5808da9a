"""Computing and storing the corrected estimators' result sets of an aggregation run.

``estimator_outcomes_compute`` loads the ratings a run counted (only when the wave has
vignettes) and runs ``estimator_runs``; ``estimator_results_store`` writes one
``EstimatorResult`` per estimator (the plain means included) and the corrected estimators'
cells and comparisons as result rows tagged with their estimator (the saved comparisons too,
``saved_corrected``), inside the run's own transaction.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from django.conf import settings

from aggregation import engine
from aggregation.estimator_runs import (
    CORRECTED_ESTIMATORS,
    EstimatorOutcome,
    estimator_outcomes,
    not_applicable,
)
from aggregation.loaders import ratings_frame
from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    EstimatorResult,
    ReliabilityResult,
)
from aggregation.snapshots import SnapshotChangedError, run_input_load
from surveys.vignette_selectors import vignette_subject_codes


def corrected_estimators() -> Sequence[str]:
    """The corrected estimators every run computes (setting
    ``AGGREGATION_CORRECTED_ESTIMATORS``; by default all of them)."""
    return tuple(getattr(settings, "AGGREGATION_CORRECTED_ESTIMATORS", CORRECTED_ESTIMATORS))


def estimator_outcomes_compute(
    *, run: AggregationRun, homes: dict[str, str]
) -> list[EstimatorOutcome]:
    """The corrected estimators' result sets of a run (IRT in fast mode), on exactly the
    ratings the run counted (``snapshots.run_input_load``); without vignettes, "not
    applicable" without loading a rating. If those ratings changed while the run ran, every
    corrected estimator is recorded as failed with that reason (the change schedules the next
    run, which computes them)."""
    estimators = corrected_estimators()
    wave = run.wave
    vignettes = vignette_subject_codes(wave_id=wave.pk)
    if not vignettes:
        return not_applicable(estimators)
    try:
        ratings = run_input_load(
            run,
            lambda response_ids: ratings_frame(
                wave_id=wave.pk, wave_slug=wave.slug, response_ids=response_ids
            ),
        )
    except SnapshotChangedError:
        return [EstimatorOutcome(name, "failed", RATINGS_CHANGED) for name in estimators]
    return estimator_outcomes(ratings, vignettes=vignettes, home_panel=homes, estimators=estimators)


RATINGS_CHANGED = (
    "the ratings changed while the run computed its plain means; the next run computes this "
    "estimator"
)


CELL_FIELDS = [
    "run_id",
    "panel_id",
    "holder_id",
    "subject_id",
    "perspective",
    "role_id",
    "n",
    "n_cannot_judge",
    "rwg_truncated",
    "mean",
    "ci_low",
    "ci_high",
    "estimator",
    "estimator_version",
]


def _number(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _cell_rows(run: AggregationRun, outcome: EstimatorOutcome, codes) -> list[tuple]:
    panels = {**codes.panels, engine.POOLED_PANEL: None}
    return [
        (
            run.pk,
            panels[str(row.panel)],
            codes.actors[str(row.holder)],
            codes.actors[str(row.subject)],
            str(row.perspective),
            codes.roles[str(row.role)],
            int(row.n),
            int(getattr(row, "n_cannot_judge", 0)),
            False,
            _number(row.estimate),
            _number(row.ci_low),
            _number(row.ci_high),
            outcome.estimator,
            outcome.version,
        )
        for row in outcome.cells.itertuples(index=False)
        if str(row.panel) in panels
    ]


def _result_row(run: AggregationRun, outcome: EstimatorOutcome) -> EstimatorResult:
    return EstimatorResult(
        run=run,
        estimator=outcome.estimator,
        estimator_version=outcome.version,
        status=outcome.status,
        note=outcome.note,
        mode=outcome.mode,
        converged=outcome.converged,
        rhat_share_above=outcome.rhat_share_above,
        ess_bulk_min=outcome.ess_bulk_min,
        seconds=outcome.seconds,
        diagnostics=outcome.diagnostics,
    )


def estimator_rows_store(run: AggregationRun, outcome: EstimatorOutcome, codes=None) -> None:
    """Insert an outcome's cells, preset comparisons and saved comparisons
    (``saved_corrected``) as the run's rows of its estimator."""
    from aggregation.result_rows import (
        COMPARISON_FIELDS,
        RELIABILITY_FIELDS,
        CodeMaps,
        comparison_rows,
        reliability_rows,
        rows_insert,
    )
    from aggregation.saved_corrected import saved_corrected_store

    codes = codes or CodeMaps.load()
    rows_insert(CellResult, CELL_FIELDS, _cell_rows(run, outcome, codes))
    reliability = reliability_rows(
        run, outcome.reliability, codes, estimator=outcome.estimator, version=outcome.version
    )
    rows_insert(ReliabilityResult, RELIABILITY_FIELDS, reliability)
    comparisons = outcome.comparisons
    if not comparisons.empty:
        rows = comparison_rows(
            run, comparisons, codes, estimator=outcome.estimator, version=outcome.version
        )
        rows_insert(ComparisonResult, COMPARISON_FIELDS, rows)
    saved_corrected_store(run, outcome, codes)


def estimator_results_store(run: AggregationRun, *, outcomes: list[EstimatorOutcome]) -> None:
    """One result set per estimator for the run: the plain means (whose rows the run
    stores itself) and each corrected outcome with its rows. Call inside the run's
    transaction."""
    from aggregation.result_rows import CodeMaps

    codes = CodeMaps.load()
    plain = EstimatorResult(
        run=run,
        estimator=engine.ESTIMATOR_NAME,
        estimator_version=engine.ESTIMATOR_VERSION,
        status=EstimatorResult.Status.COMPLETE,
    )
    EstimatorResult.objects.bulk_create([plain, *(_result_row(run, o) for o in outcomes)])
    for outcome in outcomes:
        if outcome.status == EstimatorResult.Status.COMPLETE:
            estimator_rows_store(run, outcome, codes)


def estimator_result_replace(run: AggregationRun, outcome: EstimatorOutcome) -> None:
    """Replace an estimator's result set and rows in a run (the full posterior's results
    over the fast mode's). Call inside a transaction."""
    CellResult.objects.filter(run=run, estimator=outcome.estimator).delete()
    ComparisonResult.objects.filter(run=run, estimator=outcome.estimator).delete()
    ReliabilityResult.objects.filter(run=run, estimator=outcome.estimator).delete()
    EstimatorResult.objects.filter(run=run, estimator=outcome.estimator).delete()
    _result_row(run, outcome).save()
    estimator_rows_store(run, outcome)
