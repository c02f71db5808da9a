"""The aggregation engine: pure functions from a ratings DataFrame to result DataFrames.

No Django and no ORM here. The loader hands over one row per rating with the columns in
``RATINGS_COLUMNS``; the functions below return DataFrames or frozen dataclasses that the
Celery tasks store under an aggregation run, tagged with ``ESTIMATOR_NAME`` and
``ESTIMATOR_VERSION`` (the plain-means estimator; an IRT estimator can live beside it).

Conventions shared by every function:

* A rating with ``cannot_judge`` set is missing, whatever its ``value`` says. It is counted
  in ``n_cannot_judge`` and never in ``n`` or any statistic; cannot-judge is never 0.
* A row with a NaN ``value`` but no ``cannot_judge`` flag (a skipped item) is missing too and
  is counted nowhere.
* ``panel = "ALL"`` (``POOLED_PANEL``) marks statistics pooled over all panels; in a
  ``Selector`` the pooled panel is ``None``.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats as sps

from aggregation import stats

ESTIMATOR_NAME = "plain_means"
ESTIMATOR_VERSION = "1.1"

RATINGS_COLUMNS = [
    "wave",
    "panel",
    "respondent",
    "block",
    "holder",
    "subject",
    "perspective",
    "role",
    "value",
    "cannot_judge",
    "confidence",
    "scale_points",
]

PERSPECTIVES = ("conception", "expectation", "performance")
POOLED_PANEL = "ALL"
ANCHOR_ACTOR = "RUS"
"""The actor whose role set the presets revolve around (Russia, rated by the Moscow panel)."""

MISSING_CONFIDENCE_WEIGHT = 3.0
"""Weight of a rating without a confidence answer: the midpoint of the 1-5 confidence scale,
so an expert who skipped the confidence question counts as neither sure nor unsure."""

CELL_KEYS = ["wave", "panel", "holder", "subject", "perspective", "role"]
CELL_STAT_COLUMNS = [
    "n",
    "n_cannot_judge",
    "mean",
    "median",
    "sd",
    "se",
    "ci_low",
    "ci_high",
    "weighted_mean",
    "rwg",
    "rwg_raw",
    "rwg_truncated",
]
CELL_COLUMNS = CELL_KEYS + CELL_STAT_COLUMNS

COMPARISON_ROLE_COLUMNS = [
    "role",
    "n_left",
    "mean_left",
    "sd_left",
    "ci_low_left",
    "ci_high_left",
    "n_right",
    "mean_right",
    "sd_right",
    "ci_low_right",
    "ci_high_right",
    "diff",
    "diff_ci_low",
    "diff_ci_high",
    "se_diff",
    "t",
    "df",
    "hedges_g",
    "p_value",
    "p_adjusted",
    "family_size",
    "family",
    "method",
]
"""One role of a comparison. ``n_left`` and ``n_right`` count ratings with a value (welch,
overlapping), or both the complete pairs (paired). ``se_diff``, ``t`` and ``df`` are the t
test's (Welch–Satterthwaite, paired, or partially overlapping); ``p_adjusted`` is
Benjamini–Hochberg over the ``family_size`` p-values of the comparison's roles (the p-values
that exist), ``family`` = "comparison"; a report may adjust over a larger family
(``stats.benjamini_hochberg_by_family``)."""

WAVE_CHANGE_COLUMNS = [
    column.replace("_left", "_t").replace("_right", "_prev") for column in COMPARISON_ROLE_COLUMNS
]

RELIABILITY_KEYS = ["wave", "panel", "block"]
RELIABILITY_COLUMNS = [
    *RELIABILITY_KEYS,
    "n_raters",
    "n_units",
    "alpha_interval",
    "alpha_ordinal",
    "icc1",
    "icc1k",
    *(
        f"{coefficient}_ci_{bound}"
        for coefficient in stats.RELIABILITY_COEFFICIENTS
        for bound in ("low", "high")
    ),
]

COUNT_KEYS = ["wave", "panel", "block", "holder", "subject", "perspective", "role"]
COUNT_COLUMNS = [*COUNT_KEYS, "scale_points", "value", "count", "weight_sum"]
"""The value counts the statistics are computed from: how many ratings of one item on one
panel have one value (``value`` NaN: cannot judge), and the sum of their confidence weights."""

SELECTOR_FIELDS = ["panel", "holder", "subject", "perspective"]
PRESET_COMPARISON_COLUMNS = [
    "wave",
    "preset",
    "subject",
    *(f"left_{name}" for name in SELECTOR_FIELDS),
    *(f"right_{name}" for name in SELECTOR_FIELDS),
    *COMPARISON_ROLE_COLUMNS,
    "dominant_left",
    "dominant_right",
    "profile_distance",
]


# --------------------------------------------------------------------------------------------
# Input
# --------------------------------------------------------------------------------------------


def _validate(ratings: pd.DataFrame) -> None:
    missing = [column for column in RATINGS_COLUMNS if column not in ratings.columns]
    if missing:
        raise ValueError(f"ratings frame lacks columns {missing}")


def _observed_values(ratings: pd.DataFrame) -> pd.Series:
    """``value`` as float with cannot-judge ratings set to NaN."""
    values = pd.to_numeric(ratings["value"], errors="coerce").astype(float)
    return values.mask(_cannot_judge(ratings))


def _cannot_judge(ratings: pd.DataFrame) -> pd.Series:
    return ratings["cannot_judge"].fillna(False).astype(bool)


# --------------------------------------------------------------------------------------------
# Selectors and presets
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selector:
    """One side of a comparison: a slice of the cube fixed up to the role.

    ``panel`` None pools all panels.
    """

    panel: str | None
    holder: str
    subject: str
    perspective: str

    def __post_init__(self) -> None:
        if self.perspective not in PERSPECTIVES:
            raise ValueError(f"perspective must be one of {PERSPECTIVES}, got {self.perspective}")

    def label(self) -> str:
        """E.g. "expectation RUS→ARM, MOW panel" or "performance ARM, all panels"."""
        actors = self.subject if self.holder == self.subject else f"{self.holder}→{self.subject}"
        where = "all panels" if self.panel is None else f"{self.panel} panel"
        return f"{self.perspective} {actors}, {where}"

    def mask(self, ratings: pd.DataFrame) -> pd.Series:
        """Boolean mask of the ratings this selector picks (all roles)."""
        selected = (
            (ratings["holder"] == self.holder)
            & (ratings["subject"] == self.subject)
            & (ratings["perspective"] == self.perspective)
        )
        if self.panel is not None:
            selected &= ratings["panel"] == self.panel
        return selected


def _home(home_panel: Mapping[str, str], actor: str) -> str:
    try:
        return home_panel[actor]
    except KeyError:
        raise ValueError(f"home_panel has no panel for actor {actor!r}") from None


def ascribed_vs_conceived(subject: str, home_panel: Mapping[str, str]) -> tuple[Selector, Selector]:
    """Left: expectation RUS→X on the Moscow panel; right: conception X on X's panel."""
    return (
        Selector(_home(home_panel, ANCHOR_ACTOR), ANCHOR_ACTOR, subject, "expectation"),
        Selector(_home(home_panel, subject), subject, subject, "conception"),
    )


