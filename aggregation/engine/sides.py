"""From the two sides of a comparison to its role columns: from ratings (Welch, paired) or
from cell summaries (Welch, partially overlapping), and which test a pair of sides takes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from aggregation import stats
from aggregation.engine.columns import (
    COMPARISON_ROLE_COLUMNS,
    POOLED_PANEL,
    check_single_wave,
    observed_values,
    validate_ratings,
)
from aggregation.engine.presets import Selector

SIDE_KEYS = ["holder", "subject", "perspective"]


def observed_slim(ratings: pd.DataFrame) -> pd.DataFrame:
    """The observed ratings reduced to what a comparison side needs."""
    values = observed_values(ratings)
    keep = values.notna().to_numpy()
    columns = ["wave", "panel", *SIDE_KEYS, "respondent", "role"]
    slim = ratings.loc[keep, columns]
    return slim.assign(value=values.to_numpy()[keep])


def pick_side(slim: pd.DataFrame, selector: Selector) -> pd.DataFrame:
    """The (respondent, role, value) rows of an observed frame that a selector picks."""
    return slim.loc[selector.mask(slim), ["respondent", "role", "value"]]


def by_role(side: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(role): part for role, part in side.groupby("role", sort=False, observed=True)}


def per_respondent(part: pd.DataFrame | None) -> pd.Series:
    """One value per respondent (the mean, should a respondent have rated an item twice),
    indexed by the respondent's integer code when the column is categorical."""
    if part is None:
        return pd.Series(dtype=float)
    respondent = part["respondent"]
    if isinstance(respondent.dtype, pd.CategoricalDtype):
        respondent = respondent.cat.codes
    values = pd.Series(part["value"].to_numpy(dtype=float), index=respondent.to_numpy())
    if values.index.has_duplicates:
        values = values.groupby(level=0).mean()
    return values.sort_index()


def role_order(left: pd.DataFrame, right: pd.DataFrame, roles: Sequence[str] | None):
    if roles is not None:
        return list(roles)
    return sorted(set(left["role"]).union(right["role"]), key=str)


def welch_sides(
    left: pd.DataFrame, right: pd.DataFrame, *, roles: Sequence[str] | None
) -> pd.DataFrame:
    """Role-by-role Welch comparison table of two (respondent, role, value) frames."""
    left_roles, right_roles = by_role(left), by_role(right)
    no_values = np.array([], dtype=float)
    rows = []
    for role in role_order(left, right, roles):
        left_part, right_part = left_roles.get(role), right_roles.get(role)
        a = no_values if left_part is None else left_part["value"].to_numpy(dtype=float)
        b = no_values if right_part is None else right_part["value"].to_numpy(dtype=float)
        difference = stats.welch_difference(a, b)
        summary_left, summary_right = stats.mean_ci(a), stats.mean_ci(b)
        rows.append(
            {
                "role": role,
                "n_left": summary_left.n,
                "mean_left": summary_left.mean,
                "sd_left": summary_left.sd,
                "ci_low_left": summary_left.ci_low,
                "ci_high_left": summary_left.ci_high,
                "n_right": summary_right.n,
                "mean_right": summary_right.mean,
                "sd_right": summary_right.sd,
                "ci_low_right": summary_right.ci_low,
                "ci_high_right": summary_right.ci_high,
                "diff": difference.diff,
                "diff_ci_low": difference.ci_low,
                "diff_ci_high": difference.ci_high,
                "se_diff": difference.se,
                "t": difference.t,
                "df": difference.df,
                "hedges_g": difference.hedges_g,
                "p_value": difference.p_value,
                "p_adjusted": np.nan,
                "family_size": 0,
                "family": stats.FAMILY_COMPARISON,
                "method": "welch",
            }
        )
    table = pd.DataFrame(rows, columns=COMPARISON_ROLE_COLUMNS)
    table = table.astype({"n_left": int, "n_right": int, "family_size": int})
    if not table.empty:
        p_values = table["p_value"].to_numpy(dtype=float)
        table["p_adjusted"] = stats.benjamini_hochberg(p_values)
        table["family_size"] = family_size_of(p_values)
    return table


def family_size_of(p_values: np.ndarray) -> int:
    """The number of tests in a Benjamini–Hochberg family: the p-values that exist."""
    return int(np.count_nonzero(~np.isnan(np.asarray(p_values, dtype=float))))


PAIRED_SUM_COLUMNS = [
    "role",
    "n",
    "sum_left",
    "sum_right",
    "sum_left_sq",
    "sum_right_sq",
    "sum_product",
]
"""Per role, over the respondents with a value on both sides of a paired comparison: how
many (n) and the sums Σa, Σb, Σa², Σb², Σab of their left (a) and right (b) values."""


