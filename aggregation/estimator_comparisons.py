"""The preset comparisons on a corrected estimator's estimates: pure functions, no ORM.

Every comparison of ``engine.PRESETS`` is recomputed on each corrected estimator, so that a
contrast between panels can be read without their different scale use:

- **Aldrich–McKelvey** and **C-scores**: the estimator turns each rating into a corrected
  value (the expert's transformed rating on the vignette-anchored scale, or its C-score); the
  comparison is then the engine's own on those values (``engine.all_preset_comparisons``):
  the difference of the corrected means with Welch's t test (Welch 1947) for independent
  panels, the paired t test when the same experts rated both sides, Hedges' g and the
  Benjamini–Hochberg adjustment across the roles of a comparison.
- **Ordinal IRT**: a side's value is its cells' latent z (a pooled side: the panels' z
  weighted by their n, as in ``irt.cells_from_fit``), put on the vignette-anchored scale. The
  difference of two sides is a linear function of z, so its distribution follows from the fit:
  under the Laplace approximation of the fast mode d ~ N(Δᵀẑ, ΔᵀΣΔ) (method ``laplace``),
  from the NUTS draws the draws of Δᵀz (method ``posterior``). Reported: the mean difference,
  its 95 % interval (normal, or the 2.5 and 97.5 % quantiles of the draws) and the
  probability of its sign, P(d has the sign of its estimate) = Φ(|d̂| / sd) or the share of
  draws with that sign (Gelman et al. 2013, "Bayesian Data Analysis", 3rd ed., ch. 2). There
  is no t test and so no p-value: a difference counts as significant when its 95 % interval
  excludes zero.

The same computations apply to any two selectors of the wave (``value_pair_comparisons``,
``irt_pair_comparisons``): an outcome keeps what it compares on (``ValueBasis``,
``IrtBasis``) so that the saved comparisons are computed under it too
(``aggregation.saved_corrected``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as sps

from aggregation import engine, stats
from aggregation.comparison_builder import SideSelector, builder_compare, builder_rows, shared_sides
from aggregation.comparison_stats import FAMILY_COMPARISON
from aggregation.engine import ANCHOR_ACTOR, POOLED_PANEL, PRESETS, Selector

ESTIMATOR_COMPARISON_COLUMNS = [*engine.PRESET_COMPARISON_COLUMNS, "prob_sign"]
FIXED_COLUMNS = set(ESTIMATOR_COMPARISON_COLUMNS)
Z_975 = 1.959963984540054


def preset_sides(home_panel: Mapping[str, str]):
    """(preset, subject, left, right) of every preset and subject (each actor with a panel
    other than the anchor), leaving out presets that need a panel ``home_panel`` lacks."""
    for preset, build in PRESETS.items():
        for subject in home_panel:
            if subject == ANCHOR_ACTOR:
                continue
            try:
                left, right = build(subject, home_panel)
            except ValueError:
                continue
            yield preset, subject, left, right


def _values_frame(rated: pd.DataFrame, column: str) -> pd.DataFrame:
    """Rating rows with the corrected values ``rated[column]`` as the engine's ``value``."""
    frame = rated.assign(value=rated[column].astype(float), cannot_judge=False)
    frame["confidence"] = np.nan
    return frame[engine.RATINGS_COLUMNS]


def comparisons_of_values(
    rated: pd.DataFrame, column: str, home_panel: Mapping[str, str]
) -> pd.DataFrame:
    """Every preset comparison on the corrected values ``rated[column]`` of rating rows
    (the engine's ratings columns): Welch or paired t tests as for the plain means.
    Columns ``ESTIMATOR_COMPARISON_COLUMNS`` (``prob_sign`` empty)."""
    comparisons = engine.all_preset_comparisons(_values_frame(rated, column), home_panel)
    return comparisons.assign(prob_sign=np.nan)[ESTIMATOR_COMPARISON_COLUMNS]


