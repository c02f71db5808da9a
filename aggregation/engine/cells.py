"""Cell statistics: value counts per item and panel, and each cell's statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats as sps

from aggregation.engine.columns import (
    CELL_COLUMNS,
    CELL_KEYS,
    COUNT_COLUMNS,
    COUNT_KEYS,
    MISSING_CONFIDENCE_WEIGHT,
    POOLED_PANEL,
    cannot_judge_mask,
    observed_values,
    validate_ratings,
)


def value_counts(ratings: pd.DataFrame) -> pd.DataFrame:
    """The ratings reduced to value counts per item and panel (columns ``COUNT_COLUMNS``).

    One row per (wave, panel, block, holder, subject, perspective, role, value) with
    ``count`` ratings and ``weight_sum``, the sum of their confidence weights (a missing
    confidence weighs ``MISSING_CONFIDENCE_WEIGHT``). Cannot-judge ratings are counted under
    ``value`` NaN; skipped items (NaN without the flag) are left out. The database computes
    the same table with one ``GROUP BY`` (``loaders.counts_load``), so a wave's cells,
    Welch comparisons and reliability never need its ratings row by row.
    """
    validate_ratings(ratings)
    values = observed_values(ratings)
    keep = (values.notna() | cannot_judge_mask(ratings)).to_numpy()
    weights = pd.to_numeric(ratings["confidence"], errors="coerce").astype(float)
    frame = ratings.loc[keep, [*COUNT_KEYS, "scale_points"]].assign(
        value=values.to_numpy()[keep],
        weight=weights.fillna(MISSING_CONFIDENCE_WEIGHT).to_numpy()[keep],
    )
    counts = (
        frame.groupby([*COUNT_KEYS, "scale_points", "value"], dropna=False, observed=True)
        .agg(count=("weight", "size"), weight_sum=("weight", "sum"))
        .reset_index()
    )
    for key in COUNT_KEYS:  # plain values, as the loader sends them
        if isinstance(counts[key].dtype, pd.CategoricalDtype):
            counts[key] = counts[key].astype(counts[key].cat.categories.dtype)
    return counts[COUNT_COLUMNS]


def _describe_counts(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per-group statistics of value counts, grouped by ``keys`` (vectorised, no loop).

    With c the count of value x in a group: n = Σc, mean = Σcx / n, SD² = Σc(x − mean)² /
    (n − 1); the median is the middle of the group's values sorted with their counts
    (the mean of the two middle ones for even n); the weighted mean Σwx / Σw with w the
    summed confidence weights of value x.
    """
    grouped = counts.groupby(keys, observed=True, sort=True)
    group = grouped.ngroup().to_numpy()
    table = grouped.size().index.to_frame(index=False)
    size = len(table)

    value = counts["value"].to_numpy(dtype=float)
    count = counts["count"].to_numpy(dtype=float)
    observed = ~np.isnan(value)
    x = np.where(observed, value, 0.0)
    c = np.where(observed, count, 0.0)
    w = np.where(observed, counts["weight_sum"].to_numpy(dtype=float), 0.0)

    n = np.bincount(group, weights=c, minlength=size)
    n_cannot_judge = np.bincount(group, weights=count - c, minlength=size)
    with np.errstate(all="ignore"):
        mean = np.bincount(group, weights=c * x, minlength=size) / n
        squares = np.bincount(group, weights=c * (x - mean[group]) ** 2, minlength=size)
        enough = n >= 2
        sd = np.where(enough, np.sqrt(squares / (n - 1)), np.nan)
        se = sd / np.sqrt(n)
        # No interval without spread, as in stats.mean_ci.
        t = sps.t.ppf(0.975, np.where(enough & (sd > 0), n - 1, np.nan))
        weight_sum = np.bincount(group, weights=w, minlength=size)
        weighted_mean = np.where(
            weight_sum > 0, np.bincount(group, weights=w * x, minlength=size) / weight_sum, np.nan
        )
        scale = np.full(size, np.nan)
        np.fmax.at(scale, group, counts["scale_points"].to_numpy(dtype=float))
        null_variance = np.where(scale >= 2, (scale**2 - 1) / 12, np.nan)
        rwg_raw = 1 - sd**2 / null_variance

    table["n"] = n.astype(int)
    table["n_cannot_judge"] = n_cannot_judge.astype(int)
    table["mean"] = np.where(n > 0, mean, np.nan)
    table["median"] = _medians_from_counts(group[observed], x[observed], c[observed], n)
    table["sd"] = sd
    table["se"] = se
    table["ci_low"] = mean - t * se
    table["ci_high"] = mean + t * se
    table["weighted_mean"] = weighted_mean
    table["rwg"] = np.clip(rwg_raw, 0.0, None)
    table["rwg_raw"] = rwg_raw
    table["rwg_truncated"] = rwg_raw < 0
    return table


