"""Reference cases for aggregation.stats: the papers' own worked examples, scipy, and hand
computations, plus property tests for order invariance."""

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from aggregation import stats

NAN = math.nan

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section E: 4 coders
# (rows A-D) x 12 units, NaN where a coder gave no value.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]

# Shrout & Fleiss (1979), Table 2: 6 targets (rows) rated by 4 judges (columns).
SHROUT_FLEISS_1979 = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]


def same_or_both_nan(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == pytest.approx(b, rel=1e-9, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# Krippendorff's alpha
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_matches_the_2011_worked_example(level, published):
    assert round(stats.krippendorff_alpha(KRIPPENDORFF_2011, level), 3) == published


def test_krippendorff_alpha_ignores_units_with_a_single_value():
    # unit 12 has one value only (coder B); dropping the unit must not change alpha
    without_unit_12 = [row[:11] for row in KRIPPENDORFF_2011]
    for level in stats.ALPHA_LEVELS:
        assert stats.krippendorff_alpha(without_unit_12, level) == pytest.approx(
            stats.krippendorff_alpha(KRIPPENDORFF_2011, level)
        )


def test_krippendorff_alpha_rejects_an_unknown_level():
    with pytest.raises(ValueError, match="level"):
        stats.krippendorff_alpha(KRIPPENDORFF_2011, "cardinal")


def test_krippendorff_alpha_rejects_a_one_dimensional_input():
    with pytest.raises(ValueError, match="2-D"):
        stats.krippendorff_alpha([1, 2, 3])


def test_krippendorff_alpha_is_nan_when_undefined():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # no unit has two values
        assert math.isnan(stats.krippendorff_alpha([[1, NAN], [NAN, 2]]))
        # all values equal: expected disagreement is 0
        assert math.isnan(stats.krippendorff_alpha([[3, 3], [3, 3]]))
        assert math.isnan(stats.krippendorff_alpha(np.empty((0, 0))))


def test_krippendorff_alpha_ratio_handles_zero_values():
    # 0 and 0 coincide without a 0/0 warning; agreement is perfect
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert stats.krippendorff_alpha([[0, 5, 10], [0, 5, 10]], "ratio") == 1.0


reliability_matrices = st.integers(2, 5).flatmap(
    lambda raters: st.integers(2, 7).flatmap(
        lambda units: st.lists(
            st.lists(
                st.one_of(st.integers(0, 10).map(float), st.just(NAN)),
                min_size=units,
                max_size=units,
            ),
            min_size=raters,
            max_size=raters,
        )
    )
)


@settings(max_examples=60, deadline=None)
@given(matrix=reliability_matrices, data=st.data())
def test_krippendorff_alpha_does_not_depend_on_the_order_of_raters_or_units(matrix, data):
    array = np.array(matrix)
    rater_order = data.draw(st.permutations(range(array.shape[0])))
    unit_order = data.draw(st.permutations(range(array.shape[1])))
    shuffled = array[np.ix_(rater_order, unit_order)]
    for level in stats.ALPHA_LEVELS:
        assert same_or_both_nan(
            stats.krippendorff_alpha(array, level), stats.krippendorff_alpha(shuffled, level)
        )


@settings(max_examples=60, deadline=None)
@given(
    units=st.lists(st.integers(0, 10), min_size=2, max_size=10).filter(lambda v: len(set(v)) > 1),
    raters=st.integers(2, 6),
)
def test_krippendorff_alpha_is_one_under_perfect_agreement(units, raters):
    matrix = np.tile(np.array(units, dtype=float), (raters, 1))
    for level in stats.ALPHA_LEVELS:
        assert stats.krippendorff_alpha(matrix, level) == pytest.approx(1.0)


# ---------------------------------------------------------------------------------------------
# ICC
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "published"),
    [
        ("ICC1", 0.17),
        ("ICC2", 0.29),
        ("ICC3", 0.71),
        ("ICC1k", 0.44),
        ("ICC2k", 0.62),
        ("ICC3k", 0.91),
    ],
)
def test_icc_matches_shrout_fleiss_table_2(name, published):
    assert round(stats.icc(SHROUT_FLEISS_1979)[name], 2) == published


def test_icc_returns_exactly_the_six_forms():
    assert set(stats.icc(SHROUT_FLEISS_1979)) == {"ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"}


