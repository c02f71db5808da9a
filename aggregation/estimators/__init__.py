"""DIF-corrected estimators beside the plain means: pure functions, no ORM.

Experts in different capitals use the 0–10 scale differently (differential item functioning),
so a difference between two panels' raw means mixes what they perceive with how they use the
scale. Every panel also rates the same vignettes (hypothetical actors, actor kind
``vignette``, perspective ``performance``); the corrected estimators read each expert's scale
use off those ratings. One entry point, ``estimate``; the methods are in ``docs/methods.md``:

- ``plain_means``: the engine's cell means and 95 % t intervals, unchanged
  (``engine.cell_statistics``).
- ``aldrich_mckelvey``: each expert's ratings mapped to a common scale by the intercept and
  weight of their vignette placements (``scaling``, ``vignettes.aldrich_mckelvey``).
- ``ordinal_irt``: the V-Dem ordered-probit model with expert thresholds and reliability,
  vignettes as bridging cases (``irt``; NumPyro). The fast mode (posterior mode with a Laplace
  approximation) unless ``full_posterior=True`` (NUTS).
- ``vignette_cscores``: each rating's King–Wand C-score among the same expert's vignette
  ratings of that role, averaged per cell (``nonparametric``); on the scale 1 … 2J + 1.

Aldrich–McKelvey and IRT estimates are on the vignette-anchored scale
(``cells.vignette_anchoring``): read them like 0–10 ratings of an average expert, and compare
them within one estimator.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence

if "jax" not in sys.modules:
    # Before JAX is first imported (by ``irt_model``, through this package): one XLA CPU
    # device per core, at most 4, so that the IRT's NUTS chains run in parallel.
    os.environ.setdefault(
        "XLA_FLAGS", f"--xla_force_host_platform_device_count={min(os.cpu_count() or 1, 4)}"
    )

import pandas as pd

from aggregation import engine
from aggregation.engine import CELL_KEYS, POOLED_PANEL, RATINGS_COLUMNS
from aggregation.estimators.cells import ESTIMATE_COLUMNS, is_vignette

ESTIMATORS = ("plain_means", "aldrich_mckelvey", "ordinal_irt", "vignette_cscores")
ESTIMATOR_VERSIONS = {
    "plain_means": engine.ESTIMATOR_VERSION,
    "aldrich_mckelvey": "1.0",
    "ordinal_irt": "1.0",
    "vignette_cscores": "1.0",
}

__all__ = ["ESTIMATE_COLUMNS", "ESTIMATORS", "ESTIMATOR_VERSIONS", "estimate"]


def estimate(
    ratings: pd.DataFrame,
    estimator: str,
    *,
    vignettes: Sequence[str] = (),
    seed: int = 0,
    full_posterior: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> pd.DataFrame:
    """Per-cell estimates of one estimator.

    ``ratings`` is the engine's frame (``engine.RATINGS_COLUMNS``); ``vignettes`` the codes
    of the vignette subjects. Returns one row per non-vignette cell, per panel and pooled
    (``panel = "ALL"``), with the ``CELL_KEYS`` columns and ``n`` (ratings with a value),
    ``estimate``, ``ci_low``, ``ci_high`` (95 %; for the IRT a Laplace or posterior
    interval), sorted by the keys; a higher estimate means the role is held more strongly.
    ``frame.attrs["details"]`` holds what the estimator reports (unidentified experts,
    convergence diagnostics, ...), ``frame.attrs["estimator"]`` and ``["version"]`` name it.
    ``seed``, ``full_posterior`` and ``progress`` (``progress(phase, done, total)``) concern
    the ordinal IRT only.
    """
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator must be one of {ESTIMATORS}, got {estimator!r}")
    missing = [column for column in RATINGS_COLUMNS if column not in ratings.columns]
    if missing:
        raise ValueError(f"ratings frame lacks columns {missing}")
    substantive = ratings.loc[~is_vignette(ratings, vignettes).to_numpy()]
    details: dict[str, object] = {}
    if estimator == "plain_means":
        table = engine.cell_statistics(substantive).rename(columns={"mean": "estimate"})
    elif estimator == "aldrich_mckelvey":
        from aggregation.estimators.scaling import aldrich_mckelvey_cells

        result = aldrich_mckelvey_cells(ratings, vignettes)
        table, details = result.cells, result.details
    elif estimator == "vignette_cscores":
        from aggregation.estimators.nonparametric import c_score_cells

        result = c_score_cells(ratings, vignettes)
        table, details = result.cells, result.details
    else:
        from aggregation.estimators.irt import ordinal_irt_cells

        result = ordinal_irt_cells(
            ratings, vignettes, seed=seed, full_posterior=full_posterior, progress=progress
        )
        table, details = result.cells, result.details
    frame = _on_every_cell(substantive, table)
    frame.attrs.update(estimator=estimator, version=ESTIMATOR_VERSIONS[estimator], details=details)
    return frame


def _on_every_cell(ratings: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """``table`` on every cell the ratings have (cannot-judge-only cells included, as in the
    engine), per panel and pooled; n = 0 and NaN estimates where the estimator has none."""
    keys = ratings[CELL_KEYS].astype(str).drop_duplicates()
    pooled = keys.assign(panel=POOLED_PANEL).drop_duplicates()
    skeleton = pd.concat([keys, pooled], ignore_index=True)
    values = table[ESTIMATE_COLUMNS].copy()
    values[CELL_KEYS] = values[CELL_KEYS].astype(str)
    frame = skeleton.merge(values, on=CELL_KEYS, how="left")
    frame["n"] = frame["n"].fillna(0).astype(int)
    return frame.sort_values(CELL_KEYS, ignore_index=True)[ESTIMATE_COLUMNS]
