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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from scipy import stats as sps

from aggregation import stats

ESTIMATOR_NAME = "plain_means"
ESTIMATOR_VERSION = "1.0"

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
    "hedges_g",
    "p_value",
    "p_adjusted",
    "method",
]

WAVE_CHANGE_COLUMNS = [
    column.replace("_left", "_t").replace("_right", "_prev") for column in COMPARISON_ROLE_COLUMNS
]

RELIABILITY_KEYS = ["wave", "panel", "block"]
ICC_NAMES = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]
RELIABILITY_COLUMNS = [
    *RELIABILITY_KEYS,
    "n_raters",
    "n_units",
    "alpha_interval",
    "alpha_ordinal",
    "icc_n_targets",
    "icc_n_raters",
    *(name.lower() for name in ICC_NAMES),
]

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

    Performance items are read with holder = subject = X (how X enacts its own role).
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


def _factorized_keys(
    frame: pd.DataFrame, keys: list[str]
) -> dict[str, tuple[np.ndarray, pd.Index]]:
    """Integer codes and uniques per key column, computed once (factorizing strings is the
    expensive part of a groupby)."""
    return {key: pd.factorize(frame[key], sort=False) for key in keys}


def _describe_groups(
    frame: pd.DataFrame, factorized: dict[str, tuple[np.ndarray, pd.Index]], keys: list[str]
) -> pd.DataFrame:
    """Vectorised per-group statistics over the prepared columns x, w, wx, cj, a.

    Groups by one int64 code combining the keys' factor codes, then decodes the keys.
    """
    shape = tuple(max(len(factorized[key][1]), 1) for key in keys)
    group = np.ravel_multi_index(tuple(factorized[key][0] for key in keys), shape)
    grouped = frame.groupby(group, sort=False)
    table = grouped.agg(
        n=("x", "count"),
        n_cannot_judge=("cj", "sum"),
        mean=("x", "mean"),
        median=("x", "median"),
        sd=("x", "std"),
        weight_sum=("w", "sum"),
        weighted_sum=("wx", "sum"),
        scale_points=("a", "max"),
    )
    key_codes = np.unravel_index(table.index.to_numpy(), shape)
    for position, key in enumerate(keys):
        table.insert(position, key, factorized[key][1].take(key_codes[position]).to_numpy())
    table = table.reset_index(drop=True)

    n = table["n"].to_numpy(dtype=float)
    sd = table["sd"].to_numpy(dtype=float)
    enough = n >= 2
    with np.errstate(all="ignore"):
        sd = np.where(enough, sd, np.nan)
        se = sd / np.sqrt(n)
        t = sps.t.ppf(0.975, np.where(enough, n - 1, np.nan))
        weight_sum = table["weight_sum"].to_numpy(dtype=float)
        weighted_sum = table["weighted_sum"].to_numpy(dtype=float)
        weighted = np.where(weight_sum > 0, weighted_sum / weight_sum, np.nan)
        scale = table["scale_points"].to_numpy(dtype=float)
        null_variance = np.where(scale >= 2, (scale**2 - 1) / 12, np.nan)
        rwg = np.clip(1 - sd**2 / null_variance, 0.0, None)
    mean = table["mean"].to_numpy(dtype=float)
    table["n"] = table["n"].astype(int)
    table["n_cannot_judge"] = table["n_cannot_judge"].astype(int)
    table["sd"] = sd
    table["se"] = se
    table["ci_low"] = mean - t * se
    table["ci_high"] = mean + t * se
    table["weighted_mean"] = weighted
    table["rwg"] = rwg
    return table


def cell_statistics(ratings: pd.DataFrame) -> pd.DataFrame:
    """Descriptive statistics per cell of the cube, per panel and pooled.

    One row per (wave, panel, holder, subject, perspective, role) and one more per
    (wave, holder, subject, perspective, role) with ``panel = "ALL"`` pooling all panels.
    Columns ``CELL_COLUMNS``: the keys, then

    * ``n``: non-missing ratings; ``n_cannot_judge``: ratings flagged cannot judge;
    * ``mean``, ``median``, ``sd`` (ddof = 1), ``se`` = sd / √n,
      ``ci_low``/``ci_high``: 95 % Student-t interval (NaN when n < 2);
    * ``weighted_mean``: confidence-weighted mean, weight = the 1-5 confidence, a missing
      confidence weighing ``MISSING_CONFIDENCE_WEIGHT`` (3, the midpoint);
    * ``rwg``: James, Demaree & Wolf (1984) 1 − s²/σ²_EU with σ²_EU = (A² − 1)/12 from the
      cell's ``scale_points``, truncated at 0 (see ``stats.rwg``); NaN when n < 2.

    Vectorised with one groupby per level (no per-cell Python loop). Rows are sorted by the
    keys.
    """
    _validate(ratings)
    if ratings.empty:
        return pd.DataFrame(columns=CELL_COLUMNS)
    values = _observed_values(ratings)
    weights = pd.to_numeric(ratings["confidence"], errors="coerce").astype(float)
    weights = weights.fillna(MISSING_CONFIDENCE_WEIGHT).where(values.notna())
    frame = pd.DataFrame(
        {
            "x": values.to_numpy(),
            "w": weights.to_numpy(),
            "wx": (weights * values).to_numpy(),
            "cj": _cannot_judge(ratings).to_numpy(dtype=int),
            "a": pd.to_numeric(ratings["scale_points"], errors="coerce").to_numpy(),
        }
    )
    factorized = _factorized_keys(ratings, CELL_KEYS)
    if any((codes < 0).any() for codes, _ in factorized.values()):
        raise ValueError(f"ratings have missing values in the key columns {CELL_KEYS}")
    per_panel = _describe_groups(frame, factorized, CELL_KEYS)
    pooled_keys = [key for key in CELL_KEYS if key != "panel"]
    pooled = _describe_groups(frame, factorized, pooled_keys)
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


