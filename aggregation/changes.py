"""Change of a cell between two waves, from the cells' stored summaries (pure, no ORM).

Two waves are independent samples of expert judgements (a response belongs to one wave), so
the change of a cell's mean is a Welch difference (``stats.welch_from_summaries``). Welch's
test needs only each side's n, mean and SD, so the change is computed from the stored cell
results of the two runs, without loading the earlier wave's ratings again.
"""

import pandas as pd

from aggregation import stats

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
    welch = stats.welch_from_summaries(
        both["n_t"],
        both["mean_t"],
        both["sd_t"],
        both["n_prev"],
        both["mean_prev"],
        both["sd_prev"],
    )
    for column in ("diff", "ci_low", "ci_high", "p_value"):
        both[column] = welch[column]
    return both[CHANGE_COLUMNS]
