"""Anchoring vignettes: Aldrich–McKelvey scaling and King–Wand C-scores.

Both read an expert's scale use off their ratings of the vignettes, hypothetical actors
whose true level is the same for every expert (vignette equivalence), assuming that the
expert uses the scale for real states as for the vignettes (response consistency; King,
Murray, Salomon & Tandon 2004, "Enhancing the validity and cross-cultural comparability of
measurement in survey research", APSR 98(1), 191–207).

Missing placements are NaN. As in ``aggregation.stats``, nothing here raises for data that
leave a quantity undefined: it comes back as NaN.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

DEGENERATE_SPREAD = 0.01
"""A respondent whose placements differ in total by at most this much from their first one
(Σ_j |a_j − a_1|) placed every stimulus alike: no transformation can be estimated."""
MIN_PLACEMENTS = 3
"""Placements a respondent needs for an intercept and a weight with a residual: with two, any
two stimuli are fitted exactly (Swatton 2023, "Collected notes on Aldrich–McKelvey scaling",
arXiv:2301.08819, shows that three are needed for identification)."""


@dataclass(frozen=True)
class AldrichMcKelvey:
    """The result of ``aldrich_mckelvey``.

    ``stimuli``: the stimuli's locations on the common scale (unit length, centred, the
    ``polarity`` stimulus negative). ``fit``: basicspace's ``AMfit``, the "reduction of
    normalised variance of perceptions". ``n_used``: respondents with an estimated
    transformation; ``n_positive``/``n_negative`` by the sign of their weight.
    ``intercepts``, ``weights`` (respondents): each respondent's map c_i + w_i · a from
    their placements a to the common scale, NaN when not estimated; ``ideal_points``:
    c_i + w_i · self-placement (NaN without one). ``eigenvalues``: of Σ_i (H_i − I), ascending.
    """

    stimuli: NDArray[np.float64]
    fit: float
    n_used: int
    n_positive: int
    n_negative: int
    intercepts: NDArray[np.float64] = field(repr=False)
    weights: NDArray[np.float64] = field(repr=False)
    ideal_points: NDArray[np.float64] = field(repr=False)
    eigenvalues: NDArray[np.float64] = field(repr=False)


def aldrich_mckelvey(
    placements: ArrayLike,
    *,
    self_placements: ArrayLike | None = None,
    polarity: int = 0,
    use_incomplete: bool = False,
) -> AldrichMcKelvey:
    """Aldrich–McKelvey scaling of a respondents × stimuli array of placements.

    Model (J. H. Aldrich and R. D. McKelvey 1977, "A method of scaling with applications to
    the 1968 and 1972 presidential elections", APSR 71(1), 111–130): respondent i places
    stimulus j at a_ij with c_i + w_i · a_ij = z_j + u_ij, a linear distortion of the true
    locations z plus noise. With X_i = [1, a_i] and H_i = X_i (X_iᵀ X_i)⁻¹ X_iᵀ, minimising
    Σ_i ‖X_i (c_i, w_i)ᵀ − z‖² subject to zᵀz = 1 and Σ_j z_j = 0 gives z the eigenvector of
    A = Σ_i (H_i − I) with the second largest eigenvalue λ (the largest, 0, belongs to the
    constant vector). Then, as basicspace's Fortran routine ``mckalnew`` computes them (Poole,
    Lewis, Rosenthal, Lo & Carroll 2016, "Recovering a basic space from issue scales in R",
    Journal of Statistical Software 69(7)): ``fit`` = −N λ / (J (N + λ)²); each respondent's
    (c_i, w_i) is the least-squares regression of z · N / (N + λ) on [1, a_i]; the ideal
    point is c_i + w_i · self-placement.

    Respondents are used as basicspace up to version 0.20 uses them: those who placed every
    stimulus, and not all alike; with ``self_placements`` the transformations are reported
    only for those who also placed themselves (the stimuli use all). Without
    ``self_placements`` every used respondent gets a transformation (basicspace 0.20 then
    reports none). ``polarity`` is the index of the stimulus put on the left (negative).

    ``use_incomplete=True`` also uses respondents with missing placements who placed at least
    ``MIN_PLACEMENTS`` stimuli, each on the stimuli they placed: A = Σ_i P_iᵀ (H_i − I) P_i
    with P_i selecting their placed stimuli. The constant vector stays in the null space of
    every term, so the solution keeps its form; with complete data it is the above.
    """
    data = np.asarray(placements, dtype=float)
    if data.ndim != 2:
        raise ValueError(f"placements must be respondents × stimuli, got {data.ndim} dimension(s)")
    respondents, n_stimuli = data.shape
    if not 0 <= polarity < n_stimuli:
        raise ValueError(f"polarity must index a stimulus (0 … {n_stimuli - 1}), got {polarity}")
    selves = None if self_placements is None else np.asarray(self_placements, dtype=float).ravel()
    if selves is not None and selves.size != respondents:
        raise ValueError("self_placements must have one value per respondent")

    observed = ~np.isnan(data)
    filled = np.where(observed, data, 0.0)
    count = observed.sum(axis=1)
    first = np.take_along_axis(filled, np.argmax(observed, axis=1)[:, None], axis=1)
    spread = np.where(observed, np.abs(filled - first), 0.0).sum(axis=1)
    enough = count == n_stimuli
    if use_incomplete:
        enough = count >= MIN_PLACEMENTS
    used = enough & (spread > DEGENERATE_SPREAD)

    matrix = _hat_sum(filled[used], observed[used]) - np.diag(observed[used].sum(axis=0))
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    root = eigenvalues[-2]
    stimuli = eigenvectors[:, -2]
    if stimuli[polarity] > 0:
        stimuli = -stimuli
    n = int(used.sum())
    fit = -n * root / (n_stimuli * (n + root) ** 2) if n else float("nan")
    targets = stimuli * n / (n + root) if n else stimuli

    transformed = used if selves is None else used & ~np.isnan(selves)
    intercepts, weights = _regressions(filled, observed, targets, transformed)
    ideal_points = np.full(respondents, np.nan) if selves is None else intercepts + weights * selves
    estimated = ~np.isnan(weights)
    return AldrichMcKelvey(
        stimuli=stimuli,
        fit=float(fit),
        n_used=int(estimated.sum()),
        n_positive=int((weights[estimated] >= 0).sum()),
        n_negative=int((weights[estimated] < 0).sum()),
        intercepts=intercepts,
        weights=weights,
        ideal_points=ideal_points,
        eigenvalues=eigenvalues,
    )


def _hat_sum(values: NDArray, observed: NDArray) -> NDArray:
    """Σ_i P_iᵀ H_i P_i: the projection onto span{1, a_i} over each respondent's placed
    stimuli, H_i[k, l] = (S2 − S1 (a_k + a_l) + m a_k a_l) / (m S2 − S1²) with m placements,
    S1 = Σ a and S2 = Σ a² (the closed form of X_i (X_iᵀ X_i)⁻¹ X_iᵀ for X_i = [1, a_i])."""
    mask = observed.astype(float)
    a = values * mask
    m = mask.sum(axis=1)
    s1 = a.sum(axis=1)
    s2 = (a * a).sum(axis=1)
    scale = 1.0 / (m * s2 - s1**2)
    both = np.einsum("i,ik,il->kl", scale * s2, mask, mask)
    cross = np.einsum("i,ik,il->kl", scale * s1, a, mask)
    square = np.einsum("i,ik,il->kl", scale * m, a, a)
    return both - cross - cross.T + square


def _regressions(
    values: NDArray, observed: NDArray, targets: NDArray, rows: NDArray
) -> tuple[NDArray, NDArray]:
    """Per respondent in ``rows``: the least-squares (c, w) of targets ≈ c + w · a over the
    stimuli they placed; NaN elsewhere and where a respondent's placements do not vary."""
    mask = observed.astype(float)
    a = values * mask
    m = mask.sum(axis=1)
    sa, saa = a.sum(axis=1), (a * a).sum(axis=1)
    st, sat = mask @ targets, a @ targets
    determinant = m * saa - sa**2
    with np.errstate(all="ignore"):
        weights = (m * sat - sa * st) / determinant
        intercepts = (st - weights * sa) / m
    valid = rows & (determinant > 0)
    return np.where(valid, intercepts, np.nan), np.where(valid, weights, np.nan)