def _medians_from_counts(
    group: NDArray[np.int64], value: NDArray[np.float64], count: NDArray[np.float64], n
) -> NDArray[np.float64]:
    """Each group's median from its (value, count) rows: the values at the 0-based sorted
    positions ⌊(n − 1)/2⌋ and ⌊n/2⌋ of the group, averaged (NaN for an empty group)."""
    order = np.lexsort((value, group))
    cumulative = np.cumsum(count[order])
    start = np.concatenate([[0.0], np.cumsum(n)[:-1]])
    has_values = n > 0
    lower = start + np.floor((n - 1) / 2)
    upper = start + np.floor(n / 2)
    sorted_values = value[order]
    medians = np.full(n.size, np.nan)
    if sorted_values.size:
        last = sorted_values.size - 1
        at_lower = np.minimum(np.searchsorted(cumulative, lower, side="right"), last)
        at_upper = np.minimum(np.searchsorted(cumulative, upper, side="right"), last)
        medians = np.where(
            has_values, (sorted_values[at_lower] + sorted_values[at_upper]) / 2, np.nan
        )
    return medians


def cell_statistics(ratings: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics per cell of the cube: ``cell_statistics_from_counts`` of the
    ratings' ``value_counts``."""
    validate_ratings(ratings)
    return cell_statistics_from_counts(value_counts(ratings))


def cell_statistics_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics per cell of the cube, per panel and pooled, from value counts.

    ``counts`` has the columns ``COUNT_COLUMNS`` (``value_counts`` or the loader). One row
    per (wave, panel, holder, subject, perspective, role) and one more per
    (wave, holder, subject, perspective, role) with ``panel = "ALL"`` pooling all panels.
    Columns ``CELL_COLUMNS``: the keys, then

    * ``n``: non-missing ratings; ``n_cannot_judge``: ratings flagged cannot judge;
    * ``mean``, ``median``, ``sd`` (ddof = 1), ``se`` = sd / √n,
      ``ci_low``/``ci_high``: 95 % Student-t interval (NaN when n < 2 or sd = 0);
    * ``weighted_mean``: confidence-weighted mean, weight = the 1-5 confidence, a missing
      confidence weighing ``MISSING_CONFIDENCE_WEIGHT`` (3, the midpoint);
    * ``rwg_raw``: James, Demaree & Wolf (1984) 1 − s²/σ²_EU with σ²_EU = (A² − 1)/12 from
      the cell's ``scale_points``, negative when the experts disagree more than random
      answers would; ``rwg`` the same truncated at 0 as James et al. recommend (see
      ``stats.rwg``), and ``rwg_truncated`` whether it was; NaN (and False) when n < 2.

    Rows are sorted by the keys.
    """
    if counts.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    if counts[CELL_KEYS].isna().any().any():
        raise ValueError(f"ratings have missing values in the key columns {CELL_KEYS}")
    per_panel = _describe_counts(counts, CELL_KEYS)
    pooled = _describe_counts(counts, [key for key in CELL_KEYS if key != "panel"])
    pooled.insert(1, "panel", POOLED_PANEL)
    table = pd.concat([per_panel, pooled], ignore_index=True)[CELL_COLUMNS]
    return table.sort_values(CELL_KEYS, ignore_index=True)
