"""Inter-rater reliability: Krippendorff's alpha and intraclass correlations.

Pure functions (no Django); NaN where a coefficient is undefined, ``ValueError`` only for
misuse. Re-exported by ``aggregation.stats``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from aggregation.numeric import NAN, as_matrix, finite_or_nan, quiet

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

ALPHA_LEVELS = ("nominal", "ordinal", "interval", "ratio")


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
    with quiet():
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
    matrix = as_matrix(data)
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
    matrix = as_matrix(data)
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
    return {name: finite_or_nan(value) for name, value in result.items()}


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
        "ICC1": finite_or_nan(ratio(bms - wms, bms + (n0 - 1) * wms)),
        "ICC1k": finite_or_nan(ratio(bms - wms, bms)),
    }


# --------------------------------------------------------------------------------------------
# Bootstrap confidence intervals
# --------------------------------------------------------------------------------------------

BOOTSTRAP_REPLICATES = 1000
"""B, the bootstrap replicates of each reliability interval."""
BOOTSTRAP_SEED = 0
"""The seed of the reliability intervals; each block mixes in its own key (``engine``)."""
BOOTSTRAP_MIN_UNITS = 3
"""Fewer units with pairable values than this: no interval (two units resample three ways)."""
BOOTSTRAP_MIN_DEFINED = 0.5
"""Share of replicates in which a coefficient must be defined for its interval to be given."""
RELIABILITY_COEFFICIENTS = ("alpha_interval", "alpha_ordinal", "icc1", "icc1k")


def _alpha_batch(
    counts: NDArray[np.float64], values: NDArray[np.float64], level: str
) -> NDArray[np.float64]:
    """``krippendorff_alpha_from_counts`` of a stack of count matrices (replicates × units ×
    values) over the same ``values``, at once. A value a replicate lacks has marginal 0 and
    adds nothing; units with fewer than two values add nothing to the coincidences."""
    per_unit = counts.sum(axis=2)
    with quiet():
        scaled = np.where(per_unit[..., None] >= 2, counts / (per_unit - 1)[..., None], 0.0)
        coincidences = np.matmul(scaled.transpose(0, 2, 1), counts)
        coincidences -= scaled.sum(axis=1)[:, :, None] * np.eye(values.size)[None]
        marginals = coincidences.sum(axis=2)
        total = marginals.sum(axis=1)
        if level == "ordinal":
            mid_ranks = np.cumsum(marginals, axis=1) - marginals / 2
            delta2 = (mid_ranks[:, None, :] - mid_ranks[:, :, None]) ** 2
            observed = (coincidences * delta2).sum(axis=(1, 2)) / total
            expected = np.matmul(marginals[:, None, :], np.matmul(delta2, marginals[:, :, None]))[
                :, 0, 0
            ]
        else:
            delta2 = _squared_distances(values, marginals[0], level)
            observed = (coincidences * delta2).sum(axis=(1, 2)) / total
            expected = ((marginals @ delta2) * marginals).sum(axis=1)
        expected = expected / (total * (total - 1))
        alpha = 1 - observed / expected
    return np.where((total > 0) & (expected > 0), alpha, np.nan)


def _icc_oneway_batch(
    n: NDArray[np.float64], sums: NDArray[np.float64], sums_of_squares: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """``icc_oneway_from_summaries`` of a stack of per-target summaries (replicates ×
    targets), at once; targets without a rating have n = 0 and count nowhere."""
    rated = n > 0
    targets = rated.sum(axis=1)
    total = n.sum(axis=1)
    with quiet():
        means = np.where(rated, sums / n, 0.0)
        grand_mean = sums.sum(axis=1) / total
        ss_between = (n * (means - grand_mean[:, None]) ** 2).sum(axis=1)
        ss_within = np.maximum(0.0, (sums_of_squares - sums * means).sum(axis=1))
        bms = ss_between / (targets - 1)
        wms = ss_within / (total - targets)
        n0 = (total - (n**2).sum(axis=1) / total) / (targets - 1)
        scale = np.maximum(bms, wms)
        one = np.where(np.abs(bms + (n0 - 1) * wms) <= 1e-12 * scale, np.nan, bms + (n0 - 1) * wms)
        k = np.where(np.abs(bms) <= 1e-12 * scale, np.nan, bms)
        defined = (targets >= 2) & (total > targets) & (scale > 0)
        icc1 = np.where(defined, (bms - wms) / one, np.nan)
        icc1k = np.where(defined, (bms - wms) / k, np.nan)
    return {
        "ICC1": np.where(np.isfinite(icc1), icc1, np.nan),
        "ICC1k": np.where(np.isfinite(icc1k), icc1k, np.nan),
    }


def reliability_coefficients_batch(
    counts: NDArray[np.float64], values: NDArray[np.float64]
) -> dict[str, NDArray[np.float64]]:
    """Krippendorff's alpha (interval, ordinal) and the one-way ICC(1,1), ICC(1,k) of a stack
    of unit × value count matrices (``RELIABILITY_COEFFICIENTS``, one value per matrix)."""
    icc_values = _icc_oneway_batch(counts.sum(axis=2), counts @ values, counts @ values**2)
    return {
        "alpha_interval": _alpha_batch(counts, values, "interval"),
        "alpha_ordinal": _alpha_batch(counts, values, "ordinal"),
        "icc1": icc_values["ICC1"],
        "icc1k": icc_values["ICC1k"],
    }


def reliability_bootstrap(
    counts: ArrayLike,
    values: ArrayLike,
    *,
    replicates: int = BOOTSTRAP_REPLICATES,
    seed: int | Sequence[int] = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Percentile bootstrap intervals of alpha (interval, ordinal), ICC(1,1) and ICC(1,k),
    resampling units.

    ``counts`` is units × ``values`` as in ``krippendorff_alpha_from_counts``. Each of the B
    = ``replicates`` replicates draws as many units as have a value, with replacement, from
    those units, and recomputes every coefficient on the drawn units' counts; the interval is
    the (1 − level)/2 and (1 + level)/2 quantiles of the replicates (B. Efron and R. J.
    Tibshirani 1993, An Introduction to the Bootstrap, ch. 13). Resampling units keeps each
    unit's values together, as they depend on each other. (A. F. Hayes and K. Krippendorff
    2007, "Answering the call for a standard reliability measure for coding data",
    Communication Methods and Measures 1(1), 77–89, bootstrap alpha by resampling pairs of
    values with the expected disagreement held fixed; resampling units is the variant of
    A. Zapf, S. Castell, L. Morawietz and A. Karch 2016, "Measuring inter-rater reliability
    for nominal data", BMC Medical Research Methodology 16:93, which works from the same
    counts and serves the ICC as well.)

    ``seed`` fixes numpy's generator, so the same counts and seed give the same intervals.
    (NaN, NaN) for a coefficient whose estimate on all units is NaN, when fewer than
    ``BOOTSTRAP_MIN_UNITS`` units have pairable values, or when it is undefined in more than
    half of the replicates; replicates where it is undefined are left out otherwise.
    """
    if replicates < 1:
        raise ValueError(f"replicates must be positive, got {replicates}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    counts = np.asarray(counts, dtype=float)
    values = np.asarray(values, dtype=float)
    if counts.ndim != 2 or counts.shape[1] != values.size:
        raise ValueError("counts must be units x values, one column per value")
    undefined = dict.fromkeys(RELIABILITY_COEFFICIENTS, (NAN, NAN))
    counts = counts[counts.sum(axis=1) > 0]
    if (counts.sum(axis=1) >= 2).sum() < BOOTSTRAP_MIN_UNITS:
        return undefined
    estimates = reliability_coefficients_batch(counts[None], values)
    rng = np.random.default_rng(seed)
    drawn = rng.integers(0, counts.shape[0], size=(replicates, counts.shape[0]))
    boot = reliability_coefficients_batch(counts[drawn], values)
    tails = (100 * (1 - level) / 2, 100 * (1 + level) / 2)
    intervals = {}
    for name in RELIABILITY_COEFFICIENTS:
        sample = boot[name][np.isfinite(boot[name])]
        if np.isnan(estimates[name][0]) or sample.size < BOOTSTRAP_MIN_DEFINED * replicates:
            intervals[name] = (NAN, NAN)
            continue
        low, high = np.percentile(sample, tails)
        intervals[name] = (float(low), float(high))
    return intervals