def value_pair_comparisons(
    rated: pd.DataFrame,
    column: str,
    pairs: Sequence[tuple[Mapping[str, object], Selector, Selector]],
) -> pd.DataFrame:
    """Any (header, left, right) pairs of selectors of one wave (a saved comparison's sides)
    compared on the corrected values ``rated[column]``, as the comparison builder compares
    the plain means (``comparison_builder.builder_compare``: Welch, paired or partially
    overlapping t test from the cells and paired sums of those values). Columns
    ``ESTIMATOR_COMPARISON_COLUMNS`` and the headers' extra ones; a pair with no observed
    cell on a side is left out."""
    frame = _values_frame(rated, column)
    cells = engine.cell_statistics(frame)
    extra = list(dict.fromkeys(k for h, _, _ in pairs for k in h if k not in FIXED_COLUMNS))
    tables = []
    for header, left, right in pairs:
        sides = [
            SideSelector(str(header["wave"]), s.panel, s.holder, s.subject, s.perspective)
            for s in (left, right)
        ]
        shared = shared_sides(*sides)
        sums = None if shared is None else engine.paired_sums(frame, *shared)
        result = builder_compare(*sides, left_cells=cells, right_cells=cells, paired_sums=sums)
        if result is not None:
            tables.append(builder_rows(result, header=header))
    if not tables:
        return pd.DataFrame(columns=[*ESTIMATOR_COMPARISON_COLUMNS, *extra])
    table = pd.concat(tables, ignore_index=True).assign(prob_sign=np.nan)
    return table[[*ESTIMATOR_COMPARISON_COLUMNS, *extra]]


@dataclass(frozen=True)
class ValueBasis:
    """What Aldrich–McKelvey or C-scores compare on: the rating rows with their corrected
    values, kept with the outcome so that saved comparisons are computed on them too."""

    rated: pd.DataFrame
    column: str

    def compare(self, pairs) -> pd.DataFrame:
        return value_pair_comparisons(self.rated, self.column, pairs)


@dataclass(frozen=True)
class IrtBasis:
    """What the ordinal IRT compares on: the units and the fit (``irt_pair_comparisons``)."""

    units: pd.DataFrame
    mean: np.ndarray
    covariance: np.ndarray | None
    draws: np.ndarray | None
    anchoring: tuple[float, float]

    def compare(self, pairs) -> pd.DataFrame:
        return irt_pair_comparisons(
            self.units,
            pairs=pairs,
            mean=self.mean,
            covariance=self.covariance,
            draws=self.draws,
            anchoring=self.anchoring,
        )


def _side_weights(units: pd.DataFrame, selector: Selector, role: str) -> np.ndarray | None:
    """Weights over the units that give the side's value on one role: 1 for a panel's
    cell, the panels' n-shares for a pooled side; None when the side has no unit."""
    picked = (
        ~units["vignette"].to_numpy()
        & (units["holder"] == selector.holder).to_numpy()
        & (units["subject"] == selector.subject).to_numpy()
        & (units["perspective"] == selector.perspective).to_numpy()
        & (units["role"] == role).to_numpy()
    )
    if selector.panel is not None:
        picked &= (units["panel"] == selector.panel).to_numpy()
    if not picked.any():
        return None
    n = units["n"].to_numpy(dtype=float)
    weights = np.where(picked, n, 0.0)
    return weights / weights.sum()


def irt_comparisons(
    units: pd.DataFrame,
    *,
    mean: np.ndarray,
    covariance: np.ndarray | None,
    draws: np.ndarray | None,
    anchoring: tuple[float, float],
    home_panel: Mapping[str, str],
) -> pd.DataFrame:
    """Every preset comparison of one wave on the ordinal IRT's latent values (see the
    module). ``units`` is ``irt.IrtData.units`` (one wave); ``mean`` the units' z, with
    ``covariance`` (fast mode) or ``draws`` (draws × units, full posterior); ``anchoring``
    the (offset, slope) of the vignette-anchored scale. Columns
    ``ESTIMATOR_COMPARISON_COLUMNS``."""
    (wave,) = units["wave"].astype(str).unique() if len(units) else ("",)
    pairs = [
        ({"wave": wave, "preset": preset, "subject": subject}, left, right)
        for preset, subject, left, right in preset_sides(home_panel)
    ]
    return irt_pair_comparisons(
        units, pairs=pairs, mean=mean, covariance=covariance, draws=draws, anchoring=anchoring
    )


