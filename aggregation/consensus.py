"""Pure statistics of Delphi rounds: concordance, consensus and stability.

Like ``aggregation.stats`` (which re-exports ``kendalls_w``), nothing here knows about Django.
The functions take plain numbers, NaN for a missing rating or *cannot judge*, and return
floats or small frozen dataclasses. A statistic that the data cannot define (fewer than two
values, no change at all, ...) comes back as NaN; ``ValueError`` is raised only for misuse.

Round 1 stays the primary data of a Delphi study: agreement reached in later rounds is partly
pressure to conform (Woudenberg 1991, "An evaluation of Delphi", *Technological Forecasting
and Social Change* 40: 131–150). These figures describe the rounds; they do not replace
round 1's estimates.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as sps

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

NAN = float("nan")


def _vector(values: ArrayLike) -> NDArray[np.float64]:
    array = np.asarray(values, dtype=float).ravel()
    return array[~np.isnan(array)]


# Kendall's W ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Concordance:
    """Kendall's W with its chi-square test: ``chi2`` on ``df`` degrees of freedom, ``p``."""

    w: float
    chi2: float
    df: int
    p: float


def kendalls_w(data: ArrayLike, *, correct_ties: bool = True) -> Concordance:
    """Kendall's coefficient of concordance W of m raters ranking n objects.

    ``data`` is 2-D: rows are the ranked objects (here, the items of a block), columns the
    raters (the experts). Each column is ranked on its own, tied values getting their mean
    rank; a row with a missing value is left out (listwise, as in the textbook statistic).
    With R_j the rank sum of object j and S = Σ (R_j − m(n+1)/2)²,

        W = 12 S / (m² (n³ − n) − m Σ T),   T = Σ_groups (t³ − t) over each rater's ties,

    where ``Σ T`` is 0 without the tie correction (Kendall & Babington Smith 1939, "The
    problem of m rankings", *Annals of Mathematical Statistics* 10: 275–287; Siegel &
    Castellan 1988, *Nonparametric Statistics for the Behavioral Sciences*, 2nd ed., section
    9.4). The large-sample test is χ² = m (n − 1) W on n − 1 degrees of freedom (the Friedman
    statistic). NaN when fewer than two objects or raters remain, or when every rater ties
    every object.
    """
    matrix = np.asarray(data, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array, got {matrix.ndim} dimension(s)")
    matrix = matrix[~np.isnan(matrix).any(axis=1)]
    n, m = matrix.shape
    if n < 2 or m < 2:
        return Concordance(w=NAN, chi2=NAN, df=max(n - 1, 0), p=NAN)
    ranks = np.apply_along_axis(sps.rankdata, 0, matrix)
    rank_sums = ranks.sum(axis=1)
    s = float(((rank_sums - m * (n + 1) / 2) ** 2).sum())
    ties = 0.0
    if correct_ties:
        for column in matrix.T:
            _, counts = np.unique(column, return_counts=True)
            ties += float((counts**3 - counts).sum())
    denominator = m**2 * (n**3 - n) - m * ties
    if denominator <= 0:
        return Concordance(w=NAN, chi2=NAN, df=n - 1, p=NAN)
    w = 12 * s / denominator
    chi2 = m * (n - 1) * w
    return Concordance(w=w, chi2=chi2, df=n - 1, p=float(sps.chi2.sf(chi2, n - 1)))


# Consensus -----------------------------------------------------------------------------------


def interquartile_range(values: ArrayLike) -> tuple[float, float, float]:
    """The first quartile, the median and the third quartile of the non-missing values.

    Quartiles by linear interpolation between order statistics (Hyndman & Fan 1996, "Sample
    quantiles in statistical packages", *The American Statistician* 50: 361–365, type 7;
    the default of R and numpy). The IQR is Q3 − Q1. NaN for no values.
    """
    array = _vector(values)
    if array.size == 0:
        return NAN, NAN, NAN
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    return float(q1), float(median), float(q3)


def share_near_median(values: ArrayLike, *, distance: float = 1.0) -> float:
    """The share of ratings at most ``distance`` scale points from their median.

    p = #{i : |x_i − median(x)| ≤ distance} / n, the "percentage within one point of the
    median" used as a Delphi consensus criterion (von der Gracht 2012, "Consensus
    measurement in Delphi studies", *Technological Forecasting and Social Change* 79:
    1525–1536). NaN for no values.
    """
    array = _vector(values)
    if array.size == 0:
        return NAN
    median = float(np.median(array))
    return float(np.mean(np.abs(array - median) <= distance))


@dataclass(frozen=True)
class ConsensusCriterion:
    """When an item counts as agreed: IQR at most ``iqr_max`` and/or a share of at least
    ``share_min`` within ``distance`` of the median. A criterion left as None is not applied;
    with both None nothing is ever agreed."""

    iqr_max: float | None = None
    share_min: float | None = None
    distance: float = 1.0


@dataclass(frozen=True)
class ItemConsensus:
    """One item's ratings in one round (and panel, or all panels pooled)."""

    n: int
    median: float
    q1: float
    q3: float
    iqr: float
    share_near_median: float
    consensus: bool


def item_consensus(values: ArrayLike, *, criterion: ConsensusCriterion) -> ItemConsensus:
    """Median, quartiles, IQR, share near the median and the verdict of ``criterion``.

    Consensus needs at least two ratings and every criterion that is set to hold: IQR ≤
    ``iqr_max`` (an IQR of at most 1 on a 10-point scale is the usual threshold, von der
    Gracht 2012) and share ≥ ``share_min``.
    """
    array = _vector(values)
    q1, median, q3 = interquartile_range(array)
    iqr = q3 - q1
    share = share_near_median(array, distance=criterion.distance)
    tests = []
    if criterion.iqr_max is not None:
        tests.append(iqr <= criterion.iqr_max)
    if criterion.share_min is not None:
        tests.append(share >= criterion.share_min)
    return ItemConsensus(
        n=int(array.size),
        median=median,
        q1=q1,
        q3=q3,
        iqr=iqr,
        share_near_median=share,
        consensus=bool(tests) and array.size >= 2 and all(tests),
    )


# Stability between rounds --------------------------------------------------------------------


@dataclass(frozen=True)
class Stability:
    """The same experts' ratings of one item in round k − 1 and round k.

    ``pairs`` counts the experts who rated the item in both rounds, ``changed`` those whose
    value differs; ``statistic`` and ``p`` are the Wilcoxon signed-rank test's (NaN when no
    one changed).
    """

    pairs: int
    changed: int
    share_changed: float
    statistic: float
    p: float


def stability(previous: ArrayLike, current: ArrayLike) -> Stability:
    """How much an item moved between two rounds, on pairs (expert's round k − 1, round k).

    The share changed is #{i : x_i,k ≠ x_i,k−1} / pairs. The Wilcoxon signed-rank test
    (Wilcoxon 1945, "Individual comparisons by ranking methods", *Biometrics Bulletin* 1:
    80–83) asks whether the round-k ratings are shifted against round k − 1; unchanged pairs
    are dropped before ranking (Wilcoxon's own treatment of zero differences, scipy's
    ``zero_method="wilcox"``), exact p for small samples without ties, normal approximation
    otherwise (scipy's ``method="auto"``). A pair with a missing value on either side is left
    out. A non-significant test on a low share changed is the usual sign that the panel is
    stable and further rounds add little (Dajani, Sincoff & Talley 1979; von der Gracht 2012).
    """
    before = np.asarray(previous, dtype=float).ravel()
    after = np.asarray(current, dtype=float).ravel()
    if before.shape != after.shape:
        raise ValueError(f"paired ratings differ in length: {before.size} and {after.size}")
    keep = ~(np.isnan(before) | np.isnan(after))
    before, after = before[keep], after[keep]
    pairs = int(before.size)
    changed = int(np.count_nonzero(after != before))
    share = changed / pairs if pairs else NAN
    statistic = p = NAN
    if changed:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            result = sps.wilcoxon(after, before, zero_method="wilcox")
        statistic, p = float(result.statistic), float(result.pvalue)
        if math.isnan(p):
            statistic = NAN
    return Stability(pairs=pairs, changed=changed, share_changed=share, statistic=statistic, p=p)