def conception_vs_performance(
    subject: str, home_panel: Mapping[str, str]
) -> tuple[Selector, Selector]:
    """Left: conception X on X's panel; right: performance X pooled over all panels.

    Performance items are read with holder = subject = X (how X enacts its own role). X's
    panel rated both sides, so the two samples partially overlap (``compare``).
    """
    return (
        Selector(_home(home_panel, subject), subject, subject, "conception"),
        Selector(None, subject, subject, "performance"),
    )


def ego_vs_perceived_alter(
    subject: str, home_panel: Mapping[str, str]
) -> tuple[Selector, Selector]:
    """Left: conception RUS on the Moscow panel; right: expectation X→RUS on the Moscow panel."""
    moscow = _home(home_panel, ANCHOR_ACTOR)
    return (
        Selector(moscow, ANCHOR_ACTOR, ANCHOR_ACTOR, "conception"),
        Selector(moscow, subject, ANCHOR_ACTOR, "expectation"),
    )


def perceived_vs_actual_expectation(
    subject: str, home_panel: Mapping[str, str]
) -> tuple[Selector, Selector]:
    """Left: expectation X→RUS on the Moscow panel; right: the same on X's own panel."""
    return (
        Selector(_home(home_panel, ANCHOR_ACTOR), subject, ANCHOR_ACTOR, "expectation"),
        Selector(_home(home_panel, subject), subject, ANCHOR_ACTOR, "expectation"),
    )


PresetBuilder = Callable[[str, Mapping[str, str]], tuple[Selector, Selector]]

