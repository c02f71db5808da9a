"""Pure statistics for the expert survey: agreement, reliability and comparisons.

Nothing here knows about Django or the ORM. Every function takes plain numbers (array-likes,
NaN for a missing rating) and returns floats, arrays or small frozen dataclasses, so it can be
checked against the published worked examples of the papers it implements.

Small samples are normal in expert panels. A statistic that is undefined for the data at hand
(fewer than two values, zero variance, ...) comes back as NaN; these functions neither raise
nor print numpy warnings for that case. They raise ``ValueError`` only for misuse (wrong
shape, an unknown level, an impossible scale).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as sps

# Kendall's W lives with the Delphi statistics; re-exported as aggregation.stats.kendalls_w.
from aggregation.consensus import Concordance as Concordance
from aggregation.consensus import kendalls_w as kendalls_w

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import ArrayLike, NDArray

NAN = float("nan")
# The paired Hedges' g needs df = n − 1 ≥ 2: at 2 pairs its factor J is 0 (``hedges_g``).
PAIRED_G_MIN_PAIRS = 3
ALPHA_LEVELS = ("nominal", "ordinal", "interval", "ratio")


@contextmanager
def _quiet() -> Iterator[None]:
    """Silence numpy floating-point warnings and RuntimeWarnings inside the block."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _as_vector(values: ArrayLike) -> NDArray[np.float64]:
    """A 1-D float array of the non-missing values."""
    array = np.asarray(values, dtype=float).ravel()
    return array[~np.isnan(array)]