def irt_pair_comparisons(
    units: pd.DataFrame,
    *,
    pairs: Sequence[tuple[Mapping[str, object], Selector, Selector]],
    mean: np.ndarray,
    covariance: np.ndarray | None,
    draws: np.ndarray | None,
    anchoring: tuple[float, float],
) -> pd.DataFrame:
    """``irt_comparisons`` of any (header, left, right) pairs of selectors of the wave (a
    saved comparison's sides as well as a preset's): ``header`` gives each pair's ``wave``,
    ``preset`` and ``subject`` columns and any extra column, kept after
    ``ESTIMATOR_COMPARISON_COLUMNS``. A pair with no unit on a side is left out."""
    offset, slope = anchoring
    method = "posterior" if draws is not None else "laplace"
    roles = sorted(units.loc[~units["vignette"].to_numpy(), "role"].astype(str).unique())
    n = units["n"].to_numpy(dtype=float)
    extra = list(dict.fromkeys(k for h, _, _ in pairs for k in h if k not in FIXED_COLUMNS))
    headers, rows = [], []
    for header, left, right in pairs:
        table = []
        for role in roles:
            a, b = _side_weights(units, left, role), _side_weights(units, right, role)
            if a is None and b is None:
                continue
            table.append(
                {
                    "role": role,
                    **_side_columns(a, "left", n, mean, covariance, draws, offset, slope),
                    **_side_columns(b, "right", n, mean, covariance, draws, offset, slope),
                    **_difference(a, b, mean, covariance, draws, slope),
                    "method": method,
                }
            )
        if not table or all(row["n_left"] == 0 for row in table):
            continue
        if all(row["n_right"] == 0 for row in table):
            continue
        header = {
            **header,
            **_selector_columns("left", left),
            **_selector_columns("right", right),
            **_profile(table),
        }
        headers.extend([header] * len(table))
        rows.extend(table)
    if not rows:
        return pd.DataFrame(columns=[*ESTIMATOR_COMPARISON_COLUMNS, *extra])
    frame = pd.concat([pd.DataFrame(headers), pd.DataFrame(rows)], axis=1)
    for column in ESTIMATOR_COMPARISON_COLUMNS:
        if column not in frame:
            frame[column] = np.nan
    frame["family_size"] = 0
    if "family" in frame:  # no p-values to adjust: the comparison's own (empty) family
        frame["family"] = FAMILY_COMPARISON
    return frame[[*ESTIMATOR_COMPARISON_COLUMNS, *extra]]


def _selector_columns(prefix: str, selector: Selector) -> dict[str, str]:
    return {
        f"{prefix}_panel": selector.panel if selector.panel is not None else POOLED_PANEL,
        f"{prefix}_holder": selector.holder,
        f"{prefix}_subject": selector.subject,
        f"{prefix}_perspective": selector.perspective,
    }


def _side_columns(weights, side, n, mean, covariance, draws, offset, slope) -> dict:
    if weights is None:
        return {
            f"n_{side}": 0,
            f"mean_{side}": np.nan,
            f"ci_low_{side}": np.nan,
            f"ci_high_{side}": np.nan,
        }
    value, low, high = _linear(weights, mean, covariance, draws)
    return {
        f"n_{side}": round(float(n[weights > 0].sum())),
        f"mean_{side}": offset + slope * value,
        f"ci_low_{side}": offset + slope * low,
        f"ci_high_{side}": offset + slope * high,
    }


def _linear(weights, mean, covariance, draws) -> tuple[float, float, float]:
    """Mean and 95 % interval of wᵀz under the fit."""
    if draws is not None:
        values = draws @ weights
        low, high = np.quantile(values, [0.025, 0.975])
        return float(values.mean()), float(low), float(high)
    value = float(weights @ mean)
    half = Z_975 * float(np.sqrt(max(weights @ covariance @ weights, 0.0)))
    return value, value - half, value + half


def _difference(a, b, mean, covariance, draws, slope) -> dict:
    if a is None or b is None:
        return {
            "diff": np.nan,
            "diff_ci_low": np.nan,
            "diff_ci_high": np.nan,
            "se_diff": np.nan,
            "prob_sign": np.nan,
        }
    delta = a - b
    if draws is not None:
        values = slope * (draws @ delta)
        diff = float(values.mean())
        low, high = np.quantile(values, [0.025, 0.975])
        sd = float(values.std(ddof=1))
        prob = float(np.mean(np.sign(values) == np.sign(diff))) if diff != 0 else 0.5
    else:
        diff = slope * float(delta @ mean)
        sd = slope * float(np.sqrt(max(delta @ covariance @ delta, 0.0)))
        low, high = diff - Z_975 * sd, diff + Z_975 * sd
        prob = float(sps.norm.cdf(abs(diff) / sd)) if sd > 0 else np.nan
    return {
        "diff": diff,
        "diff_ci_low": float(low),
        "diff_ci_high": float(high),
        "se_diff": sd,
        "prob_sign": prob,
    }


def _profile(table: list[dict]) -> dict:
    """Each side's dominant role (highest estimate) and the profile distance."""
    left = {row["role"]: row["mean_left"] for row in table}
    right = {row["role"]: row["mean_right"] for row in table}

    def dominant(values: dict) -> str | None:
        finite = {role: value for role, value in values.items() if np.isfinite(value)}
        return max(finite, key=finite.get) if finite else None

    return {
        "dominant_left": dominant(left),
        "dominant_right": dominant(right),
        "profile_distance": stats.profile_distance(left, right),
    }