PRESETS: dict[str, PresetBuilder] = {
    "ascribed_vs_conceived": ascribed_vs_conceived,
    "conception_vs_performance": conception_vs_performance,
    "ego_vs_perceived_alter": ego_vs_perceived_alter,
    "perceived_vs_actual_expectation": perceived_vs_actual_expectation,
}

PRESET_LABELS: dict[str, str] = {
    "ascribed_vs_conceived": "Role ascribed by Russia vs role self-conceived",
    "conception_vs_performance": "Role conception vs role performance",
    "ego_vs_perceived_alter": "Russia's ego role vs perceived alter expectation",
    "perceived_vs_actual_expectation": "Expectation as perceived in Moscow vs as held at home",
}


# --------------------------------------------------------------------------------------------
# Cell statistics
# --------------------------------------------------------------------------------------------


def value_counts(ratings: pd.DataFrame) -> pd.DataFrame:
    """The ratings reduced to value counts per item and panel (columns ``COUNT_COLUMNS``).

    One row per (wave, panel, block, holder, subject, perspective, role, value) with
    ``count`` ratings and ``weight_sum``, the sum of their confidence weights (a missing
    confidence weighs ``MISSING_CONFIDENCE_WEIGHT``). Cannot-judge ratings are counted under
    ``value`` NaN; skipped items (NaN without the flag) are left out. The database computes
    the same table with one ``GROUP BY`` (``loaders.counts_load``), so a wave's cells,
    Welch comparisons and reliability never need its ratings row by row.
    """
    _validate(ratings)
    values = _observed_values(ratings)
    keep = (values.notna() | _cannot_judge(ratings)).to_numpy()
    weights = pd.to_numeric(ratings["confidence"], errors="coerce").astype(float)
    frame = ratings.loc[keep, [*COUNT_KEYS, "scale_points"]].assign(
        value=values.to_numpy()[keep],
        weight=weights.fillna(MISSING_CONFIDENCE_WEIGHT).to_numpy()[keep],
    )
    counts = (
        frame.groupby([*COUNT_KEYS, "scale_points", "value"], dropna=False, observed=True)
        .agg(count=("weight", "size"), weight_sum=("weight", "sum"))
        .reset_index()
    )
    for key in COUNT_KEYS:  # plain values, as the loader sends them
        if isinstance(counts[key].dtype, pd.CategoricalDtype):
            counts[key] = counts[key].astype(counts[key].cat.categories.dtype)
    return counts[COUNT_COLUMNS]


