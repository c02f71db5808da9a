"""What the estimators share: the output frame, the vignette split, per-cell means of
transformed ratings and the map of a common scale onto the raw 0–10 scale of the vignettes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aggregation import stats
from aggregation.engine import CELL_KEYS, POOLED_PANEL

ESTIMATE_COLUMNS = [*CELL_KEYS, "n", "estimate", "ci_low", "ci_high"]
EXPERT_KEYS = ["wave", "panel", "respondent"]


@dataclass(frozen=True)
class Estimates:
    """Per-cell estimates (``cells.ESTIMATE_COLUMNS``) and what the estimator reports."""

    cells: pd.DataFrame = field(repr=False)
    details: dict[str, object]


def observed(ratings: pd.DataFrame) -> pd.DataFrame:
    """The ratings with a value (cannot-judge and skipped ones dropped), ``value`` as float and
    the key columns as plain strings."""
    values = pd.to_numeric(ratings["value"], errors="coerce").astype(float)
    keep = values.notna() & ~ratings["cannot_judge"].fillna(False).astype(bool)
    frame = ratings.loc[keep].copy()
    frame["value"] = values[keep].to_numpy()
    for column in [*CELL_KEYS, "respondent"]:
        frame[column] = frame[column].astype(str)
    return frame


def is_vignette(frame: pd.DataFrame, vignettes: Sequence[str]) -> pd.Series:
    """Rows whose subject is a vignette."""
    return frame["subject"].astype(str).isin([str(code) for code in vignettes])


def means_per_cell(frame: pd.DataFrame, column: str = "value") -> pd.DataFrame:
    """Mean of ``column`` and its 95 % Student-t interval per cell, per panel and pooled over
    the panels (``panel = "ALL"``), as ``stats.mean_ci_from_sums`` computes them from n, Σx
    and Σx² (the engine's cell statistics). Columns ``ESTIMATE_COLUMNS``."""
    pooled_keys = [key for key in CELL_KEYS if key != "panel"]
    parts = []
    for keys in (CELL_KEYS, pooled_keys):
        x = frame[column].to_numpy(dtype=float)
        sums = (
            frame.assign(_x=x, _xx=x * x)
            .groupby(keys, observed=True, sort=True)
            .agg(n=("_x", "size"), sum_x=("_x", "sum"), sum_xx=("_xx", "sum"))
            .reset_index()
        )
        interval = stats.mean_ci_from_sums(sums["n"], sums["sum_x"], sums["sum_xx"])
        sums["estimate"] = interval["mean"]
        sums["ci_low"] = interval["ci_low"]
        sums["ci_high"] = interval["ci_high"]
        if "panel" not in keys:
            sums["panel"] = POOLED_PANEL
        parts.append(sums[ESTIMATE_COLUMNS])
    table = pd.concat(parts, ignore_index=True)
    return table.sort_values(CELL_KEYS, ignore_index=True)


def vignette_anchoring(common: np.ndarray, raw: np.ndarray) -> tuple[float, float]:
    """(A, B) of the affine map A + B · x that gives the vignette items' common-scale
    locations ``common`` the mean and standard deviation of their raw mean ratings ``raw``.

    Corrected estimates are reported on this scale, so that they read like 0–10 ratings of
    an average expert; the map is increasing and changes neither orderings nor signs of
    differences. With fewer than two distinct locations it is the identity.
    """
    common = np.asarray(common, dtype=float)
    raw = np.asarray(raw, dtype=float)
    keep = ~(np.isnan(common) | np.isnan(raw))
    common, raw = common[keep], raw[keep]
    if common.size < 2 or common.std() == 0:
        return 0.0, 1.0
    slope = float(raw.std() / common.std())
    return float(raw.mean() - slope * common.mean()), slope