def c_scores(self_ratings: ArrayLike, vignette_ratings: ArrayLike) -> pd.DataFrame:
    """King & Wand's nonparametric C: each self-rating's position among the same respondent's
    vignette ratings, as the interval (Cs, Ce).

    G. King and J. Wand (2007), "Comparing incomparable survey responses: evaluating and
    selecting anchoring vignettes", Political Analysis 15(1), 46–66, section 2 (C of King,
    Murray, Salomon & Tandon 2004). ``vignette_ratings`` (respondents × J) are in the order
    the researcher assumes, lowest first. With y the self-rating and z_1 … z_J the vignettes,
    the 2J + 1 conditions

        C = 1 if y < z_1,   2j if y = z_j,   2j + 1 if z_j < y < z_{j+1},   2J + 1 if y > z_J

    are checked one by one; Cs and Ce are the smallest and largest value whose condition
    holds (equal when the vignettes are ordered as assumed and untied, an interval when ties
    or order violations make several positions consistent). A row with a missing self- or
    vignette rating gives NaN. Columns ``Cs`` and ``Ce``.
    """
    y = np.asarray(self_ratings, dtype=float).ravel()
    z = np.asarray(vignette_ratings, dtype=float)
    if z.ndim == 1:
        z = z[:, None]
    if z.shape[0] != y.size:
        raise ValueError("self_ratings and vignette_ratings differ in respondents")
    n_vignettes = z.shape[1]
    yy = y[:, None]
    conditions = np.zeros((y.size, 2 * n_vignettes + 1), dtype=bool)
    conditions[:, 1::2] = yy == z  # C = 2j: y = z_j
    conditions[:, 0] = y < z[:, 0]
    conditions[:, 2:-1:2] = (z[:, :-1] < yy) & (yy < z[:, 1:])  # C = 2j + 1 between
    conditions[:, -1] = y > z[:, -1]
    positions = np.arange(1, 2 * n_vignettes + 2, dtype=float)
    missing = np.isnan(y) | np.isnan(z).any(axis=1) | ~conditions.any(axis=1)
    lowest = np.where(conditions, positions, np.inf).min(axis=1)
    highest = np.where(conditions, positions, -np.inf).max(axis=1)
    return pd.DataFrame(
        {"Cs": np.where(missing, np.nan, lowest), "Ce": np.where(missing, np.nan, highest)}
    )