def _describe_counts(counts: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Per-group statistics of value counts, grouped by ``keys`` (vectorised, no loop).

    With c the count of value x in a group: n = Σc, mean = Σcx / n, SD² = Σc(x − mean)² /
    (n − 1); the median is the middle of the group's values sorted with their counts
    (the mean of the two middle ones for even n); the weighted mean Σwx / Σw with w the
    summed confidence weights of value x.
    """
    grouped = counts.groupby(keys, observed=True, sort=True)
    group = grouped.ngroup().to_numpy()
    table = grouped.size().index.to_frame(index=False)
    size = len(table)

    value = counts["value"].to_numpy(dtype=float)
    count = counts["count"].to_numpy(dtype=float)
    observed = ~np.isnan(value)
    x = np.where(observed, value, 0.0)
    c = np.where(observed, count, 0.0)
    w = np.where(observed, counts["weight_sum"].to_numpy(dtype=float), 0.0)

    n = np.bincount(group, weights=c, minlength=size)
    n_cannot_judge = np.bincount(group, weights=count - c, minlength=size)
    with np.errstate(all="ignore"):
        mean = np.bincount(group, weights=c * x, minlength=size) / n
        squares = np.bincount(group, weights=c * (x - mean[group]) ** 2, minlength=size)
        enough = n >= 2
        sd = np.where(enough, np.sqrt(squares / (n - 1)), np.nan)
        se = sd / np.sqrt(n)
        # No interval without spread, as in stats.mean_ci.
        t = sps.t.ppf(0.975, np.where(enough & (sd > 0), n - 1, np.nan))
        weight_sum = np.bincount(group, weights=w, minlength=size)
        weighted_mean = np.where(
            weight_sum > 0, np.bincount(group, weights=w * x, minlength=size) / weight_sum, np.nan
        )
        scale = np.full(size, np.nan)
        np.fmax.at(scale, group, counts["scale_points"].to_numpy(dtype=float))
        null_variance = np.where(scale >= 2, (scale**2 - 1) / 12, np.nan)
        rwg_raw = 1 - sd**2 / null_variance

    table["n"] = n.astype(int)
    table["n_cannot_judge"] = n_cannot_judge.astype(int)
    table["mean"] = np.where(n > 0, mean, np.nan)
    table["median"] = _medians_from_counts(group[observed], x[observed], c[observed], n)
    table["sd"] = sd
    table["se"] = se
    table["ci_low"] = mean - t * se
    table["ci_high"] = mean + t * se
    table["weighted_mean"] = weighted_mean
    table["rwg"] = np.clip(rwg_raw, 0.0, None)
    table["rwg_raw"] = rwg_raw
    table["rwg_truncated"] = rwg_raw < 0
    return table


def _medians_from_counts(
    group: NDArray[np.int64], value: NDArray[np.float64], count: NDArray[np.float64], n
) -> NDArray[np.float64]:
    """Each group's median from its (value, count) rows: the values at the 0-based sorted
    positions ⌊(n − 1)/2⌋ and ⌊n/2⌋ of the group, averaged (NaN for an empty group)."""
    order = np.lexsort((value, group))
    cumulative = np.cumsum(count[order])
    start = np.concatenate([[0.0], np.cumsum(n)[:-1]])
    has_values = n > 0
    lower = start + np.floor((n - 1) / 2)
    upper = start + np.floor(n / 2)
    sorted_values = value[order]
    medians = np.full(n.size, np.nan)
    if sorted_values.size:
        last = sorted_values.size - 1
        at_lower = np.minimum(np.searchsorted(cumulative, lower, side="right"), last)
        at_upper = np.minimum(np.searchsorted(cumulative, upper, side="right"), last)
        medians = np.where(
            has_values, (sorted_values[at_lower] + sorted_values[at_upper]) / 2, np.nan
        )
    return medians


def cell_statistics(ratings: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics per cell of the cube: ``cell_statistics_from_counts`` of the
    ratings' ``value_counts``."""
    _validate(ratings)
    return cell_statistics_from_counts(value_counts(ratings))


def cell_statistics_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics per cell of the cube, per panel and pooled, from value counts.

    ``counts`` has the columns ``COUNT_COLUMNS`` (``value_counts`` or the loader). One row
    per (wave, panel, holder, subject, perspective, role) and one more per
    (wave, holder, subject, perspective, role) with ``panel = "ALL"`` pooling all panels.
    Columns ``CELL_COLUMNS``: the keys, then

    * ``n``: non-missing ratings; ``n_cannot_judge``: ratings flagged cannot judge;
    * ``mean``, ``median``, ``sd`` (ddof = 1), ``se`` = sd / √n,
      ``ci_low``/``ci_high``: 95 % Student-t interval (NaN when n < 2 or sd = 0);
    * ``weighted_mean``: confidence-weighted mean, weight = the 1-5 confidence, a missing
      confidence weighing ``MISSING_CONFIDENCE_WEIGHT`` (3, the midpoint);
    * ``rwg_raw``: James, Demaree & Wolf (1984) 1 − s²/σ²_EU with σ²_EU = (A² − 1)/12 from
      the cell's ``scale_points``, negative when the experts disagree more than random
      answers would; ``rwg`` the same truncated at 0 as James et al. recommend (see
      ``stats.rwg``), and ``rwg_truncated`` whether it was; NaN (and False) when n < 2.

    Rows are sorted by the keys.
    """
    if counts.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    if counts[CELL_KEYS].isna().any().any():
        raise ValueError(f"ratings have missing values in the key columns {CELL_KEYS}")
    per_panel = _describe_counts(counts, CELL_KEYS)
    pooled = _describe_counts(counts, [key for key in CELL_KEYS if key != "panel"])
    pooled.insert(1, "panel", POOLED_PANEL)
    table = pd.concat([per_panel, pooled], ignore_index=True)[CELL_COLUMNS]
    return table.sort_values(CELL_KEYS, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Comparisons
# --------------------------------------------------------------------------------------------


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


SIDE_KEYS = ["holder", "subject", "perspective"]


def _observed_slim(ratings: pd.DataFrame) -> pd.DataFrame:
    """The observed ratings reduced to what a comparison side needs."""
    values = _observed_values(ratings)
    keep = values.notna().to_numpy()
    columns = ["wave", "panel", *SIDE_KEYS, "respondent", "role"]
    slim = ratings.loc[keep, columns]
    return slim.assign(value=values.to_numpy()[keep])


def _pick(slim: pd.DataFrame, selector: Selector) -> pd.DataFrame:
    """The (respondent, role, value) rows of an observed frame that a selector picks."""
    return slim.loc[selector.mask(slim), ["respondent", "role", "value"]]


def _by_role(side: pd.DataFrame) -> dict[str, pd.DataFrame]:
    return {str(role): part for role, part in side.groupby("role", sort=False, observed=True)}


def _per_respondent(part: pd.DataFrame | None) -> pd.Series:
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


def _role_order(left: pd.DataFrame, right: pd.DataFrame, roles: Sequence[str] | None):
    if roles is not None:
        return list(roles)
    return sorted(set(left["role"]).union(right["role"]), key=str)


def _welch_sides(
    left: pd.DataFrame, right: pd.DataFrame, *, roles: Sequence[str] | None
) -> pd.DataFrame:
    """Role-by-role Welch comparison table of two (respondent, role, value) frames."""
    left_roles, right_roles = _by_role(left), _by_role(right)
    no_values = np.array([], dtype=float)
    rows = []
    for role in _role_order(left, right, roles):
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
        table["family_size"] = _family_size(p_values)
    return table


def _family_size(p_values: np.ndarray) -> int:
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


def _paired_sums_of_sides(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
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
    _validate(ratings)
    _single_wave(ratings, "paired_sums()")
    slim = _observed_slim(ratings)
    return _paired_sums_of_sides(_pick(slim, left), _pick(slim, right))


def _paired_columns(sums: pd.DataFrame, roles: Sequence[str]) -> dict[str, np.ndarray]:
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
    return _role_columns(roles, n, left, n, right, difference, "paired")


def _role_columns(roles, n_left, left, n_right, right, difference, method) -> dict:
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
        "family_size": np.full(len(roles), _family_size(difference["p_value"]), dtype=int),
        "family": np.full(len(roles), stats.FAMILY_COMPARISON, dtype=object),
        "method": np.full(len(roles), method, dtype=object),
    }


def _dominant(roles: np.ndarray, means: np.ndarray) -> str | None:
    """The role with the highest mean (the first one on a tie); None without any mean."""
    means = np.asarray(means, dtype=float)
    if np.isnan(means).all():
        return None
    return str(roles[int(np.nanargmax(means))])


def _single_wave(ratings: pd.DataFrame, what: str) -> None:
    waves = ratings["wave"]
    if len(waves) and not (waves == waves.iloc[0]).all():
        raise ValueError(f"{what} expects the ratings of one wave; filter by wave first")


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
    _validate(ratings)
    _single_wave(ratings, "compare()")
    slim = _observed_slim(ratings)
    overlap = _overlap(left, right)
    if overlap is not None:
        columns = _overlapping_from_cells(
            _side_summary(_pick(slim, left)),
            _side_summary(_pick(slim, right)),
            _paired_sums_of_sides(_pick(slim, overlap[0]), _pick(slim, overlap[1])),
            roles=roles,
        )
        return _summary_comparison(left, right, columns)
    return _comparison(left, right, _pick(slim, left), _pick(slim, right), roles=roles)


def _comparison(
    left: Selector,
    right: Selector,
    left_side: pd.DataFrame,
    right_side: pd.DataFrame,
    *,
    roles: Sequence[str] | None,
) -> ComparisonResult:
    if _paired(left, right):
        roles = _role_order(left_side, right_side, roles)
        columns = _paired_columns(_paired_sums_of_sides(left_side, right_side), roles)
        table = pd.DataFrame(columns, columns=COMPARISON_ROLE_COLUMNS)
    else:
        table = _welch_sides(left_side, right_side, roles=roles)
    return _summary_comparison(left, right, {name: table[name] for name in table.columns})


def _summary_comparison(left: Selector, right: Selector, columns: Mapping) -> ComparisonResult:
    """A ComparisonResult around finished role columns."""
    return ComparisonResult(
        left=left,
        right=right,
        method=_method(left, right),
        roles=pd.DataFrame(columns, columns=COMPARISON_ROLE_COLUMNS),
        **_profile_summary(columns),
    )


def _profile_summary(columns: Mapping) -> dict:
    """Each side's dominant role and the profile distance of the two sides' means."""
    roles = np.asarray(columns["role"], dtype=object)
    mean_left = np.asarray(columns["mean_left"], dtype=float)
    mean_right = np.asarray(columns["mean_right"], dtype=float)
    return {
        "dominant_left": _dominant(roles, mean_left),
        "dominant_right": _dominant(roles, mean_right),
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
    _validate(ratings)
    _single_wave(ratings, "inter_role()")
    side = _by_role(_pick(_observed_slim(ratings), selector))
    both = pd.concat(
        [_per_respondent(side.get(role_a)), _per_respondent(side.get(role_b))],
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
        _validate(ratings)
        _single_wave(ratings, "wave_change()")
    table = _welch_sides(
        _pick(_observed_slim(ratings_t), selector),
        _pick(_observed_slim(ratings_prev), selector),
        roles=roles,
    )
    table.columns = WAVE_CHANGE_COLUMNS
    return table


# --------------------------------------------------------------------------------------------
# Reliability
# --------------------------------------------------------------------------------------------


UNIT_KEYS = [*SIDE_KEYS, "role"]


def _block_reliability(
    units: NDArray[np.int64], count: NDArray[np.float64], value: NDArray[np.float64], key: tuple
) -> dict:
    """Reliability of one (wave, panel, block) from aligned unit codes, counts and values
    (value NaN: cannot judge), with bootstrap intervals seeded by the block's ``key``."""
    _, units = np.unique(units, return_inverse=True)
    n_units_all = int(units.max()) + 1
    answered = np.bincount(units, weights=count, minlength=n_units_all)
    observed = ~np.isnan(value)
    units, count, value = units[observed], count[observed], value[observed]
    values, value_index = np.unique(value, return_inverse=True)
    by_unit = np.zeros((n_units_all, values.size))
    np.add.at(by_unit, (units, value_index), count)
    n = by_unit.sum(axis=1)
    icc = stats.icc_oneway_from_summaries(n, by_unit @ values, by_unit @ values**2)
    # The seed depends on the block only, so a split run gives the same intervals.
    seed = [stats.BOOTSTRAP_SEED, zlib.crc32("|".join(map(str, key)).encode())]
    intervals = stats.reliability_bootstrap(by_unit, values, seed=seed)
    return {
        "n_raters": int(answered.max()),
        "n_units": int((n > 0).sum()),
        "alpha_interval": stats.krippendorff_alpha_from_counts(by_unit, values, "interval"),
        "alpha_ordinal": stats.krippendorff_alpha_from_counts(by_unit, values, "ordinal"),
        "icc1": icc["ICC1"],
        "icc1k": icc["ICC1k"],
        **{
            f"{coefficient}_ci_{bound}": interval[position]
            for coefficient, interval in intervals.items()
            for position, bound in enumerate(("low", "high"))
        },
    }


def reliability(ratings: pd.DataFrame) -> pd.DataFrame:
    """Inter-rater reliability per (wave, panel, block): ``reliability_from_counts`` of the
    ratings' ``value_counts``."""
    _validate(ratings)
    return reliability_from_counts(value_counts(ratings))


def reliability_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """Inter-rater reliability per (wave, panel, block) from value counts.

    Raters are respondents, units are the block's items (holder, subject, perspective,
    role); cannot-judge is a missing value. Every coefficient here depends on the ratings
    only through each unit's value counts, so no rater needs to be identified and a rater
    who cannot judge one item still counts for the others. Columns ``RELIABILITY_COLUMNS``:

    * ``n_raters``: the most raters any one item of the block had (a value or cannot
      judge); ``n_units``: items with at least one value;
    * ``alpha_interval``, ``alpha_ordinal``: ``stats.krippendorff_alpha_from_counts``;
    * ``icc1``, ``icc1k``: ``stats.icc_oneway_from_summaries``, the one-way random-effects
      ICC(1,1) and ICC(1,k) of Shrout & Fleiss (1979) with targets = items (unequal numbers
      of raters per item allowed);
    * ``<coefficient>_ci_low``/``_ci_high``: 95 % percentile bootstrap intervals of each
      (``stats.reliability_bootstrap``: B = 1,000 replicates resampling items, seeded by
      ``stats.BOOTSTRAP_SEED`` and the block's key, so reruns give the same numbers).

    Rows are sorted by (wave, panel, block); a block whose ratings are all missing still
    gets a row (zero units, NaN coefficients).
    """
    if counts.empty:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    units = counts.groupby(UNIT_KEYS, observed=True).ngroup().to_numpy()
    count = counts["count"].to_numpy(dtype=float)
    value = counts["value"].to_numpy(dtype=float)
    blocks = counts.groupby(RELIABILITY_KEYS, observed=True).indices
    rows = []
    for key in sorted(blocks):
        positions = blocks[key]
        row = dict(zip(RELIABILITY_KEYS, key, strict=True))
        row.update(_block_reliability(units[positions], count[positions], value[positions], key))
        rows.append(row)
    return pd.DataFrame(rows, columns=RELIABILITY_COLUMNS)


# --------------------------------------------------------------------------------------------
# All presets
# --------------------------------------------------------------------------------------------


def _selector_columns(prefix: str, selector: Selector) -> dict[str, str]:
    return {
        f"{prefix}_panel": selector.panel if selector.panel is not None else POOLED_PANEL,
        f"{prefix}_holder": selector.holder,
        f"{prefix}_subject": selector.subject,
        f"{prefix}_perspective": selector.perspective,
    }


@dataclass(frozen=True)
class _Side:
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


class _CellSides:
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

    def pick(self, selector: Selector) -> _Side | None:
        """The side's cells, None when it has no observed value."""
        panel = POOLED_PANEL if selector.panel is None else selector.panel
        positions = self._positions.get(
            (panel, selector.holder, selector.subject, selector.perspective)
        )
        if positions is None:
            return None
        return _Side(
            self._role[positions],
            **{name: values[positions] for name, values in self._fields.items()},
        )


def _welch_from_cells(left: _Side, right: _Side) -> dict[str, np.ndarray]:
    """The ``_welch_sides`` columns of two independent sides, from their cell summaries."""
    roles = sorted(set(left.role).union(right.role), key=str)
    a, b = left.aligned(roles), right.aligned(roles)
    welch = stats.welch_from_summaries(a["n"], a["mean"], a["sd"], b["n"], b["mean"], b["sd"])
    return _role_columns(roles, a["n"], a, b["n"], b, welch, "welch")


def _overlapping_from_cells(
    left: _Side, right: _Side, sums: pd.DataFrame, *, roles: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """The role columns of two partially overlapping sides: each side's cell summaries and
    ``sums``, the ``PAIRED_SUM_COLUMNS`` of the experts in both (``_overlap``)."""
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
    return _role_columns(roles, a["n"], a, b["n"], b, difference, "overlapping")


def _side_summary(side: pd.DataFrame) -> _Side:
    """A (respondent, role, value) frame summarised per role as its cell would be."""
    parts = _by_role(side)
    roles = np.array(sorted(parts, key=str), dtype=object)
    summaries = [stats.mean_ci(parts[role]["value"].to_numpy(dtype=float)) for role in roles]
    fields = ("n", "mean", "sd", "ci_low", "ci_high")
    return _Side(
        roles,
        *(
            np.array([getattr(summary, name) for summary in summaries], dtype=float)
            for name in fields
        ),
    )


def _paired(left: Selector, right: Selector) -> bool:
    """Both sides on one panel: the same experts rated both, so the comparison is paired."""
    return left.panel is not None and left.panel == right.panel


def _overlap(left: Selector, right: Selector) -> tuple[Selector, Selector] | None:
    """The shared part of two sides of which one pools every panel and the other is one
    panel: both sides restricted to that panel, whose experts rated both. None otherwise."""
    if (left.panel is None) == (right.panel is None):
        return None
    panel = left.panel if left.panel is not None else right.panel
    return replace(left, panel=panel), replace(right, panel=panel)


def _method(left: Selector, right: Selector) -> str:
    """The t test of a comparison: paired, overlapping (partially overlapping samples) or
    welch (independent samples)."""
    if _paired(left, right):
        return "paired"
    return "overlapping" if _overlap(left, right) is not None else "welch"


def _preset_sides(home_panel: Mapping[str, str]):
    """(preset, subject, left, right) of every preset and subject that ``home_panel`` allows:
    each actor other than ``ANCHOR_ACTOR``, leaving out presets that need a panel missing
    from ``home_panel``."""
    for preset, build in PRESETS.items():
        for subject in home_panel:
            if subject == ANCHOR_ACTOR:
                continue
            try:
                left, right = build(subject, home_panel)
            except ValueError:  # an actor of this preset has no panel of its own
                continue
            yield preset, subject, left, right


def paired_presets(home_panel: Mapping[str, str]) -> list[tuple[Selector, Selector]]:
    """The (left, right) selectors whose ``paired_sums`` the preset comparisons need: those of
    the paired comparisons, and the shared part (``_overlap``) of the partially overlapping
    ones. Only these need to know which expert gave which rating; all else comes from cells."""
    pairs = []
    for _, _, left, right in _preset_sides(home_panel):
        if _paired(left, right):
            pairs.append((left, right))
        elif (overlap := _overlap(left, right)) is not None:
            pairs.append(overlap)
    return pairs


def all_preset_comparisons(
    ratings: pd.DataFrame,
    home_panel: Mapping[str, str],
    *,
    cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every preset for every subject, per wave, from the ratings: ``preset_comparisons`` of
    each wave's cells (``cells``, the ``cell_statistics`` of the same ratings, computed here
    when not given) and paired sums. The results equal ``compare()``'s."""
    _validate(ratings)
    if cells is None:
        cells = cell_statistics(ratings)
    frames = []
    for wave in sorted(cells["wave"].astype(str).unique()):
        wave_ratings = ratings.loc[(ratings["wave"].astype(str) == wave).to_numpy()]
        paired = {
            (left, right): paired_sums(wave_ratings, left, right)
            for left, right in paired_presets(home_panel)
        }
        frames.append(preset_comparisons(cells.loc[cells["wave"] == wave], paired, home_panel))
    if not frames:
        return pd.DataFrame(columns=PRESET_COMPARISON_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def preset_comparisons(
    cells: pd.DataFrame,
    paired: Mapping[tuple[Selector, Selector], pd.DataFrame],
    home_panel: Mapping[str, str],
) -> pd.DataFrame:
    """Every preset for every subject of one wave, as one long table.

    For each preset in ``PRESETS`` and each actor X in ``home_panel`` other than
    ``ANCHOR_ACTOR`` (RUS) whose two selectors both have at least one non-missing rating,
    the compare() role rows, prefixed with wave, preset, subject and both selectors
    (``left_panel`` ... ``right_perspective``; a pooled panel is "ALL"). The per-comparison
    summary (``dominant_left``, ``dominant_right``, ``profile_distance``) is repeated on each
    role row of its comparison. Columns ``PRESET_COMPARISON_COLUMNS``.

    Independent (Welch) comparisons come from the cell statistics ``cells`` (the
    ``cell_statistics`` of the wave); paired ones from ``paired``, the ``paired_sums`` of
    each pair of ``paired_presets(home_panel)`` (a pair missing there has no matched
    respondent); partially overlapping ones from both. A preset that needs the panel of an
    actor missing from ``home_panel`` (a wave without a Moscow panel has no ascribed roles)
    is left out.
    """
    if cells.empty:
        return pd.DataFrame(columns=PRESET_COMPARISON_COLUMNS)
    (wave,) = cells["wave"].astype(str).unique()
    cell_sides = _CellSides(cells)
    no_pairs = pd.DataFrame(columns=PAIRED_SUM_COLUMNS)
    headers, tables = [], []
    for preset, subject, left, right in _preset_sides(home_panel):
        left_side, right_side = cell_sides.pick(left), cell_sides.pick(right)
        if left_side is None or right_side is None:
            continue
        if _paired(left, right):
            roles = sorted(set(left_side.role).union(right_side.role), key=str)
            columns = _paired_columns(paired.get((left, right), no_pairs), roles)
        elif (overlap := _overlap(left, right)) is not None:
            columns = _overlapping_from_cells(left_side, right_side, paired.get(overlap, no_pairs))
        else:
            columns = _welch_from_cells(left_side, right_side)
        headers.append(
            {
                "wave": wave,
                "preset": preset,
                "subject": subject,
                **_selector_columns("left", left),
                **_selector_columns("right", right),
                **_profile_summary(columns),
            }
        )
        tables.append(columns)
    if not tables:
        return pd.DataFrame(columns=PRESET_COMPARISON_COLUMNS)
    # each comparison's header repeated on its role rows
    repeat = np.repeat(np.arange(len(headers)), [len(table["role"]) for table in tables])
    header_rows = pd.DataFrame(headers).iloc[repeat].reset_index(drop=True)
    roles = pd.DataFrame(
        {
            name: np.concatenate([table[name] for table in tables])
            for name in COMPARISON_ROLE_COLUMNS
        }
    )
    return pd.concat([header_rows, roles], axis=1)[PRESET_COMPARISON_COLUMNS]
