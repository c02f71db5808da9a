"""Reference cases for the Delphi statistics (aggregation.consensus): published worked
examples of Kendall's W without and with ties, and consensus and stability figures computed
by hand."""

import math

import numpy as np
import pytest

from aggregation import consensus, stats

NAN = math.nan

# Siegel & Castellan (1988), *Nonparametric Statistics for the Behavioral Sciences*, 2nd ed.,
# section 9.4 (Kendall coefficient of concordance): three raters rank eight factors, no ties.
# The data and the published result are as reproduced in the help page of ``KendallW`` in
# the R package DescTools (Signorell et al.), "example from Siegel and Castellan (1988)":
# W = 0.6560847, chi-squared = 13.778, df = 7, p = 0.05528. Rows are the factors (airfare,
# climate, season, people, program, publicity, present, interest), columns the raters.
SIEGEL_CASTELLAN = np.array(
    [[5, 1, 4], [6, 7, 5], [7, 6, 1], [1, 2, 3], [2, 3, 2], [4, 5, 7], [3, 4, 6], [8, 8, 8]]
)

# Ratings with many ties: the ``anxiety`` data of the R package irr (Gamer, Lemon, Fellows &
# Singh), 20 subjects rated by three raters on a 1-6 scale, as printed in the same DescTools
# help page, whose published output with the tie correction is W = 0.5396569,
# chi-squared = 30.76, df = 19, p = 0.04288 (irr's ``kendall(anxiety, TRUE)`` gives the same
# to its printed precision: W = 0.54, chi-squared(19) = 30.8, p = 0.0429).
ANXIETY = np.array(
    [
        [3, 3, 3, 4, 5, 5, 2, 3, 5, 2, 2, 6, 1, 5, 2, 2, 1, 2, 4, 3],
        [3, 6, 4, 6, 2, 4, 2, 4, 3, 3, 2, 3, 3, 3, 2, 2, 1, 3, 3, 4],
        [2, 1, 4, 4, 3, 2, 1, 6, 1, 1, 1, 2, 3, 3, 1, 1, 3, 3, 2, 2],
    ]
).T

# The example of the NAG Library routine G08DAF (Kendall's coefficient of concordance),
# which cites Siegel (1956): three comparisons of ten objects with tied ranks; its published
# example results are W = 0.828 (tie-corrected) and significance 0.008. Rows are the objects.
NAG_G08DAF = np.array(
    [
        [1.0, 4.5, 2.0, 4.5, 3.0, 7.5, 6.0, 9.0, 7.5, 10.0],
        [2.5, 1.0, 2.5, 4.5, 4.5, 8.0, 9.0, 6.5, 10.0, 6.5],
        [2.0, 1.0, 4.5, 4.5, 4.5, 4.5, 8.0, 8.0, 8.0, 10.0],
    ]
).T


def test_kendalls_w_reproduces_siegel_and_castellans_example_without_ties():
    result = stats.kendalls_w(SIEGEL_CASTELLAN)
    # Rank sums 10, 18, 14, 6, 7, 16, 13, 24 around their mean 13.5: S = 248, and
    # W = 12 S / (m² (n³ − n)) = 2976 / 4536.
    assert result.w == pytest.approx(2976 / 4536)
    assert round(result.w, 7) == 0.6560847
    assert round(result.chi2, 3) == 13.778
    assert result.df == 7
    assert round(result.p, 5) == 0.05528
    # Without ties the correction changes nothing.
    assert stats.kendalls_w(SIEGEL_CASTELLAN, correct_ties=False) == result


def test_kendalls_w_reproduces_the_published_tie_corrected_value_of_tied_ratings():
    result = stats.kendalls_w(ANXIETY)
    assert round(result.w, 7) == 0.5396569
    assert round(result.chi2, 2) == 30.76
    assert result.df == 19
    assert round(result.p, 5) == 0.04288
    # By hand: mean ranks within each rater give rank sums whose squared deviations add up
    # to S = 3004; the tie groups (t³ − t) add up to 402, 690 and 582 for the three raters,
    # so W = 12 x 3004 / (3² (20³ − 20) − 3 x 1674) = 36048 / 66798.
    assert result.w == pytest.approx(36048 / 66798)
    assert result.chi2 == pytest.approx(3 * 19 * 36048 / 66798)


def test_kendalls_w_without_the_tie_correction_uses_s_alone():
    # Not printed in the sources above, so by hand from the same S = 3004:
    # W = 36048 / (3² (20³ − 20)) = 36048 / 71820, chi-squared = m (n − 1) W.
    result = stats.kendalls_w(ANXIETY, correct_ties=False)
    assert result.w == pytest.approx(36048 / 71820)
    assert result.chi2 == pytest.approx(3 * 19 * 36048 / 71820)
    assert result.df == 19
    assert result.w < stats.kendalls_w(ANXIETY).w  # ties lower the uncorrected W


def test_kendalls_w_reproduces_the_nag_g08daf_example_with_ties():
    result = stats.kendalls_w(NAG_G08DAF)
    # By hand: S = 591; tie groups: rater 1 two pairs (2 x 6), rater 2 three pairs (3 x 6),
    # rater 3 a group of four (60) and one of three (24): sum T = 114, so
    # W = 12 x 591 / (3² (10³ − 10) − 3 x 114) = 7092 / 8568; uncorrected 7092 / 8910.
    assert result.w == pytest.approx(7092 / 8568)
    assert round(result.w, 3) == 0.828
    assert round(result.p, 3) == 0.008
    assert result.df == 9
    assert stats.kendalls_w(NAG_G08DAF, correct_ties=False).w == pytest.approx(7092 / 8910)


def test_kendalls_w_ranks_raw_ratings_per_rater_and_is_one_for_identical_orders():
    ratings = np.array([[1, 2, 0], [4, 6, 3], [9, 10, 7]])  # same order for every rater
    assert stats.kendalls_w(ratings).w == pytest.approx(1.0)


def test_kendalls_w_drops_rows_with_a_missing_value_and_is_nan_when_undefined():
    with_gap = np.vstack([NAG_G08DAF, [NAN, 3, 4]])
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
