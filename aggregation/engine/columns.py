"""The engine's frames: their columns, the codes shared by every step, input checks."""

from __future__ import annotations

import pandas as pd

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


def validate_ratings(ratings: pd.DataFrame) -> None:
    missing = [column for column in RATINGS_COLUMNS if column not in ratings.columns]
    if missing:
        raise ValueError(f"ratings frame lacks columns {missing}")


def observed_values(ratings: pd.DataFrame) -> pd.Series:
    """``value`` as float with cannot-judge ratings set to NaN."""
    values = pd.to_numeric(ratings["value"], errors="coerce").astype(float)
    return values.mask(cannot_judge_mask(ratings))


def cannot_judge_mask(ratings: pd.DataFrame) -> pd.Series:
    return ratings["cannot_judge"].fillna(False).astype(bool)


def check_single_wave(ratings: pd.DataFrame, what: str) -> None:
    waves = ratings["wave"]
    if len(waves) and not (waves == waves.iloc[0]).all():
        raise ValueError(f"{what} expects the ratings of one wave; filter by wave first")
