"""Comparisons of two sets of ratings: t tests, effect sizes, multiplicity, profiles.

Pure functions (no Django); NaN where a statistic is undefined, ``ValueError`` only for
misuse. Re-exported by ``aggregation.stats``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as sps

from aggregation.numeric import (
    NAN,
    as_vector,
    paired_vectors,
    quiet,
    t_quantile,
    two_sided_p,
    variance_from_sums,
)

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

# The paired Hedges' g needs df = n − 1 ≥ 2: at 2 pairs its factor J is 0 (``hedges_g``).
PAIRED_G_MIN_PAIRS = 3


# --------------------------------------------------------------------------------------------
# Effect sizes and t tests
# --------------------------------------------------------------------------------------------


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
        x, y = paired_vectors(a, b)
        n = x.size
        if n < PAIRED_G_MIN_PAIRS:
            return NAN
        standardiser = (x.std(ddof=1) + y.std(ddof=1)) / 2
        correction = 1 - 3 / (4 * (n - 1) - 1)
        difference = x.mean() - y.mean()
    else:
        x, y = as_vector(a), as_vector(b)
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
    half_width = t_quantile(level, df) * se
    t = diff / se
    return Difference(
        diff, diff - half_width, diff + half_width, se, df, t, two_sided_p(t, df), g, method
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
    with quiet():
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
    with quiet():
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
    x, y = as_vector(a), as_vector(b)
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


def paired_difference(a: ArrayLike, b: ArrayLike, level: float = 0.95) -> Difference:
    """Paired t for mean(a − b) over aligned pairs (Student 1908).

    d_i = a_i − b_i over pairs where both are present; se = s_d / √n, df = n − 1,
    CI = mean(d) ± t_{(1+level)/2, n−1} · se, two-sided p. Effect size is the paired Hedges'
    g_av (see ``hedges_g``). Fewer than 2 pairs: NaN except the difference; constant
    differences (se = 0): CI, t and p are NaN.
    """
    x, y = paired_vectors(a, b)
    n = x.size
    diff = float((x - y).mean()) if n else NAN
    if n < 2:
        return Difference(diff, NAN, NAN, NAN, NAN, NAN, NAN, NAN, "paired")
    se = float((x - y).std(ddof=1) / math.sqrt(n))
    return _difference(diff, se, float(n - 1), hedges_g(x, y, paired=True), "paired", level)


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
    with quiet():
        diff = np.where(n > 0, (sum_a - sum_b) / n, np.nan)
        var_d = variance_from_sums(n, sum_a - sum_b, sum_aa + sum_bb - 2 * sum_ab)
        se = np.sqrt(var_d / n)
        df = np.where(n >= 2, n - 1, np.nan)
        standardiser = (
            np.sqrt(variance_from_sums(n, sum_a, sum_aa))
            + np.sqrt(variance_from_sums(n, sum_b, sum_bb))
        ) / 2
        correction = 1 - 3 / (4 * (n - 1) - 1)
        hedges = np.where(
            (n >= PAIRED_G_MIN_PAIRS) & (standardiser > 0), correction * diff / standardiser, np.nan
        )
    return _t_test_fields(diff, se, df, hedges, level)


def correlation_from_sums(
    n: ArrayLike,
    sum_a: ArrayLike,
    sum_b: ArrayLike,
    sum_aa: ArrayLike,
    sum_bb: ArrayLike,
    sum_ab: ArrayLike,
) -> NDArray[np.float64]:
    """Pearson r of n pairs (a, b) from Σa, Σb, Σa², Σb², Σab, element-wise:

        r = (Σab − Σa Σb / n) / √((Σa² − (Σa)² / n) (Σb² − (Σb)² / n))

    0 where there are fewer than 2 pairs or one side of the pairs is constant: as in
    Derrick, Toher & White (2017), the overlapping-samples test then uses no correlation.
    """
    n, sum_a, sum_b, sum_aa, sum_bb, sum_ab = (
        np.asarray(x, dtype=float) for x in (n, sum_a, sum_b, sum_aa, sum_bb, sum_ab)
    )
    with quiet():
        var_a = variance_from_sums(n, sum_a, sum_aa)
        var_b = variance_from_sums(n, sum_b, sum_bb)
        covariance = (sum_ab - sum_a * sum_b / n) / (n - 1)
        r = covariance / np.sqrt(var_a * var_b)
    defined = (n >= 2) & (var_a > 0) & (var_b > 0)
    return np.where(defined, np.clip(r, -1.0, 1.0), 0.0)


def overlapping_from_summaries(
    n_a: ArrayLike,
    mean_a: ArrayLike,
    sd_a: ArrayLike,
    n_b: ArrayLike,
    mean_b: ArrayLike,
    sd_b: ArrayLike,
    n_pairs: ArrayLike,
    r: ArrayLike,
    level: float = 0.95,
) -> dict[str, NDArray[np.float64]]:
    """The partially overlapping samples t test (T_new2) of mean_a − mean_b, element-wise.

    Two samples that share ``n_pairs`` units (here: experts who rated both sides) and have
    others of their own. Sample a has ``n_a`` values in all (its n_pairs paired ones
    included), mean ``mean_a`` and SD ``sd_a``; likewise b; ``r`` is the Pearson correlation
    of the paired values (``correlation_from_sums``). B. Derrick, B. Russ, D. Toher and
    P. White (2017), "Test statistics for the comparison of means for two samples that
    include both paired and independent observations", Journal of Modern Applied Statistical
    Methods 16(1), 137–157; B. Derrick, D. Toher and P. White (2017), "How to compare the
    means of two samples that include paired observations and independent observations: a
    companion to Derrick, Russ, Toher and White (2017)", The Quantitative Methods for
    Psychology 13(2), 120–126:

        se = √(s_a² / n_a + s_b² / n_b − 2 r s_a s_b n_c / (n_a n_b)),  t = diff / se
        γ  = Welch–Satterthwaite df of the two samples (``welch_from_summaries``)
        df = (n_c − 1) + (γ − n_c + 1) (n_a + n_b − 2 n_c) / (n_a + n_b)

    with n_c = ``n_pairs``; CI = diff ± t_{(1+level)/2, df} · se. With no pairs it is
    Welch's test; with no unpaired values (and n_c ≥ 2) its se is the paired test's. The
    effect size is the independent-samples Hedges' g of the two samples (the standardiser
    does not depend on the overlap). NaN where a sample has fewer than 2 values, and CI, t
    and p NaN where se is 0 or df is not positive.
    """
    welch = welch_from_summaries(n_a, mean_a, sd_a, n_b, mean_b, sd_b, level)
    n_a, n_b = np.asarray(n_a, dtype=float), np.asarray(n_b, dtype=float)
    sd_a, sd_b = np.asarray(sd_a, dtype=float), np.asarray(sd_b, dtype=float)
    n_c, r = np.asarray(n_pairs, dtype=float), np.asarray(r, dtype=float)
    if ((n_c < 0) | (n_c > np.minimum(n_a, n_b))).any():
        raise ValueError("n_pairs must lie between 0 and the smaller sample's n")
    with quiet():
        variance = sd_a**2 / n_a + sd_b**2 / n_b - 2 * r * sd_a * sd_b * n_c / (n_a * n_b)
        se = np.sqrt(np.where(variance > 0, variance, 0.0))
        se = np.where(np.isnan(welch["se"]), np.nan, se)
        gamma = welch["df"]
        df = (n_c - 1) + (gamma - n_c + 1) * (n_a + n_b - 2 * n_c) / (n_a + n_b)
        df = np.where(np.isfinite(df) & (df > 0), df, np.nan)
    return _t_test_fields(welch["diff"], se, df, welch["hedges_g"], level)


def partially_overlapping_difference(
    a_only: ArrayLike,
    b_only: ArrayLike,
    a_paired: ArrayLike,
    b_paired: ArrayLike,
    *,
    equal_variances: bool = False,
    level: float = 0.95,
) -> Difference:
    """The partially overlapping samples t test on raw values, with the four samples of
    Derrick et al.'s R package *Partiallyoverlapping* (``Partover.test``): the values only
    in a, only in b, and the aligned pairs (NaN dropped; a pair with a NaN is dropped).

    ``equal_variances=False`` is T_new2 (``overlapping_from_summaries``). ``True`` is
    T_new1, with the pooled s_p² = ((n_a − 1) s_a² + (n_b − 1) s_b²) / (n_a + n_b − 2):

        se = s_p √(1 / n_a + 1 / n_b − 2 r n_c / (n_a n_b))
        df = (n_c − 1) + (n_a + n_b − 2 n_c + n_c − 1) (n_a + n_b − 2 n_c) / (n_a + n_b)
    """
    x3, x4 = paired_vectors(a_paired, b_paired)
    a = np.concatenate([as_vector(a_only), x3])
    b = np.concatenate([as_vector(b_only), x4])
    n_a, n_b, n_c = a.size, b.size, x3.size
    mean_a = float(a.mean()) if n_a else NAN
    mean_b = float(b.mean()) if n_b else NAN
    sd_a = float(a.std(ddof=1)) if n_a >= 2 else NAN
    sd_b = float(b.std(ddof=1)) if n_b >= 2 else NAN
    r = correlation_from_sums(n_c, x3.sum(), x4.sum(), x3 @ x3, x4 @ x4, x3 @ x4)
    fields = overlapping_from_summaries(
        [n_a], [mean_a], [sd_a], [n_b], [mean_b], [sd_b], [n_c], [r], level
    )
    if equal_variances:
        with quiet():
            pooled = ((n_a - 1) * sd_a**2 + (n_b - 1) * sd_b**2) / (n_a + n_b - 2)
            se = math.sqrt(pooled * (1 / n_a + 1 / n_b - 2 * float(r) * n_c / (n_a * n_b)))
        unpaired = n_a + n_b - 2 * n_c
        df = (n_c - 1) + (unpaired + n_c - 1) * unpaired / (n_a + n_b)
        fields = _t_test_fields(
            fields["diff"], np.array([se]), np.array([float(df)]), fields["hedges_g"], level
        )
    values = {name: float(np.asarray(value).ravel()[0]) for name, value in fields.items()}
    return Difference(**values, method="overlapping")


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


FAMILY_COMPARISON = "comparison"
FAMILY_WAVE_PRESET = "wave_preset"
BH_FAMILIES = (FAMILY_COMPARISON, FAMILY_WAVE_PRESET)
"""The Benjamini–Hochberg families a report can choose: the roles of one comparison (what a
run stores), or every test of one wave and preset (the overview matrix: every subject and
role of the preset)."""


def benjamini_hochberg_by_family(
    p_values: ArrayLike, families: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """``benjamini_hochberg`` within each family: ``families`` labels each p-value with its
    family (any hashable labels, aligned with ``p_values``). Returns the adjusted p-values
    and, per p-value, the size of its family (the p-values of the family that exist, as
    ``benjamini_hochberg`` counts m), both in the input order."""
    p = np.asarray(p_values, dtype=float).ravel()
    labels = np.asarray(families, dtype=object).ravel()
    if labels.shape != p.shape:
        raise ValueError(f"p_values and families differ in length: {p.size} vs {labels.size}")
    adjusted = np.full(p.shape, NAN)
    sizes = np.zeros(p.shape, dtype=np.int64)
    _, family = np.unique(labels.astype(str), return_inverse=True)
    for code in np.unique(family):
        members = np.flatnonzero(family == code)
        adjusted[members] = benjamini_hochberg(p[members])
        sizes[members] = int(np.count_nonzero(~np.isnan(p[members])))
    return adjusted, sizes


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
    a, b = paired_vectors(x, y)
    n = int(a.size)
    if n < 3 or a.std() == 0 or b.std() == 0:
        return Correlation(NAN, NAN, NAN, n, NAN)
    r = float(np.clip(np.corrcoef(a, b)[0, 1], -1.0, 1.0))
    with quiet():
        t = r * math.sqrt((n - 2) / (1 - r**2)) if abs(r) < 1 else math.copysign(math.inf, r)
        p_value = float(2 * sps.t.sf(abs(t), n - 2))
        if n < 4:
            return Correlation(r, NAN, NAN, n, p_value)
        z = np.arctanh(r)
        half_width = float(sps.norm.ppf(0.5 + level / 2)) / math.sqrt(n - 3)
        low, high = float(np.tanh(z - half_width)), float(np.tanh(z + half_width))
    return Correlation(r, low, high, n, p_value)


def significant_difference(
    p_adjusted: float | None, ci_low: float | None, ci_high: float | None
) -> bool | None:
    """Whether a stored difference counts as significant: adjusted p (Benjamini–Hochberg)
    below 0.05; without a p-value (the ordinal IRT) its 95 % interval excludes zero; None
    when neither is known."""
    if p_adjusted is not None:
        return p_adjusted < 0.05
    if ci_low is None or ci_high is None:
        return None
    return ci_low > 0 or ci_high < 0
