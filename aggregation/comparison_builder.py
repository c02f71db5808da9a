"""Any two selectors compared role by role: the comparison builder's pure core.

No Django here. A ``SideSelector`` is an engine ``Selector`` plus the wave and the estimator
whose cells it reads. ``builder_compare`` compares two sides with the statistics of the
presets (``engine.preset_comparisons``): paired (``stats.paired_from_sums``) when the same
responses rated both sides, Welch from the cell summaries (``stats.welch_from_summaries``)
otherwise. Which one is decided from the data: the sides must sit in one wave and on one
panel, and the database must have found at least one response with a value on both sides
(``paired_sums``); a same-panel comparison whose sides no response shares falls back to
Welch. The presets are the same mechanism, so a builder comparison with a preset's
selectors gives the preset's numbers.

Estimators: ``ESTIMATORS`` lists the estimators a side may name. Only ``plain_means`` (the
cells of ``engine.cell_statistics``) exists so far; a corrected estimator plugs in by adding
its name here and having ``aggregation.saved_comparisons.cells_load`` read its cells.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from aggregation import engine

ESTIMATORS = (engine.ESTIMATOR_NAME,)
"""Estimators whose per-cell results a selector can read (plain means only, for now)."""


@dataclass(frozen=True)
class SideSelector:
    """One side of a builder comparison: wave, panel (None: all panels), holder, subject,
    perspective and estimator."""

    wave: str
    panel: str | None
    holder: str
    subject: str
    perspective: str
    estimator: str = engine.ESTIMATOR_NAME

    def __post_init__(self) -> None:
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator}")
        self.cube()  # checks the perspective

    def cube(self) -> engine.Selector:
        """The engine's selector (the slice of one wave's cube this side reads)."""
        return engine.Selector(self.panel, self.holder, self.subject, self.perspective)

    def panel_code(self) -> str:
        return engine.POOLED_PANEL if self.panel is None else self.panel


def pairable(left: SideSelector, right: SideSelector) -> bool:
    """Whether the same responses can have rated both sides: one wave, one panel (not
    pooled), one estimator. Whether they did is up to the data (``paired_sums``)."""
    return (
        left.wave == right.wave
        and left.estimator == right.estimator
        and engine.is_paired(left.cube(), right.cube())
    )


@dataclass(frozen=True)
class BuilderResult:
    """Two sides compared role by role (``roles``: ``engine.COMPARISON_ROLE_COLUMNS``)."""

    left: SideSelector
    right: SideSelector
    method: str
    roles: pd.DataFrame
    dominant_left: str | None
    dominant_right: str | None
    profile_distance: float


def builder_compare(
    left: SideSelector,
    right: SideSelector,
    *,
    left_cells: pd.DataFrame,
    right_cells: pd.DataFrame,
    paired_sums: pd.DataFrame | None,
) -> BuilderResult | None:
    """Compare two sides role by role; None when a side has no observed cell.

    ``left_cells``/``right_cells`` are stored cell statistics (columns ``panel``, ``holder``,
    ``subject``, ``perspective``, ``role``, ``n``, ``mean``, ``sd``, ``ci_low``, ``ci_high``;
    pooled panel ``"ALL"``) of each side's wave and estimator. ``paired_sums``
    (``engine.PAIRED_SUM_COLUMNS``) are the sums over the responses that rated both sides,
    None or empty when there are none: then the comparison is Welch.
    """
    left_side = engine.CellSides(left_cells).pick(left.cube())
    right_side = engine.CellSides(right_cells).pick(right.cube())
    if left_side is None or right_side is None:
        return None
    if pairable(left, right) and paired_sums is not None and not paired_sums.empty:
        roles = sorted(set(left_side.role).union(right_side.role), key=str)
        columns = engine.paired_columns(paired_sums, roles)
        method = "paired"
    else:
        columns = engine.welch_from_cells(left_side, right_side)
        method = "welch"
    return BuilderResult(
        left=left,
        right=right,
        method=method,
        roles=pd.DataFrame(columns, columns=engine.COMPARISON_ROLE_COLUMNS),
        **engine.profile_summary(columns),
    )


def builder_rows(result: BuilderResult, *, header: Mapping[str, object]) -> pd.DataFrame:
    """The result as rows of ``engine.PRESET_COMPARISON_COLUMNS`` (plus ``header``'s extra
    columns), the shape in which the presets are stored."""
    sides = {
        **engine.selector_columns("left", result.left.cube()),
        **engine.selector_columns("right", result.right.cube()),
    }
    summary = {
        "dominant_left": result.dominant_left,
        "dominant_right": result.dominant_right,
        "profile_distance": result.profile_distance,
    }
    rows = result.roles.assign(**{**header, **sides, **summary})
    extra = [name for name in header if name not in engine.PRESET_COMPARISON_COLUMNS]
    return rows[[*engine.PRESET_COMPARISON_COLUMNS, *extra]]


def gap_change(
    diff_t: float, se_t: float, df_t: float, diff_prev: float, se_prev: float, df_prev: float
) -> tuple[float, float, float]:
    """The change of a difference between two waves with its 95 % interval.

    The waves' experts answer independently (pseudonyms are per response), so with the
    differences d_t, d_prev and their standard errors: change = d_t − d_prev,
    se = √(se_t² + se_prev²), df by Welch–Satterthwaite, se⁴ / (se_t⁴/df_t + se_prev⁴/df_prev)
    (Satterthwaite 1946, Biometrics Bulletin 2, 110–114), interval change ± t_{0.975, df} · se.
    Returns (change, low, high); NaN where an input is missing.
    """
    values = np.array([diff_t, se_t, df_t, diff_prev, se_prev, df_prev], dtype=float)
    change = values[0] - values[3]
    if np.isnan(values).any() or values[1] <= 0 or values[4] <= 0:
        return float(change), np.nan, np.nan
    se = float(np.hypot(se_t, se_prev))
    df = se**4 / (se_t**4 / df_t + se_prev**4 / df_prev)
    half = float(sps.t.ppf(0.975, df)) * se
    return float(change), float(change - half), float(change + half)
