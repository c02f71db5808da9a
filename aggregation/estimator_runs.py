"""Each corrected estimator's result set for one wave: pure functions, no ORM.

An aggregation run stores the plain means (``engine``) and, beside them, one result set per
corrected estimator of ``aggregation.estimators``: its cells (estimate, 95 % interval, n), the
preset comparisons on its estimates (``estimator_comparisons``) and its fit diagnostics. A
wave without vignettes gives every corrected estimator the status "not applicable: no
vignettes"; an estimator that fails is recorded as failed with the error, and the other
result sets of the run are stored all the same.

The ordinal IRT runs here in its fast mode (posterior mode and Laplace approximation); its
full posterior (NUTS) is a background job (``aggregation.posterior``) that replaces the
result set's rows when it completes. Convergence: for NUTS the project's R-hat rule
(``estimators.diagnostics``: not converged when more than 5 % of the split R-hats exceed
1.01); for the fast mode whether the optimiser converged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aggregation import engine
from aggregation.estimator_comparisons import (
    ESTIMATOR_COMPARISON_COLUMNS,
    IrtBasis,
    ValueBasis,
    comparisons_of_values,
    irt_comparisons,
)
from aggregation.estimators import ESTIMATOR_VERSIONS, estimate
from aggregation.estimators.cells import ESTIMATE_COLUMNS, vignette_anchoring

logger = logging.getLogger(__name__)

CORRECTED_ESTIMATORS = ("aldrich_mckelvey", "ordinal_irt", "vignette_cscores")
NO_VIGNETTES = "not applicable: no vignettes"
RELIABILITY_RESOLUTION = 0.25
"""Corrected values are rounded to this before their reliability (``corrected_reliability``)."""


@dataclass(frozen=True)
class EstimatorOutcome:
    """One estimator's result set: status ``complete``, ``not_applicable`` or ``failed``."""

    estimator: str
    status: str
    note: str = ""
    mode: str = ""
    cells: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=ESTIMATE_COLUMNS))
    comparisons: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=ESTIMATOR_COMPARISON_COLUMNS)
    )
    reliability: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=engine.RELIABILITY_COLUMNS)
    )
    """Agreement per (panel, block) of the corrected values (``corrected_reliability``);
    empty for the IRT, whose experts' reliabilities are parameters of the model."""
    converged: bool | None = None
    rhat_share_above: float | None = None
    ess_bulk_min: float | None = None
    seconds: float | None = None
    diagnostics: dict = field(default_factory=dict)
    basis: ValueBasis | IrtBasis | None = field(default=None, repr=False, compare=False)
    """What the estimator compares on, for comparisons beyond the presets (the saved ones)."""

    @property
    def version(self) -> str:
        return ESTIMATOR_VERSIONS[self.estimator]


def not_applicable(estimators: Sequence[str] = CORRECTED_ESTIMATORS) -> list[EstimatorOutcome]:
    """The result sets of a wave without vignettes."""
    return [EstimatorOutcome(name, "not_applicable", NO_VIGNETTES) for name in estimators]


def estimator_outcomes(
    ratings: pd.DataFrame,
    *,
    vignettes: Sequence[str],
    home_panel: Mapping[str, str],
    estimators: Sequence[str] = CORRECTED_ESTIMATORS,
    seed: int = 0,
) -> list[EstimatorOutcome]:
    """The result set of each corrected estimator on one wave's ratings (the engine's
    frame), the IRT in its fast mode. Without vignettes every one is not applicable."""
    if not vignettes:
        return not_applicable(estimators)
    outcomes = []
    for name in estimators:
        started = time.perf_counter()
        try:
            if name == "ordinal_irt":
                outcome = irt_fast_outcome(ratings, vignettes, home_panel, seed=seed)
            else:
                outcome = _value_outcome(ratings, name, vignettes, home_panel)
        except Exception as error:  # recorded on the result set; the run goes on
            logger.exception("Estimator %s failed", name)
            outcome = EstimatorOutcome(name, "failed", f"{type(error).__name__}: {error}"[:2000])
        outcomes.append(_timed(outcome, time.perf_counter() - started))
    return outcomes


def _timed(outcome: EstimatorOutcome, seconds: float) -> EstimatorOutcome:
    if outcome.seconds is not None:
        return outcome
    return EstimatorOutcome(**{**outcome.__dict__, "seconds": round(seconds, 3)})


def _value_outcome(
    ratings: pd.DataFrame, name: str, vignettes: Sequence[str], home_panel: Mapping[str, str]
) -> EstimatorOutcome:
    """Aldrich–McKelvey or C-scores: cells from ``estimate``, comparisons on the rating-level
    corrected values."""
    cells = estimate(ratings, name, vignettes=vignettes)
    if name == "aldrich_mckelvey":
        from aggregation.estimators.scaling import aldrich_mckelvey_ratings

        rated, column = aldrich_mckelvey_ratings(ratings, vignettes).cells, "corrected"
    else:
        from aggregation.estimators.nonparametric import c_score_ratings

        rated, column = c_score_ratings(ratings, vignettes).cells, "c_score"
    details = _jsonable(cells.attrs.get("details", {}))
    return EstimatorOutcome(
        name,
        "complete",
        cells=with_cannot_judge(cells, ratings),
        comparisons=comparisons_of_values(rated, column, home_panel),
        reliability=corrected_reliability(ratings, rated, column),
        diagnostics=details,
        basis=ValueBasis(rated, column),
    )


