"""Comparisons of two selectors role by role, two roles within one selector, wave change."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aggregation import stats
from aggregation.engine.columns import (
    COMPARISON_ROLE_COLUMNS,
    WAVE_CHANGE_COLUMNS,
    check_single_wave,
    validate_ratings,
)
from aggregation.engine.presets import Selector
from aggregation.engine.sides import (
    by_role,
    comparison_method,
    dominant_role_of,
    is_paired,
    observed_slim,
    overlap_sides,
    overlapping_from_cells,
    paired_columns,
    paired_sums_of_sides,
    per_respondent,
    pick_side,
    role_order,
    side_summary,
    welch_sides,
)


@dataclass(frozen=True)
class ComparisonResult:
    """Two selectors compared role by role.

    ``roles`` has the columns ``COMPARISON_ROLE_COLUMNS``; ``diff`` is left − right.
    ``dominant_left``/``dominant_right``: the role with the highest mean on that side (None
    when the side has no data; ties go to the role listed first). ``profile_distance``:
    ``stats.profile_distance`` of the two mean profiles over the roles both sides have.
    """

    left: Selector
    right: Selector
    method: str
    roles: pd.DataFrame = field(repr=False)
    dominant_left: str | None
    dominant_right: str | None
    profile_distance: float


def compare(
    ratings: pd.DataFrame,
    left: Selector,
    right: Selector,
    *,
    roles: Sequence[str] | None = None,
) -> ComparisonResult:
    """Compare two selectors of one wave role by role.

    Paired (``stats.paired_difference``) when both selectors name the same panel, since the
    same experts rated both sides: respondents are matched and only those with a value on
    both sides enter, so in that case the per-side columns describe the matched respondents
    and ``diff == mean_left − mean_right``. When one side pools every panel and the other is
    one panel, that panel's experts are in both samples: the partially overlapping samples
    t test (``stats.overlapping_from_summaries``) on all ratings of each side, with the
    correlation of the shared experts' pairs. Otherwise Welch (``stats.welch_difference``)
    on all ratings of each side.

    ``roles`` fixes the roles and their order; by default the sorted union of the roles either
    side has. ``p_adjusted`` is Benjamini–Hochberg across the roles of this comparison.
    """
    validate_ratings(ratings)
    check_single_wave(ratings, "compare()")
    slim = observed_slim(ratings)
    overlap = overlap_sides(left, right)
    if overlap is not None:
        columns = overlapping_from_cells(
            side_summary(pick_side(slim, left)),
            side_summary(pick_side(slim, right)),
            paired_sums_of_sides(pick_side(slim, overlap[0]), pick_side(slim, overlap[1])),
            roles=roles,
        )
        return _summary_comparison(left, right, columns)
    return _comparison(left, right, pick_side(slim, left), pick_side(slim, right), roles=roles)


def _comparison(
    left: Selector,
    right: Selector,
    left_side: pd.DataFrame,
    right_side: pd.DataFrame,
    *,
    roles: Sequence[str] | None,
) -> ComparisonResult:
    if is_paired(left, right):
        roles = role_order(left_side, right_side, roles)
        columns = paired_columns(paired_sums_of_sides(left_side, right_side), roles)
        table = pd.DataFrame(columns, columns=COMPARISON_ROLE_COLUMNS)
    else:
        table = welch_sides(left_side, right_side, roles=roles)
    return _summary_comparison(left, right, {name: table[name] for name in table.columns})


def _summary_comparison(left: Selector, right: Selector, columns: Mapping) -> ComparisonResult:
    """A ComparisonResult around finished role columns."""
    return ComparisonResult(
        left=left,
        right=right,
        method=comparison_method(left, right),
        roles=pd.DataFrame(columns, columns=COMPARISON_ROLE_COLUMNS),
        **profile_summary(columns),
    )


def profile_summary(columns: Mapping) -> dict:
    """Each side's dominant role and the profile distance of the two sides' means."""
    roles = np.asarray(columns["role"], dtype=object)
    mean_left = np.asarray(columns["mean_left"], dtype=float)
    mean_right = np.asarray(columns["mean_right"], dtype=float)
    return {
        "dominant_left": dominant_role_of(roles, mean_left),
        "dominant_right": dominant_role_of(roles, mean_right),
        "profile_distance": stats.profile_distance(
            dict(zip(roles, mean_left, strict=True)), dict(zip(roles, mean_right, strict=True))
        ),
    }


@dataclass(frozen=True)
class InterRoleResult:
    """Two roles inside one selector, compared over the same respondents.

    ``diff`` = mean_a − mean_b (paired t CI and p), ``hedges_g`` the paired g_av, and ``r``
    the Pearson correlation of the two ratings across respondents with its Fisher-z CI.
    """

    selector: Selector
    role_a: str
    role_b: str
    n: int
    mean_a: float
    mean_b: float
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    hedges_g: float
    r: float
    r_ci_low: float
    r_ci_high: float


def inter_role(
    ratings: pd.DataFrame, selector: Selector, role_a: str, role_b: str
) -> InterRoleResult:
    """Inter-role conflict: role_a vs role_b inside one selector, paired per respondent.

    Only respondents with a value for both roles enter (n counts them).
    """
    validate_ratings(ratings)
    check_single_wave(ratings, "inter_role()")
    side = by_role(pick_side(observed_slim(ratings), selector))
    both = pd.concat(
        [per_respondent(side.get(role_a)), per_respondent(side.get(role_b))],
        axis=1,
        keys=["a", "b"],
        join="inner",
    )
    a, b = both["a"].to_numpy(), both["b"].to_numpy()
    difference = stats.paired_difference(a, b)
    correlation = stats.correlation_ci(a, b)
    return InterRoleResult(
        selector=selector,
        role_a=role_a,
        role_b=role_b,
        n=int(a.size),
        mean_a=float(a.mean()) if a.size else np.nan,
        mean_b=float(b.mean()) if b.size else np.nan,
        diff=difference.diff,
        ci_low=difference.ci_low,
        ci_high=difference.ci_high,
        p_value=difference.p_value,
        hedges_g=difference.hedges_g,
        r=correlation.r,
        r_ci_low=correlation.ci_low,
        r_ci_high=correlation.ci_high,
    )


def wave_change(
    ratings_t: pd.DataFrame,
    ratings_prev: pd.DataFrame,
    selector: Selector,
    *,
    roles: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Change of one selector between wave t and the previous wave, role by role.

    The compare() table with ``_left``/``_right`` renamed ``_t``/``_prev``
    (``WAVE_CHANGE_COLUMNS``): n_t, mean_t, ..., diff = mean_t − mean_prev with its Welch CI
    (respondent pseudonyms are per response, so experts cannot be matched across waves),
    hedges_g, p_value and the BH-adjusted p_adjusted.
    """
    for ratings in (ratings_t, ratings_prev):
        validate_ratings(ratings)
        check_single_wave(ratings, "wave_change()")
    table = welch_sides(
        pick_side(observed_slim(ratings_t), selector),
        pick_side(observed_slim(ratings_prev), selector),
        roles=roles,
    )
    table.columns = WAVE_CHANGE_COLUMNS
    return table