def _as_matrix(data: ArrayLike) -> NDArray[np.float64]:
    matrix = np.asarray(data, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array, got {matrix.ndim} dimension(s)")
    return matrix


def _t_quantile(level: float, df: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if not df > 0:
        return NAN
    return float(sps.t.ppf(0.5 + level / 2, df))


def _two_sided_p(t: float, df: float) -> float:
    if math.isnan(t) or not df > 0:
        return NAN
    return float(2 * sps.t.sf(abs(t), df))


def _finite_or_nan(x: float) -> float:
    return float(x) if np.isfinite(x) else NAN


# --------------------------------------------------------------------------------------------
# Krippendorff's alpha
# --------------------------------------------------------------------------------------------


def _squared_distances(
    values: NDArray[np.float64], marginals: NDArray[np.float64], level: str
) -> NDArray[np.float64]:
    """The difference function delta^2(c, k) over the sorted distinct values.

    Krippendorff (2011), section "Difference functions":
    nominal  0 if c == k else 1;
    ordinal  (sum_{g=c}^{k} n_g - (n_c + n_k) / 2)^2, with n_g the coincidence marginals;
    interval (c - k)^2;
    ratio    ((c - k) / (c + k))^2.
    The ordinal sum equals the difference of the mid-ranks ``cumsum(n) - n / 2`` of c and k.
    """
    c = values[:, None]
    k = values[None, :]
    if level == "nominal":
        return (c != k).astype(float)
    if level == "ordinal":
        mid_ranks = np.cumsum(marginals) - marginals / 2
        return (mid_ranks[None, :] - mid_ranks[:, None]) ** 2
    if level == "interval":
        return (c - k) ** 2
    # ratio: 0/0 when c == k == 0, which is no difference at all
    with _quiet():
        ratio = np.where(c + k == 0, 0.0, (c - k) / (c + k))
    return ratio**2


def krippendorff_alpha(data: ArrayLike, level: str = "interval") -> float:
    """Krippendorff's alpha for a reliability data matrix with missing values.

    ``data`` is 2-D: rows are raters (coders), columns are units, NaN marks a missing value.
    ``level`` is one of "nominal", "ordinal", "interval", "ratio".

    Coincidence-matrix formulation (K. Krippendorff, 2011, "Computing Krippendorff's
    Alpha-Reliability", Annenberg School for Communication, University of Pennsylvania):
    units with fewer than two values (m_u < 2) are not pairable and are dropped; every
    ordered pair of values (c, k) from different raters within unit u adds 1 / (m_u - 1) to
    the coincidence o_ck; n_c = sum_k o_ck and n = sum_c n_c. Then

        alpha = 1 - D_o / D_e
        D_o = (1 / n) * sum_c sum_k o_ck * delta^2(c, k)
        D_e = 1 / (n (n - 1)) * sum_c sum_k n_c * n_k * delta^2(c, k)

    with the difference function delta^2 of the chosen level (see ``_squared_distances``;
    ordinal ranks come from the coincidence marginals n_g). Returns NaN when there are no
    pairable values or when D_e = 0 (all pairable values identical: alpha is undefined).
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}, got {level!r}")
    matrix = _as_matrix(data)
    observed = ~np.isnan(matrix)
    values = np.unique(matrix[observed])
    # counts[u, v]: how many raters gave value v to unit u
    units = np.broadcast_to(np.arange(matrix.shape[1]), matrix.shape)[observed]
    value_index = np.searchsorted(values, matrix[observed])
    n_units = matrix.shape[1]
    counts = np.bincount(units * values.size + value_index, minlength=n_units * values.size)
    return krippendorff_alpha_from_counts(counts.reshape(n_units, values.size), values, level)


def krippendorff_alpha_from_counts(
    counts: ArrayLike, values: ArrayLike, level: str = "interval"
) -> float:
    """Krippendorff's alpha from each unit's value counts (the formulas of ``krippendorff_alpha``).

    ``counts`` is 2-D: rows are units, columns are the distinct ``values`` (ascending);
    ``counts[u, v]`` is how many raters gave ``values[v]`` to unit u. Alpha depends on the
    data only through these counts (Krippendorff 2011, the "values by units" matrix), so a
    database can aggregate the ratings to counts and the coefficient needs no rater identity.
    """
    if level not in ALPHA_LEVELS:
        raise ValueError(f"level must be one of {ALPHA_LEVELS}, got {level!r}")
    counts = np.asarray(counts, dtype=float)
    values = np.asarray(values, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != values.size:
        raise ValueError("counts must be units x values, one column per value")
    if values.size > 1 and (np.diff(values) <= 0).any():
        raise ValueError("values must be distinct and ascending")
    values_per_unit = counts.sum(axis=1)
    counts = counts[values_per_unit >= 2]  # units with fewer than two values are not pairable
    values_per_unit = values_per_unit[values_per_unit >= 2]
    present = counts.sum(axis=0) > 0
    counts, values = counts[:, present], values[present]
    if counts.shape[0] == 0 or values.size < 2:
        return NAN

    # o_ck = sum_u (n_uc n_uk - [c == k] n_uc) / (m_u - 1)
    scaled = counts / (values_per_unit - 1)[:, None]
    coincidences = scaled.T @ counts - np.diag(scaled.sum(axis=0))
    marginals = coincidences.sum(axis=1)
    total = marginals.sum()

    delta2 = _squared_distances(values, marginals, level)
    observed_disagreement = (coincidences * delta2).sum() / total
    expected_disagreement = (np.outer(marginals, marginals) * delta2).sum() / (total * (total - 1))
    if expected_disagreement == 0:
        return NAN
    return float(1 - observed_disagreement / expected_disagreement)


# --------------------------------------------------------------------------------------------
# Intraclass correlation
# --------------------------------------------------------------------------------------------


def icc(data: ArrayLike) -> dict[str, float]:
    """The six intraclass correlations of Shrout & Fleiss (1979).

    ``data`` is a complete 2-D array: rows are targets (n), columns are judges (k).
    From the two-way ANOVA mean squares (between targets BMS, within targets WMS, between
    judges JMS, residual EMS):

        ICC1  = (BMS - WMS) / (BMS + (k - 1) WMS)                       one-way random
        ICC2  = (BMS - EMS) / (BMS + (k - 1) EMS + k (JMS - EMS) / n)   two-way random
        ICC3  = (BMS - EMS) / (BMS + (k - 1) EMS)                       two-way mixed
        ICC1k = (BMS - WMS) / BMS
        ICC2k = (BMS - EMS) / (BMS + (JMS - EMS) / n)
        ICC3k = (BMS - EMS) / BMS

    P. E. Shrout and J. L. Fleiss (1979), "Intraclass correlations: uses in assessing rater
    reliability", Psychological Bulletin 86(2), 420-428. The ``k`` forms are the reliability
    of the mean of the k judges. A denominator that is zero up to rounding (all values equal,
    or e.g. BMS + (JMS − EMS) / n = 0) gives NaN.
    Raises ValueError on missing values or fewer than 2 targets or judges.
    """
    matrix = _as_matrix(data)
    n, k = matrix.shape
    if n < 2 or k < 2:
        raise ValueError(f"icc needs at least 2 targets and 2 judges, got {n} x {k}")
    if np.isnan(matrix).any():
        raise ValueError("icc needs complete data; drop incomplete targets or judges first")

    grand_mean = matrix.mean()
    ss_total = ((matrix - grand_mean) ** 2).sum()
    ss_targets = k * ((matrix.mean(axis=1) - grand_mean) ** 2).sum()
    ss_judges = n * ((matrix.mean(axis=0) - grand_mean) ** 2).sum()
    ss_residual = ss_total - ss_targets - ss_judges
    # Rounding leaves ~1e-16 where a sum of squares is exactly 0 (identical targets, identical
    # judges, no interaction); snap those to 0 so that degenerate designs give NaN whatever
    # the order of rows and columns.
    tolerance = 1e-12 * ss_total
    ss_targets, ss_judges, ss_residual = (
        np.float64(0.0) if ss <= tolerance else ss for ss in (ss_targets, ss_judges, ss_residual)
    )

    bms = ss_targets / (n - 1)
    wms = (ss_total - ss_targets) / (n * (k - 1))
    jms = ss_judges / (k - 1)
    ems = ss_residual / ((n - 1) * (k - 1))

    # A denominator that is 0 up to rounding (relative to the mean squares) means the
    # coefficient is undefined: NaN, not a huge number whose sign depends on row order.
    scale = max(bms, wms, jms, ems)

    def ratio(numerator: float, denominator: float) -> float:
        return NAN if abs(denominator) <= 1e-12 * scale else numerator / denominator

    result = {
        "ICC1": ratio(bms - wms, bms + (k - 1) * wms),
        "ICC2": ratio(bms - ems, bms + (k - 1) * ems + k * (jms - ems) / n),
        "ICC3": ratio(bms - ems, bms + (k - 1) * ems),
        "ICC1k": ratio(bms - wms, bms),
        "ICC2k": ratio(bms - ems, bms + (jms - ems) / n),
        "ICC3k": ratio(bms - ems, bms),
    }
    return {name: _finite_or_nan(value) for name, value in result.items()}


def icc_oneway_from_summaries(
    n: ArrayLike, sums: ArrayLike, sums_of_squares: ArrayLike
) -> dict[str, float]:
    """ICC(1,1) and ICC(1,k) of a one-way random-effects design from per-target summaries.

    Targets i (rows of ``icc``'s matrix) have ``n[i]`` ratings with sum ``sums[i]`` and sum of
    squares ``sums_of_squares[i]``; judges need not be the same or equally many per target,
    so a missing rating ("cannot judge") costs only itself. With N = Σ n_i over the t targets
    that have a rating, the one-way ANOVA mean squares are

        BMS = Σ n_i (m_i − m)² / (t − 1)        WMS = Σ Σ (x − m_i)² / (N − t)

    and, with the mean group size n0 = (N − Σ n_i² / N) / (t − 1),

        ICC1  = (BMS − WMS) / (BMS + (n0 − 1) WMS)
        ICC1k = (BMS − WMS) / BMS

    Shrout & Fleiss (1979) Case 1 (``icc``'s ICC1 and ICC1k, which these equal when every
    target has the same k judges); n0 for unequal group sizes as in G. W. Snedecor and
    W. G. Cochran (1989), Statistical Methods, 8th ed., section 13.7. NaN when fewer than two
    targets have a rating, when N = t (no replication) or when a denominator is 0.
    """
    n = np.asarray(n, dtype=float)
    sums = np.asarray(sums, dtype=float)
    sums_of_squares = np.asarray(sums_of_squares, dtype=float)
    rated = n > 0
    n, sums, sums_of_squares = n[rated], sums[rated], sums_of_squares[rated]
    targets, total = n.size, n.sum()
    undefined = {"ICC1": NAN, "ICC1k": NAN}
    if targets < 2 or total <= targets:
        return undefined
    means = sums / n
    grand_mean = sums.sum() / total
    ss_between = (n * (means - grand_mean) ** 2).sum()
    ss_within = max(0.0, (sums_of_squares - sums * means).sum())
    bms = ss_between / (targets - 1)
    wms = ss_within / (total - targets)
    n0 = (total - (n**2).sum() / total) / (targets - 1)
    scale = max(bms, wms)
    if scale == 0:
        return undefined

    def ratio(numerator: float, denominator: float) -> float:
        return NAN if abs(denominator) <= 1e-12 * scale else numerator / denominator

    return {
        "ICC1": _finite_or_nan(ratio(bms - wms, bms + (n0 - 1) * wms)),
        "ICC1k": _finite_or_nan(ratio(bms - wms, bms)),
    }


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
    vector = _as_vector(values)
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
    matrix = _as_matrix(item_values)
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
    vector = _as_vector(values)
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
    half_width = _t_quantile(level, n - 1) * se
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


def hedges_g(a: ArrayLike, b: ArrayLike, *, paired: bool = False) -> float:
    """Hedges' g, the standardised mean difference a − b with small-sample correction.

    Independent samples (Hedges & Olkin 1985, "Statistical Methods for Meta-Analysis"):

        d = (mean_a − mean_b) / s_pooled,
        s_pooled = sqrt(((n_a − 1) s_a² + (n_b − 1) s_b²) / (n_a + n_b − 2)),
        g = J · d,  J = 1 − 3 / (4 (n_a + n_b) − 9)

    Paired samples (``paired=True``; a and b aligned, pairs with a NaN dropped) use d_av
    (Cumming 2012; Lakens 2013, Frontiers in Psychology 4:863), the mean difference over the
    average of the two SDs, so that it is on the same scale as the independent g and does not
    grow with the correlation between the two ratings as d_z would:

        d_av = mean(a − b) / ((s_a + s_b) / 2),  g = J · d_av,  J = 1 − 3 / (4 (n − 1) − 1)

    with n the number of pairs (J with df = n − 1). NaN when a side has fewer than 2 values
    (paired: fewer than 3 pairs) or the standardiser is 0. With 2 pairs (df = 1) J is 0, in
    its exact form Γ(df/2) / (√(df/2) Γ((df − 1)/2)) as in the approximation above: the
    unbiased g does not exist (the expectation of d is infinite at df = 1), so it is NaN
    rather than a 0 that would read as "no difference".
    """
    if paired:
        x, y = _paired_vectors(a, b)
        n = x.size
        if n < PAIRED_G_MIN_PAIRS:
            return NAN
        standardiser = (x.std(ddof=1) + y.std(ddof=1)) / 2
        correction = 1 - 3 / (4 * (n - 1) - 1)
        difference = x.mean() - y.mean()
    else:
        x, y = _as_vector(a), _as_vector(b)
        if x.size < 2 or y.size < 2:
            return NAN
        return hedges_g_from_summary(
            x.size, x.mean(), x.std(ddof=1), y.size, y.mean(), y.std(ddof=1)
        )
    if standardiser == 0:
        return NAN
    return float(correction * difference / standardiser)


def hedges_g_from_summary(
    n_a: float, mean_a: float, sd_a: float, n_b: float, mean_b: float, sd_b: float
) -> float:
    """Independent-samples Hedges' g from each side's n, mean and SD (see ``hedges_g``)."""
    return welch_from_summary(n_a, mean_a, sd_a, n_b, mean_b, sd_b).hedges_g


@dataclass(frozen=True)
class Difference:
    """A mean difference (left − right) with its confidence interval and test."""

    diff: float
    ci_low: float
    ci_high: float
    se: float
    df: float
    t: float
    p_value: float
    hedges_g: float
    method: str


def _difference(diff: float, se: float, df: float, g: float, method: str, level: float):
    """Assemble a Difference; a zero or undefined SE leaves CI, t and p undefined (NaN)."""
    if not (se > 0 and df > 0):
        return Difference(diff, NAN, NAN, se, df if df > 0 else NAN, NAN, NAN, g, method)
    half_width = _t_quantile(level, df) * se
    t = diff / se
    return Difference(
        diff, diff - half_width, diff + half_width, se, df, t, _two_sided_p(t, df), g, method
    )


def welch_from_summaries(
    n_a: ArrayLike,
    mean_a: ArrayLike,
    sd_a: ArrayLike,
    n_b: ArrayLike,
    mean_b: ArrayLike,
    sd_b: ArrayLike,
    level: float = 0.95,
) -> dict[str, NDArray[np.float64]]:
    """Welch's unequal-variance t for mean_a − mean_b from each side's n, mean and SD,
    element-wise over arrays (one comparison per element).

        se = sqrt(s_a² / n_a + s_b² / n_b)
        df = se⁴ / ((s_a² / n_a)² / (n_a − 1) + (s_b² / n_b)² / (n_b − 1))   (Satterthwaite)

    CI = diff ± t_{(1+level)/2, df} · se, two-sided p (Welch 1947, Biometrika 34, 28–35);
    ``hedges_g`` the independent-samples g of ``hedges_g_from_summary``. Where a side has
    fewer than 2 values everything but the difference is NaN (the difference too when a
    side is empty); where both sides are constant (se = 0) CI, t, df and p are NaN.

    Returns arrays under the field names of ``Difference`` (without ``method``). Welch's test
    needs nothing but these summaries, so stored cell results (n, mean, SD) give the same
    result as the ratings.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    n_a, n_b = np.asarray(n_a, dtype=float), np.asarray(n_b, dtype=float)
    mean_a, mean_b = np.asarray(mean_a, dtype=float), np.asarray(mean_b, dtype=float)
    sd_a, sd_b = np.asarray(sd_a, dtype=float), np.asarray(sd_b, dtype=float)
    with _quiet():
        diff = np.where((n_a > 0) & (n_b > 0), mean_a - mean_b, np.nan)
        enough = (n_a >= 2) & (n_b >= 2)
        share_a = np.where(enough, sd_a**2 / n_a, np.nan)
        share_b = np.where(enough, sd_b**2 / n_b, np.nan)
        se = np.sqrt(share_a + share_b)
        df = (share_a + share_b) ** 2 / (share_a**2 / (n_a - 1) + share_b**2 / (n_b - 1))
        df = np.where(np.isfinite(df) & (df > 0), df, np.nan)
        pooled_var = ((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2)
        correction = 1 - 3 / (4 * (n_a + n_b) - 9)
        hedges = np.where(
            enough & (pooled_var > 0), correction * (mean_a - mean_b) / np.sqrt(pooled_var), np.nan
        )
    return _t_test_fields(diff, se, df, hedges, level)


def _t_test_fields(diff, se, df, hedges, level: float) -> dict[str, NDArray[np.float64]]:
    """The ``Difference`` fields (without ``method``) of t tests given element-wise by their
    difference, SE and degrees of freedom: CI = diff ± t_{(1+level)/2, df} · se, t = diff /
    se and the two-sided p; NaN where se is not positive or df is undefined."""
    with _quiet():
        testable = (se > 0) & (df > 0)
        safe_df = np.where(testable, df, 1.0)
        half_width = np.where(testable, sps.t.ppf(0.5 + level / 2, safe_df) * se, np.nan)
        t = np.where(testable, diff / np.where(testable, se, 1.0), np.nan)
        p_value = np.where(testable, 2 * sps.t.sf(np.abs(t), safe_df), np.nan)
    return {
        "diff": diff,
        "ci_low": diff - half_width,
        "ci_high": diff + half_width,
        "se": se,
        "df": df,
        "t": t,
        "p_value": p_value,
        "hedges_g": hedges,
    }


def welch_from_summary(
    n_a: float,
    mean_a: float,
    sd_a: float,
    n_b: float,
    mean_b: float,
    sd_b: float,
    level: float = 0.95,
) -> Difference:
    """``welch_from_summaries`` for one comparison, as a ``Difference``."""
    result = welch_from_summaries([n_a], [mean_a], [sd_a], [n_b], [mean_b], [sd_b], level)
    return Difference(**{name: float(values[0]) for name, values in result.items()}, method="welch")


def welch_difference(a: ArrayLike, b: ArrayLike, level: float = 0.95) -> Difference:
    """Welch's unequal-variance t for mean(a) − mean(b) on raw values (NaN dropped).

    See ``welch_from_summary`` for the formulas and the NaN conventions.
    """
    x, y = _as_vector(a), _as_vector(b)
    n_a, n_b = x.size, y.size
    return welch_from_summary(
        n_a,
        float(x.mean()) if n_a else NAN,
        float(x.std(ddof=1)) if n_a >= 2 else NAN,
        n_b,
        float(y.mean()) if n_b else NAN,
        float(y.std(ddof=1)) if n_b >= 2 else NAN,
        level,
    )


def _paired_vectors(a: ArrayLike, b: ArrayLike) -> tuple[NDArray, NDArray]:
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} vs {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep], y[keep]


def paired_difference(a: ArrayLike, b: ArrayLike, level: float = 0.95) -> Difference:
    """Paired t for mean(a − b) over aligned pairs (Student 1908).

    d_i = a_i − b_i over pairs where both are present; se = s_d / √n, df = n − 1,
    CI = mean(d) ± t_{(1+level)/2, n−1} · se, two-sided p. Effect size is the paired Hedges'
    g_av (see ``hedges_g``). Fewer than 2 pairs: NaN except the difference; constant
    differences (se = 0): CI, t and p are NaN.
    """
    x, y = _paired_vectors(a, b)
    n = x.size
    diff = float((x - y).mean()) if n else NAN
    if n < 2:
        return Difference(diff, NAN, NAN, NAN, NAN, NAN, NAN, NAN, "paired")
    se = float((x - y).std(ddof=1) / math.sqrt(n))
    return _difference(diff, se, float(n - 1), hedges_g(x, y, paired=True), "paired", level)


def _variance_from_sums(n, sums, sums_of_squares):
    """Sample variance (ddof = 1) from n, Σx and Σx², element-wise; NaN where n < 2.

    (Σx² − (Σx)² / n) / (n − 1); a result that rounding left a few ulps off zero (constant
    data) or below it is set to exactly 0."""
    with _quiet():
        centred = sums_of_squares - sums**2 / n
        centred = np.where(centred <= 1e-12 * np.maximum(sums_of_squares, 1.0), 0.0, centred)
        return np.where(n >= 2, centred / (n - 1), np.nan)


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
    with _quiet():
        mean = np.where(n > 0, sums / n, np.nan)
        sd = np.sqrt(_variance_from_sums(n, sums, sums_of_squares))
        se = sd / np.sqrt(n)
        t = sps.t.ppf(0.5 + level / 2, np.where((n >= 2) & (se > 0), n - 1, np.nan))
    return {"mean": mean, "sd": sd, "se": se, "ci_low": mean - t * se, "ci_high": mean + t * se}


def paired_from_sums(
    n: ArrayLike,
    sum_a: ArrayLike,
    sum_b: ArrayLike,
    sum_aa: ArrayLike,
    sum_bb: ArrayLike,
    sum_ab: ArrayLike,
    level: float = 0.95,
) -> dict[str, NDArray[np.float64]]:
    """``paired_difference`` element-wise from the sums over the n complete pairs (a, b).

    With d = a − b: Σd = Σa − Σb and Σd² = Σa² + Σb² − 2Σab, so the paired t (mean d,
    s_d, se = s_d / √n, df = n − 1; Student 1908) and the paired Hedges' g_av (``hedges_g``
    with ``paired=True``: J · mean(d) / ((s_a + s_b) / 2), J = 1 − 3 / (4 (n − 1) − 1)) need
    only these six numbers per comparison, which a database computes in one ``GROUP BY``.
    Returns arrays under the field names of ``Difference`` (without ``method``), NaN where
    ``paired_difference`` gives NaN.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    n, sum_a, sum_b, sum_aa, sum_bb, sum_ab = (
        np.asarray(x, dtype=float) for x in (n, sum_a, sum_b, sum_aa, sum_bb, sum_ab)
    )
    with _quiet():
        diff = np.where(n > 0, (sum_a - sum_b) / n, np.nan)
        var_d = _variance_from_sums(n, sum_a - sum_b, sum_aa + sum_bb - 2 * sum_ab)
        se = np.sqrt(var_d / n)
        df = np.where(n >= 2, n - 1, np.nan)
        standardiser = (
            np.sqrt(_variance_from_sums(n, sum_a, sum_aa))
            + np.sqrt(_variance_from_sums(n, sum_b, sum_bb))
        ) / 2
        correction = 1 - 3 / (4 * (n - 1) - 1)
        hedges = np.where(
            (n >= PAIRED_G_MIN_PAIRS) & (standardiser > 0), correction * diff / standardiser, np.nan
        )
    return _t_test_fields(diff, se, df, hedges, level)


# --------------------------------------------------------------------------------------------
# Multiplicity, profiles, correlation
# --------------------------------------------------------------------------------------------


def benjamini_hochberg(p_values: ArrayLike) -> NDArray[np.float64]:
    """Benjamini–Hochberg step-up adjusted p-values (false discovery rate).

    Y. Benjamini and Y. Hochberg (1995), "Controlling the false discovery rate", JRSS B 57(1),
    289-300. With the m non-missing p sorted ascending p_(1) ≤ ... ≤ p_(m):

        p_adj_(i) = min(1, min_{j ≥ i} m · p_(j) / j)

    Rejecting where p_adj ≤ q is the BH procedure at level q. NaN inputs stay NaN and do not
    count in m. Returns an array in the input order.
    """
    p = np.asarray(p_values, dtype=float).ravel()
    adjusted = np.full(p.shape, NAN)
    present = np.flatnonzero(~np.isnan(p))
    m = present.size
    if m == 0:
        return adjusted
    if ((p[present] < 0) | (p[present] > 1)).any():
        raise ValueError("p-values must lie in [0, 1]")
    order = present[np.argsort(p[present], kind="stable")]
    scaled = p[order] * m / np.arange(1, m + 1)
    adjusted[order] = np.minimum(np.minimum.accumulate(scaled[::-1])[::-1], 1.0)
    return adjusted


def profile_distance(left: Mapping[str, float], right: Mapping[str, float]) -> float:
    """Euclidean distance between two role profiles over their common roles.

        D = sqrt(sum_r (mean_left_r − mean_right_r)²)

    for the roles r that have a non-missing mean on both sides (a dict or a pandas Series,
    role → mean). In scale units: D = 0 means identical profiles; one role apart by 3 points
    gives 3. D grows with the number of common roles, so compare distances only across
    comparisons over the same role set (or divide by √(number of roles) for an RMS). NaN when
    no role is common.
    """
    squares = [
        (float(left[role]) - float(right[role])) ** 2
        for role in left
        if role in right and not (math.isnan(left[role]) or math.isnan(right[role]))
    ]
    if not squares:
        return NAN
    return math.sqrt(sum(squares))


@dataclass(frozen=True)
class Correlation:
    """Pearson r with a Fisher-z confidence interval."""

    r: float
    ci_low: float
    ci_high: float
    n: int
    p_value: float


def correlation_ci(x: ArrayLike, y: ArrayLike, level: float = 0.95) -> Correlation:
    """Pearson correlation r with the Fisher z-transformation confidence interval.

        z = atanh(r),  CI = tanh(z ± z_{(1+level)/2} / √(n − 3))

    (Fisher 1921). Pairs with a NaN are dropped; p is the two-sided t test of r = 0 with
    n − 2 df. r is NaN for n < 3 or a constant variable, the CI is NaN for n < 4.
    """
    a, b = _paired_vectors(x, y)
    n = int(a.size)
    if n < 3 or a.std() == 0 or b.std() == 0:
        return Correlation(NAN, NAN, NAN, n, NAN)
    r = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    with _quiet():
        t = r * math.sqrt((n - 2) / (1 - r**2)) if abs(r) < 1 else math.copysign(math.inf, r)
        p_value = float(2 * sps.t.sf(abs(t), n - 2))
        if n < 4:
            return Correlation(r, NAN, NAN, n, p_value)
        z = np.arctanh(r)
        half_width = float(sps.norm.ppf(0.5 + level / 2)) / math.sqrt(n - 3)
        low, high = float(np.tanh(z - half_width)), float(np.tanh(z + half_width))
    return Correlation(r, low, high, n, p_value)
