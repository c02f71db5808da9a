"""Pure statistics for the expert survey: cell statistics, agreement, and (re-exported from
their own modules) reliability and comparisons.

Nothing here knows about Django or the ORM. Every function takes plain numbers (array-likes,
NaN for a missing rating) and returns floats, arrays or small frozen dataclasses, so it can be
checked against the published worked examples of the papers it implements.

Small samples are normal in expert panels. A statistic that is undefined for the data at hand
(fewer than two values, zero variance, ...) comes back as NaN; these functions neither raise
nor print numpy warnings for that case. They raise ``ValueError`` only for misuse (wrong
shape, an unknown level, an impossible scale).

The statistics live by concern: this module holds the cell statistics (means, intervals,
r_wg); ``aggregation.reliability_stats`` Krippendorff's alpha, the ICC and their bootstrap
intervals; ``aggregation.comparison_stats`` the t tests, effect sizes and Benjamini–Hochberg;
``aggregation.consensus`` the Delphi statistics. Their public names are re-exported here, so
``from aggregation import stats; stats.kendalls_w`` keeps working. The methods, with formulas
and references, are described in ``docs/methods.md``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as sps

from aggregation.comparison_stats import (
    BH_FAMILIES,
    FAMILY_COMPARISON,
    FAMILY_WAVE_PRESET,
    PAIRED_G_MIN_PAIRS,
    Correlation,
    Difference,
    benjamini_hochberg,
    benjamini_hochberg_by_family,
    correlation_ci,
    correlation_from_sums,
    hedges_g,
    hedges_g_from_summary,
    overlapping_from_summaries,
    paired_difference,
    paired_from_sums,
    partially_overlapping_difference,
    profile_distance,
    welch_difference,
    welch_from_summaries,
    welch_from_summary,
)
from aggregation.consensus import Concordance, kendalls_w
from aggregation.numeric import NAN, as_matrix, as_vector, quiet, t_quantile, variance_from_sums
from aggregation.reliability_stats import (
    ALPHA_LEVELS,
    BOOTSTRAP_REPLICATES,
    BOOTSTRAP_SEED,
    RELIABILITY_COEFFICIENTS,
    icc,
    icc_oneway_from_summaries,
    krippendorff_alpha,
    krippendorff_alpha_from_counts,
    reliability_bootstrap,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

# Its own statistics and those re-exported from their modules.
__all__ = [
    "ALPHA_LEVELS",
    "BH_FAMILIES",
    "BOOTSTRAP_REPLICATES",
    "BOOTSTRAP_SEED",
    "FAMILY_COMPARISON",
    "FAMILY_WAVE_PRESET",
    "PAIRED_G_MIN_PAIRS",
    "RELIABILITY_COEFFICIENTS",
    "Concordance",
    "Correlation",
    "Difference",
    "MeanCI",
    "benjamini_hochberg",
    "benjamini_hochberg_by_family",
    "correlation_ci",
    "correlation_from_sums",
    "hedges_g",
    "hedges_g_from_summary",
    "icc",
    "icc_oneway_from_summaries",
    "kendalls_w",
    "krippendorff_alpha",
    "krippendorff_alpha_from_counts",
    "mean_ci",
    "mean_ci_from_sums",
    "overlapping_from_summaries",
    "paired_difference",
    "paired_from_sums",
    "partially_overlapping_difference",
    "profile_distance",
    "reliability_bootstrap",
    "rwg",
    "rwg_j",
    "uniform_null_variance",
    "weighted_mean",
    "welch_difference",
    "welch_from_summaries",
    "welch_from_summary",
]


# --------------------------------------------------------------------------------------------
# Within-group agreement r_wg
# --------------------------------------------------------------------------------------------


def uniform_null_variance(scale_points: int) -> float:
    """sigma^2_EU = (A^2 - 1) / 12, the variance of a discrete uniform on A scale points.

    The expected variance when raters answer at random (James, Demaree & Wolf 1984).
    """
    if scale_points < 2:
        raise ValueError(f"a rating scale needs at least 2 points, got {scale_points}")
    return (scale_points**2 - 1) / 12


def rwg(values: ArrayLike, scale_points: int) -> float:
    """Single-item within-group agreement r_wg (James, Demaree & Wolf 1984).

        r_wg = 1 - s^2 / sigma^2_EU,   sigma^2_EU = (A^2 - 1) / 12

    s^2 is the sample variance (ddof = 1) of the non-missing values, A the number of scale
    points (11 for a 0-10 scale). L. R. James, R. G. Demaree and G. Wolf (1984), "Estimating
    within-group interrater reliability with and without response bias", Journal of Applied
    Psychology 69(1), 85-98.

    Convention: when s^2 > sigma^2_EU (more disagreement than random answering) the formula
    goes negative; following James et al.'s recommendation the result is truncated to 0.
    Returns NaN for fewer than 2 values.
    """
    null_variance = uniform_null_variance(scale_points)
    vector = as_vector(values)
    if vector.size < 2:
        return NAN
    return float(max(0.0, 1 - vector.var(ddof=1) / null_variance))


def rwg_j(item_values: ArrayLike, scale_points: int) -> float:
    """Multi-item within-group agreement r_wg(J) (James, Demaree & Wolf 1984, eq. for J items).

        r_wg(J) = J (1 - s̄^2 / sigma^2_EU) / (J (1 - s̄^2 / sigma^2_EU) + s̄^2 / sigma^2_EU)

    ``item_values`` is 2-D: rows are raters, columns are the J parallel items. s̄^2 is the
    mean of the item variances (ddof = 1, each over that item's non-missing values); items
    with fewer than 2 values are left out and J counts the items that remain.

    Convention: when s̄^2 > sigma^2_EU the ratio is truncated to 1, so r_wg(J) = 0 (James et
    al.'s recommendation, as for the single-item r_wg); without it the formula can leave
    [0, 1]. Returns NaN when no item has 2 values.
    """
    null_variance = uniform_null_variance(scale_points)
    matrix = as_matrix(item_values)
    variances = []
    for column in matrix.T:
        vector = column[~np.isnan(column)]
        if vector.size >= 2:
            variances.append(vector.var(ddof=1))
    if not variances:
        return NAN
    n_items = len(variances)
    ratio = min(float(np.mean(variances)) / null_variance, 1.0)
    agreement = n_items * (1 - ratio)
    return float(agreement / (agreement + ratio))


# --------------------------------------------------------------------------------------------
# Means and differences
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeanCI:
    """A sample mean with its t confidence interval."""

    n: int
    mean: float
    sd: float
    se: float
    ci_low: float
    ci_high: float


def mean_ci(values: ArrayLike, level: float = 0.95) -> MeanCI:
    """Mean with Student-t confidence interval: mean ± t_{(1+level)/2, n-1} · s / √n.

    NaN values are dropped. With one value the mean is that value and everything else is
    NaN; with none everything is NaN. Values without spread (s = 0) have sd = se = 0 and no
    interval (NaN): a t interval needs an estimate of the spread, as the t test of a
    difference does (``welch_difference``, ``paired_difference``).
    """
    vector = as_vector(values)
    n = int(vector.size)
    if n == 0:
        return MeanCI(0, NAN, NAN, NAN, NAN, NAN)
    mean = float(vector.mean())
    if n < 2:
        return MeanCI(n, mean, NAN, NAN, NAN, NAN)
    sd = float(vector.std(ddof=1))
    se = sd / math.sqrt(n)
    if se == 0:
        return MeanCI(n, mean, sd, se, NAN, NAN)
    half_width = t_quantile(level, n - 1) * se
    return MeanCI(n, mean, sd, se, mean - half_width, mean + half_width)


def weighted_mean(values: ArrayLike, weights: ArrayLike) -> float:
    """Weighted arithmetic mean sum(w_i x_i) / sum(w_i).

    Pairs where the value or the weight is NaN are dropped. Weights must be non-negative;
    NaN when no weight remains or the weights sum to 0.
    """
    x = np.asarray(values, dtype=float).ravel()
    w = np.asarray(weights, dtype=float).ravel()
    if x.shape != w.shape:
        raise ValueError(f"values and weights differ in length: {x.size} vs {w.size}")
    keep = ~(np.isnan(x) | np.isnan(w))
    x, w = x[keep], w[keep]
    if (w < 0).any():
        raise ValueError("weights must be non-negative")
    total = w.sum()
    if total == 0:
        return NAN
    return float((w * x).sum() / total)


def mean_ci_from_sums(
    n: ArrayLike, sums: ArrayLike, sums_of_squares: ArrayLike, level: float = 0.95
) -> dict[str, NDArray[np.float64]]:
    """``mean_ci`` element-wise from n, Σx and Σx² (what a database sums up).

    mean = Σx / n, s² = (Σx² − (Σx)² / n) / (n − 1), se = s / √n, CI = mean ± t · se with
    t = t_{(1+level)/2, n−1}. Returns arrays ``mean``, ``sd``, ``se``, ``ci_low``,
    ``ci_high``; as ``mean_ci``: n = 1 gives the mean only, n = 0 nothing.
    """
    n = np.asarray(n, dtype=float)
    sums = np.asarray(sums, dtype=float)
    sums_of_squares = np.asarray(sums_of_squares, dtype=float)
    with quiet():
        mean = np.where(n > 0, sums / n, np.nan)
        sd = np.sqrt(variance_from_sums(n, sums, sums_of_squares))
        se = sd / np.sqrt(n)
        t = sps.t.ppf(0.5 + level / 2, np.where((n >= 2) & (se > 0), n - 1, np.nan))
    return {"mean": mean, "sd": sd, "se": se, "ci_low": mean - t * se, "ci_high": mean + t * se}