def corrected_reliability(ratings: pd.DataFrame, rated: pd.DataFrame, column: str) -> pd.DataFrame:
    """Krippendorff's alpha and the ICCs per (panel, block) (``engine.reliability``) of the
    corrected values: ``rated`` (the substantive ratings an estimator could correct) with
    ``column`` as the value, and the blocks' cannot-judge answers as missing values, as
    for the plain means. Higher than the plain means' agreement when the experts disagreed
    in how they use the scale rather than in what they saw.

    The values are rounded to ``RELIABILITY_RESOLUTION`` (a quarter of a scale point) first:
    the coefficients' bootstrap costs grow with the square of the number of distinct values,
    which continuous corrected values make as large as the number of ratings (on the demo's
    size 9 s unrounded, 2.3 s rounded), and the rounding moves no coefficient or interval
    bound by more than 0.01 there (about 0.003 at a tenth of a point, at twice the cost)."""
    values = (rated[column] / RELIABILITY_RESOLUTION).round() * RELIABILITY_RESOLUTION
    corrected = rated.assign(value=values.to_numpy())
    blocks = set(rated["block"].astype(str))
    unable = ratings[engine.cannot_judge_mask(ratings) & ratings["block"].astype(str).isin(blocks)]
    frame = pd.concat(
        [corrected[engine.RATINGS_COLUMNS], unable[engine.RATINGS_COLUMNS]], ignore_index=True
    )
    for key in engine.CELL_KEYS:
        frame[key] = frame[key].astype(str)
    return engine.reliability(frame)


def with_cannot_judge(cells: pd.DataFrame, ratings: pd.DataFrame) -> pd.DataFrame:
    """``cells`` with ``n_cannot_judge``: the cell's cannot-judge answers, as the plain means
    count them (the pooled cell: all panels')."""
    unable = ratings[engine.cannot_judge_mask(ratings)]
    keys = [key for key in engine.CELL_KEYS if key != "panel"]
    per_panel = unable.groupby([*keys, "panel"], observed=True).size()
    pooled = unable.groupby(keys, observed=True).size()
    counts = {tuple(map(str, key)): int(n) for key, n in per_panel.items()}
    counts.update({(*map(str, key), engine.POOLED_PANEL): int(n) for key, n in pooled.items()})
    lookup = cells[[*keys, "panel"]].astype(str).itertuples(index=False, name=None)
    return cells.assign(n_cannot_judge=[counts.get(tuple(key), 0) for key in lookup])


def irt_fast_outcome(
    ratings: pd.DataFrame,
    vignettes: Sequence[str],
    home_panel: Mapping[str, str],
    *,
    seed: int = 0,
) -> EstimatorOutcome:
    """The ordinal IRT's fast mode: posterior mode with a Laplace approximation."""
    from aggregation.estimators import irt

    data = irt.irt_data(ratings, vignettes)
    return irt_outcome(data, irt.fit_fast(data, seed=seed), home_panel, ratings)


def irt_outcome(
    data, fit, home_panel: Mapping[str, str], ratings: pd.DataFrame
) -> EstimatorOutcome:
    """The result set of a fitted ordinal IRT (``irt.IrtFit``, fast or full) to ``data``,
    the ``ratings``' index arrays."""
    from aggregation.estimators import irt

    cells = irt.cells_from_fit(data, fit)
    units = data.units
    anchors = units["vignette"].to_numpy() if units["vignette"].any() else np.ones(len(units), bool)
    anchoring = vignette_anchoring(fit.mean[anchors], units["raw_mean"].to_numpy()[anchors])
    basis = IrtBasis(units, fit.mean, fit.covariance, fit.draws, anchoring)
    comparisons = irt_comparisons(
        units,
        mean=fit.mean,
        covariance=fit.covariance,
        draws=fit.draws,
        anchoring=anchoring,
        home_panel=home_panel,
    )
    details = _jsonable(cells.details)
    if fit.mode == "full":
        converged = bool(details.get("converged"))
        share = details.get("share_rhat_above_limit")
        ess = details.get("ess_bulk_min")
    else:
        converged = bool(details.get("optimizer_converged"))
        share = ess = None
    return EstimatorOutcome(
        "ordinal_irt",
        "complete",
        mode=fit.mode,
        cells=with_cannot_judge(cells.cells, ratings),
        comparisons=comparisons,
        converged=converged,
        rhat_share_above=share,
        ess_bulk_min=ess,
        seconds=round(fit.seconds, 3),
        diagnostics=details,
        basis=basis,
    )


def _jsonable(value):
    """``value`` with numpy scalars, NaN and frames made JSON-safe (NaN → None)."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, pd.DataFrame):
        return _jsonable(value.to_dict("records"))
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value