@pytest.mark.parametrize(
    "bad",
    [
        [[1.0, NAN], [2.0, 3.0]],  # missing value
        [[1.0, 2.0, 3.0]],  # one target
        [[1.0], [2.0], [3.0]],  # one judge
    ],
)
def test_icc_rejects_missing_values_and_too_small_designs(bad):
    with pytest.raises(ValueError):
        stats.icc(bad)


def test_icc_is_nan_without_variance():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = stats.icc([[4, 4], [4, 4], [4, 4]])
    assert all(math.isnan(value) for value in result.values())


complete_matrices = st.integers(2, 6).flatmap(
    lambda targets: st.integers(2, 5).flatmap(
        lambda judges: st.lists(
            st.lists(st.integers(0, 10).map(float), min_size=judges, max_size=judges),
            min_size=targets,
            max_size=targets,
        )
    )
)


@settings(max_examples=60, deadline=None)
@given(matrix=complete_matrices, data=st.data())
def test_icc_does_not_depend_on_the_order_of_targets_or_judges(matrix, data):
    array = np.array(matrix)
    target_order = data.draw(st.permutations(range(array.shape[0])))
    judge_order = data.draw(st.permutations(range(array.shape[1])))
    original = stats.icc(array)
    shuffled = stats.icc(array[np.ix_(target_order, judge_order)])
    for name, value in original.items():
        assert same_or_both_nan(value, shuffled[name])


@settings(max_examples=60, deadline=None)
@given(
    targets=st.lists(st.integers(0, 10), min_size=2, max_size=10).filter(lambda v: len(set(v)) > 1),
    judges=st.integers(2, 6),
)
def test_icc_is_one_under_perfect_agreement(targets, judges):
    matrix = np.tile(np.array(targets, dtype=float)[:, None], (1, judges))
    for value in stats.icc(matrix).values():
        assert value == pytest.approx(1.0)


@settings(max_examples=60, deadline=None)
@given(matrix=complete_matrices)
def test_icc_average_forms_are_at_least_the_single_forms_when_positive(matrix):
    result = stats.icc(matrix)
    for single in ("ICC1", "ICC2", "ICC3"):
        if result[single] > 0:
            assert result[single + "k"] >= result[single] - 1e-12


# ---------------------------------------------------------------------------------------------
# From counts and summaries (what the database aggregates to)
# ---------------------------------------------------------------------------------------------


def unit_value_counts(raters_by_units) -> tuple[np.ndarray, np.ndarray]:
    """The units x values count matrix of a raters x units matrix, and its values."""
    data = np.array(raters_by_units, dtype=float)
    values = np.unique(data[~np.isnan(data)])
    counts = np.array([[np.sum(column == value) for value in values] for column in data.T])
    return counts, values


@pytest.mark.parametrize(
    ("level", "published"),
    [("nominal", 0.743), ("ordinal", 0.815), ("interval", 0.849), ("ratio", 0.797)],
)
def test_krippendorff_alpha_from_counts_matches_the_2011_worked_example(level, published):
    counts, values = unit_value_counts(KRIPPENDORFF_2011)
    assert round(stats.krippendorff_alpha_from_counts(counts, values, level), 3) == published


@settings(max_examples=60, deadline=None)
@given(matrix=reliability_matrices, level=st.sampled_from(stats.ALPHA_LEVELS))
def test_krippendorff_alpha_from_counts_equals_alpha_from_the_matrix(matrix, level):
    counts, values = unit_value_counts(matrix)
    assert same_or_both_nan(
        stats.krippendorff_alpha_from_counts(counts, values, level),
        stats.krippendorff_alpha(matrix, level),
    )


def test_krippendorff_alpha_from_counts_rejects_unsorted_values():
    with pytest.raises(ValueError, match="ascending"):
        stats.krippendorff_alpha_from_counts([[1, 1], [2, 0]], [3.0, 1.0])


def oneway_summaries(targets_by_judges) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.array(targets_by_judges, dtype=float)
    present = ~np.isnan(data)
    return present.sum(axis=1), np.nansum(data, axis=1), np.nansum(data**2, axis=1)


@pytest.mark.parametrize(("name", "published"), [("ICC1", 0.17), ("ICC1k", 0.44)])
def test_icc_oneway_from_summaries_matches_the_shrout_fleiss_example(name, published):
    result = stats.icc_oneway_from_summaries(*oneway_summaries(SHROUT_FLEISS_1979))
    assert round(result[name], 2) == published


