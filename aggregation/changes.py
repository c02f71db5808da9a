"""Change of a cell between two waves, from the cells' stored summaries (pure, no ORM).

Two waves are independent samples of expert judgements (a response belongs to one wave), so
the change of a cell's mean is a Welch difference. Welch's test needs only each side's n,
mean and SD, so the change is computed from the stored cell results of the two runs, without
loading the earlier wave's ratings again.
"""

import numpy as np
import pandas as pd
from scipy import stats as sps

CHANGE_KEYS = ["panel", "holder", "subject", "perspective", "role"]
CHANGE_COLUMNS = [
    *CHANGE_KEYS,
    "n_t",
    "mean_t",
    "n_prev",
    "mean_prev",
    "diff",
    "ci_low",
    "ci_high",
    "p_value",
]


def welch_from_summary(
    n1: np.ndarray,
    mean1: np.ndarray,
    sd1: np.ndarray,
    n2: np.ndarray,
    mean2: np.ndarray,
    sd2: np.ndarray,
    level: float = 0.95,
) -> pd.DataFrame:
    """Welch's difference of two means from summary statistics, vectorised.

    diff = m1 − m2, SE = sqrt(s1²/n1 + s2²/n2), Welch–Satterthwaite degrees of freedom
    ν = SE⁴ / ((s1²/n1)²/(n1 − 1) + (s2²/n2)²/(n2 − 1)); CI = diff ± t(1 − α/2, ν)·SE;
    p = 2·(1 − F_t(|diff/SE|, ν)). Welch, B. L. (1947), "The generalization of 'Student's'
    problem when several different population variances are involved", Biometrika 34, 28–35.
    Where a side has n < 2 or SE = 0 the results are NaN.
    """
    n1, n2 = np.asarray(n1, float), np.asarray(n2, float)
    v1 = np.asarray(sd1, float) ** 2 / n1
    v2 = np.asarray(sd2, float) ** 2 / n2
    diff = np.asarray(mean1, float) - np.asarray(mean2, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        se = np.sqrt(v1 + v2)
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
        valid = (n1 >= 2) & (n2 >= 2) & (se > 0) & np.isfinite(df)
        half = np.where(valid, sps.t.ppf(0.5 + level / 2, np.where(valid, df, 1)) * se, np.nan)
        t = np.where(valid, diff / np.where(se > 0, se, 1), np.nan)
        p = np.where(valid, 2 * sps.t.sf(np.abs(t), np.where(valid, df, 1)), np.nan)
    return pd.DataFrame({"diff": diff, "ci_low": diff - half, "ci_high": diff + half, "p_value": p})


def cell_changes(current: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Change of every cell present in both waves: current minus previous, with Welch CI.

    Both frames have ``CHANGE_KEYS`` plus ``n``, ``mean`` and ``sd`` (stored cell results).
    """
    if current.empty or previous.empty:
        return pd.DataFrame(columns=CHANGE_COLUMNS)
    both = current[[*CHANGE_KEYS, "n", "mean", "sd"]].merge(
        previous[[*CHANGE_KEYS, "n", "mean", "sd"]],
        on=CHANGE_KEYS,
        suffixes=("_t", "_prev"),
        how="inner",
    )
    welch = welch_from_summary(
        both["n_t"],
        both["mean_t"],
        both["sd_t"],
        both["n_prev"],
        both["mean_prev"],
        both["sd_prev"],
    )
    return pd.concat([both.reset_index(drop=True), welch], axis=1)[CHANGE_COLUMNS]
