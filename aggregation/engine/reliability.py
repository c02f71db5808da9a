"""Agreement per panel and block: Krippendorff's alpha and the one-way ICC."""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from aggregation import stats
from aggregation.engine.cells import value_counts
from aggregation.engine.columns import RELIABILITY_COLUMNS, RELIABILITY_KEYS, validate_ratings
from aggregation.engine.sides import SIDE_KEYS

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
    validate_ratings(ratings)
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
