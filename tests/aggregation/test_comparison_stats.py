"""The partially overlapping samples t test and the Benjamini–Hochberg families, against the
published worked example and values computed by hand here."""

import math

import numpy as np
import pytest
from scipy import stats as sps

from aggregation import comparison_stats, stats

# Derrick, Toher & White (2017), The Quantitative Methods for Psychology 13(2), worked example:
# eight values only in a, eight only in b, eight pairs.
A_ONLY = [20, 21, 16, 18, 14, 12, 14, 17]
B_ONLY = [10, 16, 18, 16, 15, 14, 13, 10]
A_PAIRED = [14, 15, 18, 20, 11, 19, 14, 15]
B_PAIRED = [15, 10, 15, 17, 13, 19, 12, 13]


def test_overlapping_equal_variances_reproduces_the_published_worked_example():
    # The paper (and Partover.test(..., var.equal=TRUE)): T_new1 = 2.421, df = 18.5, p = 0.026.
    result = stats.partially_overlapping_difference(
        A_ONLY, B_ONLY, A_PAIRED, B_PAIRED, equal_variances=True
    )
    assert result.method == "overlapping"
    assert result.diff == pytest.approx(2.0)
    assert result.t == pytest.approx(2.421, abs=5e-4)
    assert result.df == pytest.approx(18.5)
    assert result.p_value == pytest.approx(0.026, abs=5e-4)


def test_overlapping_welch_type_statistic_by_hand():
    a = np.array(A_ONLY + A_PAIRED, dtype=float)
    b = np.array(B_ONLY + B_PAIRED, dtype=float)
    # means 258/16 and 226/16
    assert a.sum() == 258 and b.sum() == 226
    var_a = ((a - 258 / 16) ** 2).sum() / 15
    var_b = ((b - 226 / 16) ** 2).sum() / 15
    x3, x4 = np.array(A_PAIRED, dtype=float), np.array(B_PAIRED, dtype=float)
    r = ((x3 - x3.mean()) * (x4 - x4.mean())).sum() / math.sqrt(
        ((x3 - x3.mean()) ** 2).sum() * ((x4 - x4.mean()) ** 2).sum()
    )
    se = math.sqrt(var_a / 16 + var_b / 16 - 2 * r * math.sqrt(var_a * var_b) * 8 / (16 * 16))
    welch_df = (var_a / 16 + var_b / 16) ** 2 / ((var_a / 16) ** 2 / 15 + (var_b / 16) ** 2 / 15)
    df = (8 - 1) + (welch_df - 8 + 1) * 16 / 32  # 16 unpaired values of 32 in all
    t = 2.0 / se

    result = stats.partially_overlapping_difference(A_ONLY, B_ONLY, A_PAIRED, B_PAIRED)
    assert result.se == pytest.approx(se, rel=1e-12)
    assert result.t == pytest.approx(t, rel=1e-12)
    assert result.df == pytest.approx(df, rel=1e-12)
    assert result.p_value == pytest.approx(2 * sps.t.sf(t, df), rel=1e-10)
    half = sps.t.ppf(0.975, df) * se
    assert (result.ci_low, result.ci_high) == pytest.approx((2 - half, 2 + half), rel=1e-12)


def test_overlapping_without_pairs_is_welch():
    welch = stats.welch_difference(A_ONLY, B_ONLY)
    result = stats.partially_overlapping_difference(A_ONLY, B_ONLY, [], [])
    for name in ("diff", "se", "df", "t", "p_value", "hedges_g"):
        assert getattr(result, name) == pytest.approx(getattr(welch, name), rel=1e-12)


def test_overlapping_of_pairs_only_has_the_paired_standard_error():
    paired = stats.paired_difference(A_PAIRED, B_PAIRED)
    result = stats.partially_overlapping_difference([], [], A_PAIRED, B_PAIRED)
    assert result.se == pytest.approx(paired.se, rel=1e-12)
    assert result.t == pytest.approx(paired.t, rel=1e-12)


def test_overlapping_from_summaries_is_nan_where_undefined():
    result = stats.overlapping_from_summaries(
        [1, 3, 3],
        [5.0, 5.0, 5.0],
        [np.nan, 0.0, 1.0],
        [4, 3, 3],
        [4.0, 5.0, 4.0],
        [1.0, 0.0, 1.0],
        [1, 2, 0],
        [0.0, 0.0, 0.0],
    )
    # one value on the left: only the difference
    assert result["diff"][0] == 1.0 and np.isnan(result["se"][0]) and np.isnan(result["t"][0])
    # both constant: no spread, no test
    assert np.isnan(result["t"][1]) and np.isnan(result["ci_low"][1])
    assert np.isfinite(result["p_value"][2])


def test_overlapping_refuses_more_pairs_than_values():
    with pytest.raises(ValueError, match="n_pairs"):
        stats.overlapping_from_summaries([3], [1.0], [1.0], [2], [1.0], [1.0], [3], [0.0])


def test_correlation_from_sums_by_hand_and_zero_where_undefined():
    # pairs a = (1, 2, 4), b = (2, 1, 5)
    # centred: a (−4/3, −1/3, 5/3), b (−2/3, −5/3, 7/3): Σ products 48/9, Σa'² 42/9, Σb'² 78/9
    expected = (48 / 9) / math.sqrt(42 / 9 * 78 / 9)
    r = stats.correlation_from_sums(
        [3, 1, 3], [7, 1, 3], [8, 1, 6], [21, 1, 3], [30, 1, 12], [24, 1, 6]
    )
    assert r[0] == pytest.approx(expected, rel=1e-12)
    assert r[1] == 0.0  # one pair
    assert r[2] == 0.0  # one side constant (1, 1, 1)
    assert comparison_stats.correlation_from_sums is stats.correlation_from_sums