@settings(max_examples=60, deadline=None)
@given(matrix=complete_matrices)
def test_icc_oneway_from_summaries_equals_icc_on_complete_data(matrix):
    result = stats.icc_oneway_from_summaries(*oneway_summaries(matrix))
    full = stats.icc(matrix)
    assert same_or_both_nan(result["ICC1"], full["ICC1"])
    assert same_or_both_nan(result["ICC1k"], full["ICC1k"])


def test_icc_oneway_from_summaries_with_unequal_judges_per_target():
    # three targets rated by 3, 2 and 4 judges: hand-computed one-way ANOVA
    groups = [[2.0, 3.0, 4.0], [6.0, 8.0], [1.0, 1.0, 2.0, 4.0]]
    n = np.array([len(g) for g in groups], dtype=float)
    sums = np.array([sum(g) for g in groups])
    squares = np.array([sum(x * x for x in g) for g in groups])
    total, grand = n.sum(), sums.sum() / n.sum()
    bms = (n * (sums / n - grand) ** 2).sum() / 2
    wms = sum(((np.array(g) - np.mean(g)) ** 2).sum() for g in groups) / (total - 3)
    n0 = (total - (n**2).sum() / total) / 2
    result = stats.icc_oneway_from_summaries(n, sums, squares)
    assert result["ICC1"] == pytest.approx((bms - wms) / (bms + (n0 - 1) * wms))
    assert result["ICC1k"] == pytest.approx((bms - wms) / bms)


def test_icc_oneway_from_summaries_is_nan_when_undefined():
    assert math.isnan(stats.icc_oneway_from_summaries([3], [6.0], [14.0])["ICC1"])
    assert math.isnan(stats.icc_oneway_from_summaries([1, 1], [2.0, 3.0], [4.0, 9.0])["ICC1"])
    assert math.isnan(stats.icc_oneway_from_summaries([2, 2], [8.0, 8.0], [32.0, 32.0])["ICC1"])


pairs = st.lists(
    st.tuples(st.integers(0, 10).map(float), st.integers(0, 10).map(float)), max_size=15
)


@settings(max_examples=80, deadline=None)
@given(pairs=pairs)
def test_paired_from_sums_equals_paired_difference(pairs):
    a = np.array([pair[0] for pair in pairs])
    b = np.array([pair[1] for pair in pairs])
    sums = (len(a), a.sum(), b.sum(), (a * a).sum(), (b * b).sum(), (a * b).sum())
    result = stats.paired_from_sums(*sums)
    expected = stats.paired_difference(a, b)
    for name in ("diff", "ci_low", "ci_high", "t", "p_value", "hedges_g"):
        assert same_or_both_nan(float(result[name]), getattr(expected, name)), name


@settings(max_examples=80, deadline=None)
@given(values=st.lists(st.integers(0, 100).map(float), max_size=15))
def test_mean_ci_from_sums_equals_mean_ci(values):
    x = np.array(values)
    result = stats.mean_ci_from_sums(len(x), x.sum(), (x * x).sum())
    expected = stats.mean_ci(x)
    for name in ("mean", "sd", "se", "ci_low", "ci_high"):
        assert same_or_both_nan(float(result[name]), getattr(expected, name)), name


# ---------------------------------------------------------------------------------------------
# r_wg and r_wg(J)
# ---------------------------------------------------------------------------------------------


def test_rwg_hand_computed_on_a_five_point_scale():
    # A = 5: sigma^2_EU = (25 - 1) / 12 = 2. Values 2, 3, 3, 4: mean 3, s^2 = (1+0+0+1)/3 = 2/3.
    # r_wg = 1 - (2/3) / 2 = 2/3.
    assert stats.rwg([2, 3, 3, 4], 5) == pytest.approx(2 / 3)


def test_rwg_on_the_eleven_point_scale():
    # A = 11 (0-10): sigma^2_EU = 120 / 12 = 10. Values 6, 8, 10: s^2 = 4. r_wg = 0.6.
    assert stats.rwg([6, 8, 10], 11) == pytest.approx(0.6)


def test_rwg_is_one_under_perfect_agreement():
    assert stats.rwg([4, 4, 4, 4], 5) == 1.0