def paired_sums_of_sides(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """``PAIRED_SUM_COLUMNS`` of two (respondent, role, value) frames (a respondent who rated
    an item twice counts with the mean)."""

    def per_respondent(side: pd.DataFrame) -> pd.Series:
        return side.groupby(["role", "respondent"], observed=True)["value"].mean()

    both = pd.concat(
        [per_respondent(left), per_respondent(right)], axis=1, keys=["a", "b"], join="inner"
    )
    a, b = both["a"], both["b"]
    terms = pd.DataFrame({"n": 1, "a": a, "b": b, "aa": a * a, "bb": b * b, "ab": a * b})
    sums = terms.groupby(level="role", observed=True).sum().reset_index()
    sums.columns = PAIRED_SUM_COLUMNS
    sums["role"] = sums["role"].astype(str)
    return sums


def paired_sums(ratings: pd.DataFrame, left: Selector, right: Selector) -> pd.DataFrame:
    """The sums a paired comparison of two selectors needs (``PAIRED_SUM_COLUMNS``), one
    row per role with at least one respondent on both sides."""
    validate_ratings(ratings)
    check_single_wave(ratings, "paired_sums()")
    slim = observed_slim(ratings)
    return paired_sums_of_sides(pick_side(slim, left), pick_side(slim, right))


def paired_columns(sums: pd.DataFrame, roles: Sequence[str]) -> dict[str, np.ndarray]:
    """The role-by-role columns of a paired comparison from its ``PAIRED_SUM_COLUMNS``.

    ``stats.paired_from_sums`` for the difference (paired t, Hedges' g_av) and
    ``stats.mean_ci_from_sums`` for each side over the matched respondents, so that
    ``diff == mean_left − mean_right``; a role without a matched respondent has n = 0.
    """
    table = sums.set_index("role").reindex(list(roles)).fillna(0.0)
    n = table["n"].to_numpy(dtype=float)
    left = stats.mean_ci_from_sums(n, table["sum_left"], table["sum_left_sq"])
    right = stats.mean_ci_from_sums(n, table["sum_right"], table["sum_right_sq"])
    difference = stats.paired_from_sums(
        n,
        table["sum_left"],
        table["sum_right"],
        table["sum_left_sq"],
        table["sum_right_sq"],
        table["sum_product"],
    )
    return role_columns(roles, n, left, n, right, difference, "paired")


def role_columns(roles, n_left, left, n_right, right, difference, method) -> dict:
    """``COMPARISON_ROLE_COLUMNS`` as arrays, from each side's n and ``mean_ci`` fields and
    the difference's fields; ``p_adjusted`` is Benjamini–Hochberg across the roles."""
    return {
        "role": np.asarray(roles, dtype=object),
        "n_left": np.asarray(n_left).astype(int),
        "mean_left": np.asarray(left["mean"], dtype=float),
        "sd_left": np.asarray(left["sd"], dtype=float),
        "ci_low_left": np.asarray(left["ci_low"], dtype=float),
        "ci_high_left": np.asarray(left["ci_high"], dtype=float),
        "n_right": np.asarray(n_right).astype(int),
        "mean_right": np.asarray(right["mean"], dtype=float),
        "sd_right": np.asarray(right["sd"], dtype=float),
        "ci_low_right": np.asarray(right["ci_low"], dtype=float),
        "ci_high_right": np.asarray(right["ci_high"], dtype=float),
        "diff": difference["diff"],
        "diff_ci_low": difference["ci_low"],
        "diff_ci_high": difference["ci_high"],
        "se_diff": difference["se"],
        "t": difference["t"],
        "df": difference["df"],
        "hedges_g": difference["hedges_g"],
        "p_value": difference["p_value"],
        "p_adjusted": stats.benjamini_hochberg(difference["p_value"]),
        "family_size": np.full(len(roles), family_size_of(difference["p_value"]), dtype=int),
        "family": np.full(len(roles), stats.FAMILY_COMPARISON, dtype=object),
        "method": np.full(len(roles), method, dtype=object),
    }


def dominant_role_of(roles: np.ndarray, means: np.ndarray) -> str | None:
    """The role with the highest mean (the first one on a tie); None without any mean."""
    means = np.asarray(means, dtype=float)
    if np.isnan(means).all():
        return None
    return str(roles[int(np.nanargmax(means))])


def selector_columns(prefix: str, selector: Selector) -> dict[str, str]:
    return {
        f"{prefix}_panel": selector.panel if selector.panel is not None else POOLED_PANEL,
        f"{prefix}_holder": selector.holder,
        f"{prefix}_subject": selector.subject,
        f"{prefix}_perspective": selector.perspective,
    }


@dataclass(frozen=True)
class Side:
    """One comparison side's cells: per role with an observed value, n, mean, SD and CI."""

    role: np.ndarray
    n: np.ndarray
    mean: np.ndarray
    sd: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray

    def aligned(self, roles: Sequence[str]) -> dict[str, np.ndarray]:
        """The side's fields in the order of ``roles`` (n 0 and NaN where it lacks one)."""
        where = {role: position for position, role in enumerate(self.role)}
        positions = np.array([where.get(role, -1) for role in roles], dtype=int)
        present = positions >= 0
        fields = {"n": np.where(present, self.n[positions], 0.0)}
        for name in ("mean", "sd", "ci_low", "ci_high"):
            fields[name] = np.where(present, getattr(self, name)[positions], np.nan)
        return fields


class CellSides:
    """Stored-style cell statistics grouped by side, for Welch comparisons from summaries.

    Welch's test needs only each side's n, mean and SD, which ``cell_statistics`` already
    computed (a pooled side is the ``panel = "ALL"`` cell), so independent comparisons do not
    go back to the ratings. Cells without an observed value are left out, as ``compare``
    leaves out roles without one.
    """

    FIELDS = ("n", "mean", "sd", "ci_low", "ci_high")

    def __init__(self, cells: pd.DataFrame) -> None:
        observed = cells.loc[cells["n"] > 0]
        self._role = observed["role"].astype(str).to_numpy(dtype=object)
        self._fields = {name: observed[name].to_numpy(dtype=float) for name in self.FIELDS}
        self._positions = {
            tuple(str(part) for part in key): positions
            for key, positions in observed.groupby(
                ["panel", *SIDE_KEYS], sort=False, observed=True
            ).indices.items()
        }

    def pick(self, selector: Selector) -> Side | None:
        """The side's cells, None when it has no observed value."""
        panel = POOLED_PANEL if selector.panel is None else selector.panel
        positions = self._positions.get(
            (panel, selector.holder, selector.subject, selector.perspective)
        )
        if positions is None:
            return None
        return Side(
            self._role[positions],
            **{name: values[positions] for name, values in self._fields.items()},
        )


def welch_from_cells(left: Side, right: Side) -> dict[str, np.ndarray]:
    """The ``welch_sides`` columns of two independent sides, from their cell summaries."""
    roles = sorted(set(left.role).union(right.role), key=str)
    a, b = left.aligned(roles), right.aligned(roles)
    welch = stats.welch_from_summaries(a["n"], a["mean"], a["sd"], b["n"], b["mean"], b["sd"])
    return role_columns(roles, a["n"], a, b["n"], b, welch, "welch")


def overlapping_from_cells(
    left: Side, right: Side, sums: pd.DataFrame, *, roles: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """The role columns of two partially overlapping sides: each side's cell summaries and
    ``sums``, the ``PAIRED_SUM_COLUMNS`` of the experts in both (``overlap_sides``)."""
    if roles is None:
        roles = sorted(set(left.role).union(right.role), key=str)
    a, b = left.aligned(roles), right.aligned(roles)
    pairs = sums.set_index("role").reindex(list(roles)).fillna(0.0)
    n_pairs = pairs["n"].to_numpy(dtype=float)
    r = stats.correlation_from_sums(
        n_pairs,
        pairs["sum_left"],
        pairs["sum_right"],
        pairs["sum_left_sq"],
        pairs["sum_right_sq"],
        pairs["sum_product"],
    )
    difference = stats.overlapping_from_summaries(
        a["n"], a["mean"], a["sd"], b["n"], b["mean"], b["sd"], n_pairs, r
    )
    return role_columns(roles, a["n"], a, b["n"], b, difference, "overlapping")


def side_summary(side: pd.DataFrame) -> Side:
    """A (respondent, role, value) frame summarised per role as its cell would be."""
    parts = by_role(side)
    roles = np.array(sorted(parts, key=str), dtype=object)
    summaries = [stats.mean_ci(parts[role]["value"].to_numpy(dtype=float)) for role in roles]
    fields = ("n", "mean", "sd", "ci_low", "ci_high")
    return Side(
        roles,
        *(
            np.array([getattr(summary, name) for summary in summaries], dtype=float)
            for name in fields
        ),
    )


def is_paired(left: Selector, right: Selector) -> bool:
    """Both sides on one panel: the same experts rated both, so the comparison is paired."""
    return left.panel is not None and left.panel == right.panel


def overlap_sides(left: Selector, right: Selector) -> tuple[Selector, Selector] | None:
    """The shared part of two sides of which one pools every panel and the other is one
    panel: both sides restricted to that panel, whose experts rated both. None otherwise."""
    if (left.panel is None) == (right.panel is None):
        return None
    panel = left.panel if left.panel is not None else right.panel
    return replace(left, panel=panel), replace(right, panel=panel)


def comparison_method(left: Selector, right: Selector) -> str:
    """The t test of a comparison: paired, overlapping (partially overlapping samples) or
    welch (independent samples)."""
    if is_paired(left, right):
        return "paired"
    return "overlapping" if overlap_sides(left, right) is not None else "welch"
