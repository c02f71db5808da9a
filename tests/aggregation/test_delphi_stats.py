"""Reference cases for the Delphi statistics (aggregation.consensus): a published worked
example of Kendall's W with ties, and consensus and stability figures computed by hand."""

import math

import numpy as np
import pytest

from aggregation import consensus, stats

NAN = math.nan

# A published worked example of Kendall's W with tied ranks: three raters rank ten objects,
# ties given mean ranks. It is the example of the NAG Library routine G08DAF (Kendall's
# coefficient of concordance), whose published output is W = 0.828, corrected for ties, and
# significance 0.008; the data and W = 0.828 are, to our knowledge, Siegel's (1956)
# textbook example with ties, carried into Siegel & Castellan (1988, section 9.4) - the book
# itself was not at hand to check the page. From the data, the squared deviations of the
# rank sums add up to s = 591, so without the tie correction
# W = 12 * 591 / (3² (10³ − 10)) = 7092 / 8910 = 0.796.
# Rows are the objects, columns the three raters.
SIEGEL_1956_TIES = np.array(
    [
        [1.0, 4.5, 2.0, 4.5, 3.0, 7.5, 6.0, 9.0, 7.5, 10.0],
        [2.5, 1.0, 2.5, 4.5, 4.5, 8.0, 9.0, 6.5, 10.0, 6.5],
        [2.0, 1.0, 4.5, 4.5, 4.5, 4.5, 8.0, 8.0, 8.0, 10.0],
    ]
).T
SIEGEL_S = 591
SIEGEL_W_CORRECTED = 0.828
SIEGEL_P_CORRECTED = 0.008
SIEGEL_W_UNCORRECTED = 7092 / 8910


def test_kendalls_w_reproduces_the_published_example_with_the_tie_correction():
    result = stats.kendalls_w(SIEGEL_1956_TIES)
    # Tie groups: rater 1 two pairs (2 x 6), rater 2 three pairs (3 x 6), rater 3 a group
    # of four (60) and one of three (24): sum T = 114; W = 7092 / (8910 − 3 x 114).
    assert result.w == pytest.approx(7092 / 8568)
    assert round(result.w, 3) == SIEGEL_W_CORRECTED
    assert result.df == 9
    assert result.chi2 == pytest.approx(3 * 9 * 7092 / 8568)
    assert round(result.p, 3) == SIEGEL_P_CORRECTED


def test_kendalls_w_without_the_tie_correction_uses_s_alone():
    result = stats.kendalls_w(SIEGEL_1956_TIES, correct_ties=False)
    assert result.w == pytest.approx(12 * SIEGEL_S / (3**2 * (10**3 - 10)))
    assert round(result.w, 3) == round(SIEGEL_W_UNCORRECTED, 3) == 0.796
    assert result.chi2 == pytest.approx(3 * 9 * SIEGEL_W_UNCORRECTED)


def test_kendalls_w_ranks_raw_ratings_per_rater_and_is_one_for_identical_orders():
    ratings = np.array([[1, 2, 0], [4, 6, 3], [9, 10, 7]])  # same order for every rater
    assert stats.kendalls_w(ratings).w == pytest.approx(1.0)


def test_kendalls_w_drops_rows_with_a_missing_value_and_is_nan_when_undefined():
    with_gap = np.vstack([SIEGEL_1956_TIES, [NAN, 3, 4]])
    assert stats.kendalls_w(with_gap).w == pytest.approx(7092 / 8568)
    assert math.isnan(stats.kendalls_w([[1, 2]]).w)  # one object
    assert math.isnan(stats.kendalls_w([[5, 5], [5, 5]]).w)  # all tied
    with pytest.raises(ValueError):
        stats.kendalls_w([1, 2, 3])


def test_quartiles_interpolate_linearly_between_order_statistics():
    # Positions (n − 1) p = 1.75, 3.5 and 5.25 of 1..8: 2.75, 4.5, 6.25.
    assert consensus.interquartile_range([8, 1, 2, 3, 4, 5, 6, 7]) == (2.75, 4.5, 6.25)
    assert all(math.isnan(v) for v in consensus.interquartile_range([NAN]))


def test_share_near_median_counts_ratings_within_one_point():
    # Median 5; 4, 5, 5 and 6 are within one point, 3 and 9 are not: 4 / 6.
    assert consensus.share_near_median([3, 4, 5, 5, 6, 9, NAN]) == pytest.approx(4 / 6)
    assert consensus.share_near_median([3, 4, 5, 5, 6, 9], distance=2) == pytest.approx(5 / 6)


def test_item_consensus_applies_every_criterion_that_is_set():
    both = consensus.ConsensusCriterion(iqr_max=1, share_min=0.75)
    agreed = consensus.item_consensus([5, 5, 6, 6, 7], criterion=both)
    # Q1 = 5, median 6, Q3 = 6: IQR 1; all five within one point of 6.
    assert (agreed.q1, agreed.median, agreed.q3, agreed.iqr) == (5, 6, 6, 1)
    assert agreed.share_near_median == 1.0
    assert agreed.consensus
    split = consensus.item_consensus([2, 5, 6, 6, 9], criterion=both)
    # Same quartiles, but only 5, 6, 6 are near the median: 0.6 < 0.75.
    assert split.iqr == 1 and split.share_near_median == pytest.approx(0.6)
    assert not split.consensus
    assert consensus.item_consensus(
        [2, 5, 6, 6, 9], criterion=consensus.ConsensusCriterion(iqr_max=1)
    ).consensus
    assert not consensus.item_consensus([6], criterion=both).consensus  # one rating
    assert not consensus.item_consensus([6, 6], criterion=consensus.ConsensusCriterion()).consensus


def test_stability_counts_changes_and_tests_the_shift_with_wilcoxon():
    # Differences 0, +1, 0, −2, 0, +1: three changed of six. Without the zeros the ranks of
    # |1|, |2|, |1| are 1.5, 3, 1.5: W+ = 3 = W− = n(n + 1)/4, so z = 0 and p = 1.
    result = consensus.stability([5, 5, 6, 7, 3, 8], [5, 6, 6, 5, 3, 9])
    assert (result.pairs, result.changed, result.share_changed) == (6, 3, 0.5)
    assert result.statistic == 3
    assert result.p == pytest.approx(1.0)


def test_stability_exact_p_when_everyone_moves_up():
    # Differences 1..6, all positive: W− = 0; exactly one of 2^6 sign patterns is as extreme
    # on each side, so the two-sided exact p is 2 / 64.
    result = consensus.stability([4] * 6, [5, 6, 7, 8, 9, 10])
    assert result.statistic == 0
    assert result.p == pytest.approx(2 / 64)


def test_stability_without_changes_or_pairs_has_no_test():
    unchanged = consensus.stability([3, 4, NAN], [3, 4, 7])
    assert (unchanged.pairs, unchanged.changed, unchanged.share_changed) == (2, 0, 0.0)
    assert math.isnan(unchanged.p)
    assert math.isnan(consensus.stability([], []).share_changed)
    with pytest.raises(ValueError):
        consensus.stability([1, 2], [1])