def test_rwg_truncates_to_zero_beyond_the_uniform_variance():
    # 1, 5, 1, 5 on a 5-point scale: s^2 = 4 * 4 / 3 = 16/3 > 2 -> 1 - 8/3 < 0 -> truncated to 0
    assert stats.rwg([1, 5, 1, 5], 5) == 0.0
    # exactly the uniform variance gives 0 too: 1..5 once each has s^2 = 2.5 > 2 (ddof = 1)
    assert stats.rwg([1, 2, 3, 4, 5], 5) == 0.0


def test_rwg_ignores_missing_values_and_needs_two():
    assert stats.rwg([2, NAN, 3, 3, 4], 5) == pytest.approx(2 / 3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(stats.rwg([3], 5))
        assert math.isnan(stats.rwg([NAN, NAN], 5))
        assert math.isnan(stats.rwg([], 5))


def test_rwg_rejects_a_scale_with_fewer_than_two_points():
    with pytest.raises(ValueError, match="scale"):
        stats.rwg([1, 1], 1)


def test_rwg_j_hand_computed():
    # A = 5, sigma^2_EU = 2. Three items rated by four raters:
    #   item 1: 2, 3, 3, 4 -> s^2 = 2/3
    #   item 2: 3, 3, 3, 3 -> s^2 = 0
    #   item 3: 1, 2, 3, 2 -> mean 2, s^2 = (1+0+1+0)/3 = 2/3
    # mean item variance = 4/9; ratio = (4/9) / 2 = 2/9; J (1 - ratio) = 3 * 7/9 = 7/3
    # r_wg(J) = (7/3) / (7/3 + 2/9) = 21/23
    items = [[2, 3, 1], [3, 3, 2], [3, 3, 3], [4, 3, 2]]
    assert stats.rwg_j(items, 5) == pytest.approx(21 / 23)


def test_rwg_j_with_one_item_equals_rwg():
    assert stats.rwg_j([[2], [3], [3], [4]], 5) == pytest.approx(stats.rwg([2, 3, 3, 4], 5))


def test_rwg_j_truncates_to_zero_and_is_one_under_agreement():
    assert stats.rwg_j([[1, 5], [5, 1], [1, 5], [5, 1]], 5) == 0.0
    assert stats.rwg_j([[2, 4], [2, 4], [2, 4]], 5) == 1.0
    assert math.isnan(stats.rwg_j([[2, 4]], 5))


@settings(max_examples=60, deadline=None)
@given(values=st.lists(st.integers(0, 10), min_size=0, max_size=12), data=st.data())
def test_rwg_does_not_depend_on_order(values, data):
    order = data.draw(st.permutations(values))
    assert same_or_both_nan(stats.rwg(values, 11), stats.rwg(order, 11))
    result = stats.rwg(values, 11)
    assert math.isnan(result) or 0.0 <= result <= 1.0


# ---------------------------------------------------------------------------------------------
# Means and differences
# ---------------------------------------------------------------------------------------------


def test_mean_ci_matches_the_t_interval():
    values = [3.0, 5.0, 6.0, 8.0, 9.0]
    result = stats.mean_ci(values)
    low, high = sps.t.interval(0.95, 4, loc=np.mean(values), scale=sps.sem(values))
    assert result.n == 5
    assert result.mean == pytest.approx(6.2)
    assert result.sd == pytest.approx(np.std(values, ddof=1))
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_mean_ci_small_samples_give_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        one = stats.mean_ci([7.0, NAN])
        none = stats.mean_ci([])
    assert (one.n, one.mean) == (1, 7.0)
    assert math.isnan(one.sd) and math.isnan(one.ci_low)
    assert none.n == 0 and math.isnan(none.mean)


def test_weighted_mean_hand_computed_and_drops_missing_pairs():
    # (6*5 + 8*1 + 10*3) / (5 + 1 + 3) = 68 / 9
    assert stats.weighted_mean([6, 8, 10, NAN], [5, 1, 3, 4]) == pytest.approx(68 / 9)
    assert math.isnan(stats.weighted_mean([1.0], [0.0]))
    with pytest.raises(ValueError):
        stats.weighted_mean([1.0, 2.0], [1.0])


def test_welch_difference_agrees_with_scipy():
    a = [7.0, 8.0, 9.0, 9.0, 10.0, 6.0]
    b = [3.0, 5.0, 2.0, 8.0]
    result = stats.welch_difference(a, b)
    reference = sps.ttest_ind(a, b, equal_var=False)
    low, high = reference.confidence_interval(0.95)
    assert result.method == "welch"
    assert result.diff == pytest.approx(np.mean(a) - np.mean(b))
    assert result.t == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.df == pytest.approx(reference.df)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))
    assert result.hedges_g == pytest.approx(stats.hedges_g(a, b))


