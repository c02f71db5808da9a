"""Bootstrap intervals of Krippendorff's alpha and the one-way ICC."""

import math

import numpy as np
import pytest

from aggregation import reliability_stats, stats

NAN = math.nan
# Krippendorff (2011): 4 coders (rows) x 12 units, NaN = no value.
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
        [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
    ]
)


def unit_counts(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raters × units → the units × values count matrix and the values."""
    values = np.unique(matrix[~np.isnan(matrix)])
    counts = np.array([[np.sum(column == v) for v in values] for column in matrix.T], dtype=float)
    return counts, values


def test_batch_coefficients_equal_the_single_ones():
    counts, values = unit_counts(KRIPPENDORFF_2011)
    rng = np.random.default_rng(5)
    stack = counts[rng.integers(0, 12, size=(20, 12))]
    batch = reliability_stats.reliability_coefficients_batch(stack, values)
    for replicate, one in enumerate(stack):
        icc = stats.icc_oneway_from_summaries(one.sum(axis=1), one @ values, one @ values**2)
        expected = {
            "alpha_interval": stats.krippendorff_alpha_from_counts(one, values, "interval"),
            "alpha_ordinal": stats.krippendorff_alpha_from_counts(one, values, "ordinal"),
            "icc1": icc["ICC1"],
            "icc1k": icc["ICC1k"],
        }
        for name, value in expected.items():
            assert batch[name][replicate] == pytest.approx(value, rel=1e-10, nan_ok=True)


def test_bootstrap_is_reproducible_with_its_seed():
    counts, values = unit_counts(KRIPPENDORFF_2011)
    first = stats.reliability_bootstrap(counts, values, seed=[0, 42])
    again = stats.reliability_bootstrap(counts, values, seed=[0, 42])
    other = stats.reliability_bootstrap(counts, values, seed=[1, 42])
    assert first == again
    assert first != other
    # the interval holds the estimate (alpha = 0.849 interval, Krippendorff 2011)
    low, high = first["alpha_interval"]
    assert low < 0.849 < high <= 1.0


def test_bootstrap_covers_the_true_icc_in_a_simulated_panel():
    # 30 items, 5 raters: item effect N(0, 1) plus rating noise N(0, 1), so the population
    # ICC(1,1) is 1 / (1 + 1) = 0.5. The 95 % intervals should cover it about 95 % of the time.
    rng = np.random.default_rng(2026)
    covered, runs = 0, 60
    for run in range(runs):
        ratings = rng.normal(size=(30, 1)) + rng.normal(size=(30, 5))
        counts, values = unit_counts(np.round(ratings, 1).T)
        low, high = stats.reliability_bootstrap(counts, values, replicates=300, seed=run)["icc1"]
        covered += low <= 0.5 <= high
    assert 0.8 <= covered / runs <= 1.0


def test_bootstrap_is_nan_where_undefined():
    counts, values = unit_counts(KRIPPENDORFF_2011[:, :2])  # two units only
    assert all(
        math.isnan(bound)
        for pair in stats.reliability_bootstrap(counts, values).values()
        for bound in pair
    )
    same = np.full((3, 6), 4.0)  # every rater gives every unit 4: alpha and ICC undefined
    counts, values = unit_counts(same)
    intervals = stats.reliability_bootstrap(counts, values)
    assert all(math.isnan(bound) for pair in intervals.values() for bound in pair)
    with pytest.raises(ValueError, match="replicates"):
        stats.reliability_bootstrap(counts, values, replicates=0)


def test_bh_by_family_hand_computed():
    p = [0.01, 0.04, 0.03, 0.20, NAN]
    # Two families: a = (0.01, 0.04): 0.01·2/1 = 0.02, 0.04·2/2 = 0.04;
    #               b = (0.03, 0.20, NaN): m = 2, 0.03·2/1 = 0.06, 0.20·2/2 = 0.20.
    adjusted, sizes = stats.benjamini_hochberg_by_family(p, ["a", "a", "b", "b", "b"])
    assert adjusted[:4] == pytest.approx([0.02, 0.04, 0.06, 0.20])
    assert math.isnan(adjusted[4])
    assert list(sizes) == [2, 2, 2, 2, 2]
    # One family of the four: sorted 0.01, 0.03, 0.04, 0.20 → 0.04, 0.06, 0.0533, 0.20, and
    # the step-up minimum from the top makes the second 0.0533 as well.
    adjusted, sizes = stats.benjamini_hochberg_by_family(p, ["all"] * 5)
    assert adjusted[:4] == pytest.approx([0.04, 0.16 / 3, 0.16 / 3, 0.20])
    assert list(sizes) == [4] * 5