class _SideIndex:
    """Picks the (respondent, role, value) rows of selectors from one observed frame.

    A mask over categorical columns compares integer codes, so a pick over a million ratings
    costs a few milliseconds; splitting the whole frame in advance would cost more than the
    handful of paired comparisons that use it.
    """

    def __init__(self, slim: pd.DataFrame) -> None:
        self._slim = slim

    def pick(self, selector: Selector) -> pd.DataFrame:
        return _pick(self._slim, selector)


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


def _compare_sides(
    left: pd.DataFrame, right: pd.DataFrame, *, paired: bool, roles: Sequence[str] | None
) -> pd.DataFrame:
    """Role-by-role comparison table of two (respondent, role, value) frames."""
    method = "paired" if paired else "welch"
    left_roles, right_roles = _by_role(left), _by_role(right)
    no_values = np.array([], dtype=float)
    rows = []
    for role in _role_order(left, right, roles):
        left_part, right_part = left_roles.get(role), right_roles.get(role)
        if paired:
            both = pd.concat(
                [_per_respondent(left_part), _per_respondent(right_part)],
                axis=1,
                keys=["left", "right"],
                join="inner",
            )
            a, b = both["left"].to_numpy(), both["right"].to_numpy()
            difference = stats.paired_difference(a, b)
        else:
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
                "hedges_g": difference.hedges_g,
                "p_value": difference.p_value,
                "p_adjusted": np.nan,
                "method": method,
            }
        )
    table = pd.DataFrame(rows, columns=COMPARISON_ROLE_COLUMNS)
    table = table.astype({"n_left": int, "n_right": int})
    if not table.empty:
        table["p_adjusted"] = stats.benjamini_hochberg(table["p_value"].to_numpy(dtype=float))
    return table