def test_paired_difference_agrees_with_scipy():
    a = [5.0, 7.0, 6.0, 9.0, 4.0, 8.0]
    b = [3.0, 6.0, 6.0, 5.0, 4.0, 5.0]
    result = stats.paired_difference(a, b)
    reference = sps.ttest_rel(a, b)
    low, high = reference.confidence_interval(0.95)
    assert result.method == "paired"
    assert result.t == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert result.df == 5
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_paired_difference_drops_incomplete_pairs():
    result = stats.paired_difference([5.0, 7.0, NAN, 9.0], [3.0, 6.0, 1.0, NAN])
    # pairs (5, 3) and (7, 6): differences 2 and 1
    assert result.diff == pytest.approx(1.5)
    assert result.df == 1


def test_differences_with_too_few_values_are_nan_without_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        welch = stats.welch_difference([1.0], [2.0, 3.0])
        paired = stats.paired_difference([1.0], [2.0])
        empty = stats.welch_difference([], [2.0, 3.0])
        constant = stats.welch_difference([2.0, 2.0], [5.0, 5.0])
    assert welch.diff == pytest.approx(-1.5)
    assert math.isnan(welch.p_value) and math.isnan(welch.ci_low)
    assert paired.diff == -1.0 and math.isnan(paired.t)
    assert math.isnan(empty.diff)
    assert constant.diff == -3.0 and math.isnan(constant.p_value)


def test_hedges_g_independent_hand_computed():
    # a: mean 3, var 2.5; b: mean 5, var 2.5; s_pooled = sqrt(2.5)
    # d = -2 / sqrt(2.5); J = 1 - 3 / (4 * 10 - 9) = 28/31
    a, b = [1, 2, 3, 4, 5], [3, 4, 5, 6, 7]
    assert stats.hedges_g(a, b) == pytest.approx(28 / 31 * -2 / math.sqrt(2.5))


def test_hedges_g_paired_uses_d_av():
    # a: mean 3, sd sqrt(2.5); b = 2, 4, 3, 6, 5: mean 4, sd sqrt(2.5)
    # d_av = -1 / sqrt(2.5); J = 1 - 3 / (4 * (5 - 1) - 1) = 0.8
    a, b = [1, 2, 3, 4, 5], [2, 4, 3, 6, 5]
    assert stats.hedges_g(a, b, paired=True) == pytest.approx(0.8 * -1 / math.sqrt(2.5))
    assert stats.paired_difference(a, b).hedges_g == pytest.approx(0.8 * -1 / math.sqrt(2.5))


# ---------------------------------------------------------------------------------------------
# Benjamini-Hochberg, profiles, correlation
# ---------------------------------------------------------------------------------------------


def test_benjamini_hochberg_hand_worked():
    # sorted: 0.005 (1), 0.01 (2), 0.03 (3), 0.04 (4); m p / i = 0.02, 0.02, 0.04, 0.04;
    # running minimum from the top keeps them; back in input order:
    adjusted = stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    assert adjusted == pytest.approx([0.02, 0.04, 0.04, 0.02])


def test_benjamini_hochberg_1995_example_rejects_four_at_q_05():
    # Benjamini & Hochberg (1995), section 4: 15 p-values; BH at q = 0.05 rejects the four
    # smallest.
    p_values = [
        0.0001, 0.0004, 0.0019, 0.0095, 0.0201, 0.0278, 0.0298, 0.0344,
        0.0459, 0.3240, 0.4262, 0.5719, 0.6528, 0.7590, 1.000,
    ]  # fmt: skip
    adjusted = stats.benjamini_hochberg(p_values)
    assert int((adjusted <= 0.05).sum()) == 4
    assert adjusted == pytest.approx(sps.false_discovery_control(p_values, method="bh"))