def _dominant(table: pd.DataFrame, column: str) -> str | None:
    means = table[column].astype(float)
    if means.isna().all():
        return None
    return str(table.loc[means.idxmax(), "role"])


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
    and ``diff == mean_left − mean_right``. Otherwise Welch (``stats.welch_difference``) on
    all ratings of each side. (A pooled side that includes the other side's panel shares some
    experts with it; Welch ignores that dependence.)

    ``roles`` fixes the roles and their order; by default the sorted union of the roles either
    side has. ``p_adjusted`` is Benjamini–Hochberg across the roles of this comparison.
    """
    _validate(ratings)
    _single_wave(ratings, "compare()")
    slim = _observed_slim(ratings)
    return _comparison(left, right, _pick(slim, left), _pick(slim, right), roles=roles)


def _comparison(
    left: Selector,
    right: Selector,
    left_side: pd.DataFrame,
    right_side: pd.DataFrame,
    *,
    roles: Sequence[str] | None,
) -> ComparisonResult:
    paired = left.panel is not None and left.panel == right.panel
    table = _compare_sides(left_side, right_side, paired=paired, roles=roles)
    return _summary_comparison(left, right, table)


def _summary_comparison(left: Selector, right: Selector, table: pd.DataFrame) -> ComparisonResult:
    """A ComparisonResult around a finished role table: dominant roles, profile distance."""
    paired = left.panel is not None and left.panel == right.panel
    return ComparisonResult(
        left=left,
        right=right,
        method="paired" if paired else "welch",
        roles=table,
        dominant_left=_dominant(table, "mean_left"),
        dominant_right=_dominant(table, "mean_right"),
        profile_distance=stats.profile_distance(
            dict(zip(table["role"], table["mean_left"], strict=True)),
            dict(zip(table["role"], table["mean_right"], strict=True)),
        ),
    )


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
    table = _compare_sides(
        _pick(_observed_slim(ratings_t), selector),
        _pick(_observed_slim(ratings_prev), selector),
        paired=False,
        roles=roles,
    )
    table.columns = WAVE_CHANGE_COLUMNS
    return table


# --------------------------------------------------------------------------------------------
# Reliability
# --------------------------------------------------------------------------------------------


def _complete_part(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """The larger complete sub-matrix of a targets × raters matrix: drop the raters
    (columns) or the targets (rows) that have a missing value, whichever keeps more cells."""
    present = ~np.isnan(matrix)
    by_raters = matrix[:, present.all(axis=0)]
    by_targets = matrix[present.all(axis=1), :]
    return max(by_raters, by_targets, key=lambda part: (part.size, part.shape[1]))


def _block_reliability(units: np.ndarray, raters: np.ndarray, values: np.ndarray) -> dict:
    """Reliability of one block from aligned unit codes, rater codes and values."""
    observed = ~np.isnan(values)
    units, raters, values = units[observed], raters[observed], values[observed]
    unit_codes, unit_index = np.unique(units, return_inverse=True)
    rater_codes, rater_index = np.unique(raters, return_inverse=True)
    shape = (unit_codes.size, rater_codes.size)
    # a targets × raters matrix; duplicate ratings of one item by one respondent are averaged
    cells = unit_index * shape[1] + rater_index
    size = shape[0] * shape[1]
    sums = np.bincount(cells, weights=values, minlength=size).reshape(shape)
    counts = np.bincount(cells, minlength=size).reshape(shape)
    with np.errstate(all="ignore"):
        matrix = sums / counts

    row: dict = {"n_raters": int(shape[1]), "n_units": int(shape[0])}
    row["alpha_interval"] = stats.krippendorff_alpha(matrix.T, "interval")
    row["alpha_ordinal"] = stats.krippendorff_alpha(matrix.T, "ordinal")
    complete = _complete_part(matrix)
    row["icc_n_targets"], row["icc_n_raters"] = (int(size) for size in complete.shape)
    if complete.shape[0] >= 2 and complete.shape[1] >= 2:
        coefficients = stats.icc(complete)
    else:
        coefficients = dict.fromkeys(ICC_NAMES, np.nan)
    row.update({name.lower(): coefficients[name] for name in ICC_NAMES})
    return row


def reliability(ratings: pd.DataFrame) -> pd.DataFrame:
    """Inter-rater reliability per (wave, panel, block).

    Raters are respondents, units are the block's items (holder, subject, perspective,
    role); cannot-judge is a missing value. Columns ``RELIABILITY_COLUMNS``:

    * ``n_raters``, ``n_units``: respondents and items with at least one value;
    * ``alpha_interval``, ``alpha_ordinal``: ``stats.krippendorff_alpha`` (missing allowed);
    * ``icc1`` ... ``icc3k``: ``stats.icc`` on a complete sub-matrix with targets = items
      and judges = raters, built by dropping either the raters or the items with a missing
      value, whichever keeps more cells; ``icc_n_targets``/``icc_n_raters`` give its size.
      NaN when that leaves fewer than 2 × 2.

    Rows are sorted by (wave, panel, block); a block whose ratings are all missing still
    gets a row (zero counts, NaN coefficients).
    """
    _validate(ratings)
    if ratings.empty:
        return pd.DataFrame(columns=RELIABILITY_COLUMNS)
    unit_keys = [*SIDE_KEYS, "role"]
    factorized = _factorized_keys(ratings, unit_keys)
    unit_shape = tuple(max(len(factorized[key][1]), 1) for key in unit_keys)
    units = np.ravel_multi_index(tuple(factorized[key][0] for key in unit_keys), unit_shape)
    raters = pd.factorize(ratings["respondent"])[0]
    values = _observed_values(ratings).to_numpy(dtype=float)

    rows = []
    groups = ratings.groupby(RELIABILITY_KEYS, sort=True, observed=True).indices
    for key, positions in groups.items():
        row = dict(zip(RELIABILITY_KEYS, key, strict=True))
        row.update(_block_reliability(units[positions], raters[positions], values[positions]))
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


class _CellSides:
    """Stored-style cell statistics grouped by side, for Welch comparisons from summaries.

    Welch's test needs only each side's n, mean and SD, which ``cell_statistics`` already
    computed (a pooled side is the ``panel = "ALL"`` cell), so independent comparisons do not
    go back to the ratings. Cells without an observed value are left out, as ``compare``
    leaves out roles without one.
    """

    def __init__(self, cells: pd.DataFrame) -> None:
        observed = cells.loc[cells["n"] > 0]
        self._sides = {
            tuple(str(part) for part in key): table.set_index(table["role"].astype(str))
            for key, table in observed.groupby(["panel", *SIDE_KEYS], sort=False, observed=True)
        }
        self._empty = observed.iloc[:0].set_index(observed["role"].iloc[:0].astype(str))

    def pick(self, selector: Selector) -> pd.DataFrame:
        panel = POOLED_PANEL if selector.panel is None else selector.panel
        key = (panel, selector.holder, selector.subject, selector.perspective)
        return self._sides.get(key, self._empty)


def _welch_from_cells(left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
    """The ``_compare_sides`` table of two independent sides, from their cell summaries."""
    roles = sorted(set(left.index).union(right.index), key=str)
    columns = ["n", "mean", "sd", "ci_low", "ci_high"]
    a = left[columns].reindex(roles)
    b = right[columns].reindex(roles)
    n_a, n_b = a["n"].fillna(0).to_numpy(), b["n"].fillna(0).to_numpy()
    welch = stats.welch_from_summaries(n_a, a["mean"], a["sd"], n_b, b["mean"], b["sd"])
    table = pd.DataFrame(
        {
            "role": roles,
            "n_left": n_a.astype(int),
            "mean_left": a["mean"].to_numpy(dtype=float),
            "sd_left": a["sd"].to_numpy(dtype=float),
            "ci_low_left": a["ci_low"].to_numpy(dtype=float),
            "ci_high_left": a["ci_high"].to_numpy(dtype=float),
            "n_right": n_b.astype(int),
            "mean_right": b["mean"].to_numpy(dtype=float),
            "sd_right": b["sd"].to_numpy(dtype=float),
            "ci_low_right": b["ci_low"].to_numpy(dtype=float),
            "ci_high_right": b["ci_high"].to_numpy(dtype=float),
            "diff": welch["diff"],
            "diff_ci_low": welch["ci_low"],
            "diff_ci_high": welch["ci_high"],
            "hedges_g": welch["hedges_g"],
            "p_value": welch["p_value"],
            "p_adjusted": stats.benjamini_hochberg(welch["p_value"]),
            "method": "welch",
        },
        columns=COMPARISON_ROLE_COLUMNS,
    )
    return table


def all_preset_comparisons(
    ratings: pd.DataFrame,
    home_panel: Mapping[str, str],
    *,
    cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every preset for every subject, per wave, as one long table.

    For each wave, each preset in ``PRESETS`` and each actor X in ``home_panel`` other than
    ``ANCHOR_ACTOR`` (RUS) whose two selectors both pick at least one non-missing rating,
    the compare() role rows, prefixed with wave, preset, subject and both selectors
    (``left_panel`` ... ``right_perspective``; a pooled panel is "ALL"). The per-comparison
    summary (``dominant_left``, ``dominant_right``, ``profile_distance``) is repeated on each
    role row of its comparison. Columns ``PRESET_COMPARISON_COLUMNS``.

    A preset that needs the panel of an actor missing from ``home_panel`` (a wave without a
    Moscow panel has no ascribed roles) is left out. The results equal ``compare()``'s.
    Independent (Welch) comparisons are computed from the cell statistics (``cells``, the
    output of ``cell_statistics`` on the same ratings; computed here when not given), paired
    ones from the ratings.
    """
    _validate(ratings)
    if cells is None:
        cells = cell_statistics(ratings)
    frames = []
    for wave in sorted(cells["wave"].astype(str).unique()):
        cell_sides = _CellSides(cells.loc[cells["wave"] == wave])
        rating_sides = None
        for preset, build in PRESETS.items():
            for subject in home_panel:
                if subject == ANCHOR_ACTOR:
                    continue
                try:
                    left, right = build(subject, home_panel)
                except ValueError:  # an actor of this preset has no panel of its own
                    continue
                paired = left.panel is not None and left.panel == right.panel
                if paired:
                    # Only paired comparisons go back to the ratings, and only to this wave's.
                    rating_sides = rating_sides or _SideIndex(
                        _observed_slim(ratings.loc[(ratings["wave"] == wave).to_numpy()])
                    )
                    left_side, right_side = rating_sides.pick(left), rating_sides.pick(right)
                    if left_side.empty or right_side.empty:
                        continue
                    result = _comparison(left, right, left_side, right_side, roles=None)
                else:
                    left_cells, right_cells = cell_sides.pick(left), cell_sides.pick(right)
                    if left_cells.empty or right_cells.empty:
                        continue
                    result = _summary_comparison(
                        left, right, _welch_from_cells(left_cells, right_cells)
                    )
                table = result.roles.assign(
                    wave=wave,
                    preset=preset,
                    subject=subject,
                    **_selector_columns("left", left),
                    **_selector_columns("right", right),
                    dominant_left=result.dominant_left,
                    dominant_right=result.dominant_right,
                    profile_distance=result.profile_distance,
                )
                frames.append(table[PRESET_COMPARISON_COLUMNS])
    if not frames:
        return pd.DataFrame(columns=PRESET_COMPARISON_COLUMNS)
    return pd.concat(frames, ignore_index=True)