def test_benjamini_hochberg_passes_nan_through():
    adjusted = stats.benjamini_hochberg([0.01, NAN, 0.04])
    # m = 2: 0.01 * 2 / 1 = 0.02, 0.04 * 2 / 2 = 0.04
    assert adjusted[0] == pytest.approx(0.02)
    assert math.isnan(adjusted[1])
    assert adjusted[2] == pytest.approx(0.04)
    assert stats.benjamini_hochberg([]).size == 0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
def test_benjamini_hochberg_agrees_with_scipy(p_values):
    assert stats.benjamini_hochberg(p_values) == pytest.approx(
        sps.false_discovery_control(p_values, method="bh")
    )


def test_profile_distance_uses_common_roles_only():
    left = {"protectee": 1.0, "faithful_ally": 2.0, "independent": 5.0}
    right = {"protectee": 4.0, "faithful_ally": 6.0, "bridge": 0.0, "independent": NAN}
    # sqrt((1 - 4)^2 + (2 - 6)^2) = 5
    assert stats.profile_distance(left, right) == pytest.approx(5.0)
    assert math.isnan(stats.profile_distance({"a": 1.0}, {"b": 1.0}))


def test_correlation_ci_agrees_with_scipy_fisher_interval():
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]
    y = [2.0, 1.0, 4.0, 3.0, 7.0, 8.0, 6.0]
    result = stats.correlation_ci(x, y)
    reference = sps.pearsonr(x, y)
    low, high = reference.confidence_interval(0.95)
    assert result.n == 7
    assert result.r == pytest.approx(reference.statistic)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert (result.ci_low, result.ci_high) == pytest.approx((low, high))


def test_correlation_ci_small_or_constant_samples_give_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert math.isnan(stats.correlation_ci([1.0, 2.0], [2.0, 1.0]).r)
        assert math.isnan(stats.correlation_ci([1.0, 2.0, 3.0], [2.0, 2.0, 2.0]).r)
        three = stats.correlation_ci([1.0, 2.0, 3.0], [1.0, 3.0, 2.0])
        perfect = stats.correlation_ci([1.0, 2.0, 3.0, 4.0], [2.0, 4.0, 6.0, 8.0])
    assert three.r == pytest.approx(0.5) and math.isnan(three.ci_low)
    assert perfect.r == pytest.approx(1.0)


# Edge cases: NaN wherever the statistic is undefined, the same way everywhere ----------------


def test_paired_g_is_nan_with_two_pairs_whatever_the_difference():
    # df = 1: J = 1 − 3 / (4·1 − 1) = 0, so the old result was 0.000 for any difference.
    assert math.isnan(stats.hedges_g([5, 7], [3, 4], paired=True))
    assert math.isnan(stats.hedges_g([9, 10], [0, 1], paired=True))
    sums = stats.paired_from_sums(2, 12, 7, 25 + 49, 9 + 16, 15 + 28)
    assert math.isnan(float(sums["hedges_g"]))
    assert float(sums["diff"]) == 2.5


def test_paired_g_with_three_pairs_by_hand():
    # a = 5, 7, 9 (s = 2); b = 3, 4, 8 (mean 5, SS = 14, s = √7); d = 2, 3, 1 (mean 2);
    # J = 1 − 3 / (4·2 − 1) = 4/7; g = J · 2 / ((2 + √7) / 2).
    expected = (4 / 7) * 2 / ((2 + math.sqrt(7)) / 2)
    assert stats.hedges_g([5, 7, 9], [3, 4, 8], paired=True) == pytest.approx(expected, rel=1e-14)
    sums = stats.paired_from_sums(3, 21, 15, 25 + 49 + 81, 9 + 16 + 64, 15 + 28 + 72)
    assert float(sums["hedges_g"]) == pytest.approx(expected, rel=1e-12)


def test_a_side_without_spread_has_no_interval_like_a_difference_without_spread():
    constant = stats.mean_ci([8, 8, 8, 8])
    assert (constant.n, constant.mean, constant.sd, constant.se) == (4, 8.0, 0.0, 0.0)
    assert math.isnan(constant.ci_low) and math.isnan(constant.ci_high)
    from_sums = stats.mean_ci_from_sums([4], [32], [256])
    assert float(from_sums["sd"][0]) == 0.0
    assert np.isnan(from_sums["ci_low"]).all() and np.isnan(from_sums["ci_high"]).all()
    both = stats.welch_difference([8, 8, 8], [6, 6, 6])
    assert both.diff == 2.0 and math.isnan(both.ci_low) and math.isnan(both.p_value)
