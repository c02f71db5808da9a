"""aggregation.engine on small literal ratings frames (no database)."""

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from aggregation import engine, stats
from aggregation.engine import Selector

HOME_PANEL = {"RUS": "MOW", "KAZ": "AST", "ARM": "YER", "KGZ": "BIS", "TJK": "DYU"}
NAN = math.nan

# The reference matrices of test_stats, run through the engine end to end.
# Krippendorff (2011): 4 coders (rows) x 12 units, NaN = no value.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, NAN, NAN, NAN],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NAN, 3],
    [NAN, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NAN],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NAN],
]
# Shrout & Fleiss (1979), Table 2: 6 targets (rows) x 4 judges.
SHROUT_FLEISS_1979 = [
    [9, 2, 5, 8],
    [6, 1, 3, 2],
    [8, 4, 6, 8],
    [7, 1, 2, 6],
    [10, 5, 6, 9],
    [6, 2, 4, 7],
]


def rating(
    respondent: str,
    role: str,
    value: float,
    *,
    panel: str = "MOW",
    holder: str = "RUS",
    subject: str = "ARM",
    perspective: str = "expectation",
    wave: str = "2026-spring",
    block: int = 1,
    cannot_judge: bool = False,
    confidence: float = math.nan,
    scale_points: int = 11,
) -> dict:
    return {
        "wave": wave,
        "panel": panel,
        "respondent": respondent,
        "block": block,
        "holder": holder,
        "subject": subject,
        "perspective": perspective,
        "role": role,
        "value": value,
        "cannot_judge": cannot_judge,
        "confidence": confidence,
        "scale_points": scale_points,
    }


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=engine.RATINGS_COLUMNS)


def cell(table: pd.DataFrame, panel: str, role: str = "protectee") -> pd.Series:
    match = table[(table["panel"] == panel) & (table["role"] == role)]
    assert len(match) == 1
    return match.iloc[0]


def test_ratings_columns_are_the_loader_contract():
    assert engine.RATINGS_COLUMNS == [
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
    assert (engine.ESTIMATOR_NAME, engine.ESTIMATOR_VERSION) == ("plain_means", "1.1")


# ---------------------------------------------------------------------------------------------
# Cell statistics
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def protectee_cell() -> pd.DataFrame:
    return frame(
        [
            rating("m1", "protectee", 6, confidence=5),
            rating("m2", "protectee", 8, confidence=1),
            rating("m3", "protectee", 10),  # no confidence: weight 3
            rating("m4", "protectee", math.nan, cannot_judge=True),
            rating("m5", "protectee", 0, cannot_judge=True),  # cannot judge is never a 0
            rating("y1", "protectee", 2, panel="YER", confidence=4),
            rating("y2", "protectee", 4, panel="YER", confidence=4),
        ]
    )


def test_cell_statistics_hand_computed_panel_cell(protectee_cell):
    table = engine.cell_statistics(protectee_cell)
    moscow = cell(table, "MOW")
    # values 6, 8, 10: mean 8, sd 2, se 2/sqrt(3), t(0.975, 2) = 4.302653
    assert moscow["n"] == 3
    assert moscow["n_cannot_judge"] == 2
    assert moscow["mean"] == pytest.approx(8.0)
    assert moscow["median"] == pytest.approx(8.0)
    assert moscow["sd"] == pytest.approx(2.0)
    assert moscow["se"] == pytest.approx(2 / math.sqrt(3))
    half_width = 4.302652729911275 * 2 / math.sqrt(3)
    assert moscow["ci_low"] == pytest.approx(8 - half_width)
    assert moscow["ci_high"] == pytest.approx(8 + half_width)
    # (6*5 + 8*1 + 10*3) / (5 + 1 + 3)
    assert moscow["weighted_mean"] == pytest.approx(68 / 9)
    # 1 - s^2 / sigma^2_EU = 1 - 4 / ((121 - 1) / 12)
    assert moscow["rwg"] == pytest.approx(0.6)


def test_cell_statistics_pooled_rows(protectee_cell):
    table = engine.cell_statistics(protectee_cell)
    assert list(table.columns) == engine.CELL_COLUMNS
    assert sorted(table["panel"]) == ["ALL", "MOW", "YER"]
    pooled = cell(table, engine.POOLED_PANEL)
    # 6, 8, 10, 2, 4: mean 6, s^2 = (0 + 4 + 16 + 16 + 4) / 4 = 10 = sigma^2_EU -> r_wg 0
    assert pooled["n"] == 5
    assert pooled["n_cannot_judge"] == 2
    assert pooled["mean"] == pytest.approx(6.0)
    assert pooled["median"] == pytest.approx(6.0)
    assert pooled["sd"] == pytest.approx(math.sqrt(10))
    assert pooled["rwg"] == pytest.approx(0.0)
    assert pooled["weighted_mean"] == pytest.approx((68 + 2 * 4 + 4 * 4) / (9 + 8))


def test_cell_statistics_single_rating_cell_is_nan_where_undefined():
    ratings = frame(
        [rating("m1", "protectee", 7), rating("m2", "protectee", math.nan, cannot_judge=True)]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = engine.cell_statistics(ratings)
    moscow = cell(table, "MOW")
    assert (moscow["n"], moscow["n_cannot_judge"], moscow["mean"]) == (1, 1, 7.0)
    for column in ("sd", "se", "ci_low", "ci_high", "rwg"):
        assert math.isnan(moscow[column])


def test_cell_statistics_all_cannot_judge_cell_has_zero_n():
    ratings = frame([rating("m1", "protectee", math.nan, cannot_judge=True)])
    moscow = cell(engine.cell_statistics(ratings), "MOW")
    assert (moscow["n"], moscow["n_cannot_judge"]) == (0, 1)
    assert math.isnan(moscow["mean"]) and math.isnan(moscow["weighted_mean"])


def test_cell_statistics_accepts_categorical_keys(protectee_cell):
    categorical = protectee_cell.astype(
        {key: "category" for key in ["wave", "panel", "holder", "subject", "perspective", "role"]}
    )
    expected = engine.cell_statistics(protectee_cell)
    result = engine.cell_statistics(categorical)
    pd.testing.assert_frame_equal(
        result.astype({key: str for key in engine.CELL_KEYS}),
        expected.astype({key: str for key in engine.CELL_KEYS}),
    )


def test_cell_statistics_of_an_empty_frame_has_the_columns():
    assert list(engine.cell_statistics(frame([])).columns) == engine.CELL_COLUMNS


def test_cell_statistics_rejects_a_frame_without_the_contract_columns(protectee_cell):
    with pytest.raises(ValueError, match="confidence"):
        engine.cell_statistics(protectee_cell.drop(columns="confidence"))


# ---------------------------------------------------------------------------------------------
# Selectors and presets
# ---------------------------------------------------------------------------------------------


def test_selector_label_and_validation():
    assert Selector("MOW", "RUS", "ARM", "expectation").label() == "expectation RUS→ARM, MOW panel"
    assert Selector(None, "ARM", "ARM", "performance").label() == "performance ARM, all panels"
    with pytest.raises(ValueError, match="perspective"):
        Selector("MOW", "RUS", "ARM", "hope")


def test_presets_build_the_documented_selectors():
    presets = {name: build("ARM", HOME_PANEL) for name, build in engine.PRESETS.items()}
    assert presets == {
        "ascribed_vs_conceived": (
            Selector("MOW", "RUS", "ARM", "expectation"),
            Selector("YER", "ARM", "ARM", "conception"),
        ),
        "conception_vs_performance": (
            Selector("YER", "ARM", "ARM", "conception"),
            Selector(None, "ARM", "ARM", "performance"),
        ),
        "ego_vs_perceived_alter": (
            Selector("MOW", "RUS", "RUS", "conception"),
            Selector("MOW", "ARM", "RUS", "expectation"),
        ),
        "perceived_vs_actual_expectation": (
            Selector("MOW", "ARM", "RUS", "expectation"),
            Selector("YER", "ARM", "RUS", "expectation"),
        ),
    }
    assert set(engine.PRESET_LABELS) == set(engine.PRESETS)


def test_presets_need_the_subjects_home_panel():
    with pytest.raises(ValueError, match="BLR"):
        engine.PRESETS["ascribed_vs_conceived"]("BLR", HOME_PANEL)


# ---------------------------------------------------------------------------------------------
# compare()
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def armenia() -> pd.DataFrame:
    """Moscow ascribes "protectee" to Armenia; Yerevan conceives of it as "independent"."""
    moscow = {
        "protectee": [8, 9, 9, 10],
        "faithful_ally": [5, 5, 6, 6],
        "independent": [1, 2, 2, 3],
    }
    yerevan = {
        "protectee": [1, 0, 2, 1],
        "faithful_ally": [3, 2, 4, 3],
        "independent": [9, 9, 10, 8],
    }
    rows = [
        rating(f"m{i}", role, value)
        for role, values in moscow.items()
        for i, value in enumerate(values)
    ]
    rows += [
        rating(
            f"y{i}", role, value, panel="YER", holder="ARM", subject="ARM", perspective="conception"
        )
        for role, values in yerevan.items()
        for i, value in enumerate(values)
    ]
    return frame(rows)


def test_ascribed_vs_conceived_finds_protectee_against_independent(armenia):
    left, right = engine.PRESETS["ascribed_vs_conceived"]("ARM", HOME_PANEL)
    result = engine.compare(armenia, left, right)
    assert result.method == "welch"
    assert result.dominant_left == "protectee"
    assert result.dominant_right == "independent"
    roles = result.roles.set_index("role")
    assert list(result.roles.columns) == engine.COMPARISON_ROLE_COLUMNS
    assert roles.loc["protectee", "diff"] == pytest.approx(9.0 - 1.0)
    assert roles.loc["independent", "diff"] == pytest.approx(2.0 - 9.0)
    # profile distance over the three roles: sqrt(8^2 + 2.5^2 + 7^2)
    assert result.profile_distance == pytest.approx(math.sqrt(64 + 6.25 + 49))
    assert (roles["p_adjusted"] >= roles["p_value"] - 1e-15).all()


def test_compare_welch_rows_agree_with_scipy(armenia):
    left, right = engine.PRESETS["ascribed_vs_conceived"]("ARM", HOME_PANEL)
    row = engine.compare(armenia, left, right).roles.set_index("role").loc["faithful_ally"]
    reference = sps.ttest_ind([5, 5, 6, 6], [3, 2, 4, 3], equal_var=False)
    assert row["method"] == "welch"
    assert (row["n_left"], row["n_right"]) == (4, 4)
    assert row["p_value"] == pytest.approx(reference.pvalue)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(
        tuple(reference.confidence_interval(0.95))
    )
    assert row["hedges_g"] == pytest.approx(stats.hedges_g([5, 5, 6, 6], [3, 2, 4, 3]))


def test_compare_reports_the_t_test_and_the_size_of_the_bh_family_by_hand():
    left, right = (
        Selector("MOW", "RUS", "ARM", "expectation"),
        Selector("YER", "ARM", "ARM", "conception"),
    )
    ratings = frame(
        [rating(f"m{i}", "protectee", v) for i, v in enumerate([1, 2, 3])]
        + [rating(f"m{i}", "bridge", v) for i, v in enumerate([4, 4])]
        + [
            rating(f"y{i}", role, v, panel="YER", holder="ARM", perspective="conception")
            for role, values in (("protectee", [4, 6]), ("bridge", [4, 4]))
            for i, v in enumerate(values)
        ]
    )
    table = engine.compare(ratings, left, right).roles.set_index("role")
    protectee = table.loc["protectee"]
    # Left 1, 2, 3: mean 2, s² = 1, n = 3; right 4, 6: mean 5, s² = 2, n = 2.
    # se² = 1/3 + 2/2 = 4/3; df = (4/3)² / ((1/3)²/2 + 1²/1) = 32/19; t = −3 / √(4/3).
    assert protectee["se_diff"] == pytest.approx(math.sqrt(4 / 3), rel=1e-14)
    assert protectee["df"] == pytest.approx(32 / 19, rel=1e-14)
    assert protectee["t"] == pytest.approx(-3 / math.sqrt(4 / 3), rel=1e-14)
    # Both bridge sides are constant: no test, so the family holds one p-value.
    assert math.isnan(table.loc["bridge", "p_value"]) and math.isnan(table.loc["bridge", "t"])
    assert list(table["family_size"]) == [1, 1]
    assert protectee["p_adjusted"] == pytest.approx(protectee["p_value"])


def test_compare_pairs_respondents_when_both_sides_are_the_same_panel():
    # Moscow experts: Russia's ego role ...
    ego = {"m1": 9, "m2": 8, "m3": 10, "m4": 7}
    # ... and what they think Astana expects of Russia; m4 cannot judge, m5 only here
    alter = {"m1": 4, "m2": 5, "m3": 5, "m4": math.nan, "m5": 0}
    ratings = frame(
        [
            rating(r, "regional_leader", v, holder="RUS", subject="RUS", perspective="conception")
            for r, v in ego.items()
        ]
        + [
            rating(r, "regional_leader", v, holder="KAZ", subject="RUS", cannot_judge=math.isnan(v))
            for r, v in alter.items()
        ]
    )
    left, right = engine.PRESETS["ego_vs_perceived_alter"]("KAZ", HOME_PANEL)
    result = engine.compare(ratings, left, right)
    row = result.roles.iloc[0]
    assert result.method == row["method"] == "paired"
    # pairs m1 (9, 4), m2 (8, 5), m3 (10, 5)
    reference = sps.ttest_rel([9, 8, 10], [4, 5, 5])
    assert (row["n_left"], row["n_right"]) == (3, 3)
    assert row["mean_left"] == pytest.approx(9.0)
    assert row["mean_right"] == pytest.approx(14 / 3)
    assert row["diff"] == pytest.approx(9.0 - 14 / 3)
    assert row["p_value"] == pytest.approx(reference.pvalue)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(
        tuple(reference.confidence_interval(0.95))
    )


def test_conception_vs_performance_accounts_for_the_experts_on_both_sides():
    # Yerevan experts y1-y4 rate Armenia's conception, y1-y3 also its performance (y4 cannot
    # judge it); Moscow experts m1, m2 rate the performance only. The pooled performance side
    # holds y1-y3, so the sides are partially overlapping samples, not independent ones.
    conception = {"y1": 8, "y2": 6, "y3": 7, "y4": 9}
    performance = {("YER", "y1"): 5, ("YER", "y2"): 4, ("YER", "y3"): 6, ("MOW", "m1"): 2}
    performance[("MOW", "m2")] = 3
    ratings = frame(
        [
            rating(r, "independent", v, panel="YER", holder="ARM", perspective="conception")
            for r, v in conception.items()
        ]
        + [
            rating(
                "y4",
                "independent",
                NAN,
                panel="YER",
                holder="ARM",
                perspective="performance",
                cannot_judge=True,
            )
        ]
        + [
            rating(r, "independent", v, panel=p, holder="ARM", perspective="performance")
            for (p, r), v in performance.items()
        ]
    )
    left, right = engine.PRESETS["conception_vs_performance"]("ARM", HOME_PANEL)
    result = engine.compare(ratings, left, right)
    row = result.roles.iloc[0]
    assert result.method == row["method"] == "overlapping"
    # By hand: left 8, 6, 7, 9 (mean 7.5, s² = 5/3); right 5, 4, 6, 2, 3 (mean 4, s² = 2.5);
    # the pairs y1 (8, 5), y2 (6, 4), y3 (7, 6): centred (1, −1, 0) and (0, −1, 1), r = 1/2.
    var_left, var_right, r, n_c = 5 / 3, 2.5, 0.5, 3
    se = math.sqrt(
        var_left / 4 + var_right / 5 - 2 * r * math.sqrt(var_left * var_right) * n_c / 20
    )
    welch_df = (var_left / 4 + var_right / 5) ** 2 / (
        (var_left / 4) ** 2 / 3 + (var_right / 5) ** 2 / 4
    )
    df = (n_c - 1) + (welch_df - n_c + 1) * (4 + 5 - 2 * n_c) / (4 + 5)
    assert (row["n_left"], row["n_right"]) == (4, 5)
    assert row["diff"] == pytest.approx(3.5)
    assert row["se_diff"] == pytest.approx(se, rel=1e-12)
    assert row["df"] == pytest.approx(df, rel=1e-12)
    assert row["t"] == pytest.approx(3.5 / se, rel=1e-12)
    assert row["p_value"] == pytest.approx(2 * sps.t.sf(3.5 / se, df), rel=1e-10)
    # Welch, which treats the samples as independent, overstates the standard error here
    assert row["se_diff"] < stats.welch_difference([8, 6, 7, 9], [5, 4, 6, 2, 3]).se


def test_compare_pooled_panels_are_not_paired(armenia):
    pooled = Selector(None, "RUS", "ARM", "expectation")
    assert engine.compare(armenia, pooled, pooled).method == "welch"


def test_compare_keeps_the_requested_roles_in_order(armenia):
    left, right = engine.PRESETS["ascribed_vs_conceived"]("ARM", HOME_PANEL)
    result = engine.compare(armenia, left, right, roles=["independent", "bridge", "protectee"])
    assert list(result.roles["role"]) == ["independent", "bridge", "protectee"]
    bridge = result.roles.set_index("role").loc["bridge"]
    assert (bridge["n_left"], bridge["n_right"]) == (0, 0)
    assert math.isnan(bridge["p_adjusted"])


def test_compare_of_empty_sides_has_no_dominant_role(armenia):
    result = engine.compare(
        armenia,
        Selector("MOW", "KAZ", "KAZ", "conception"),
        Selector("AST", "KAZ", "KAZ", "conception"),
    )
    assert result.roles.empty
    assert result.dominant_left is None and result.dominant_right is None
    assert math.isnan(result.profile_distance)


def test_compare_refuses_several_waves(armenia):
    two_waves = pd.concat([armenia, armenia.assign(wave="2025-autumn")], ignore_index=True)
    left, right = engine.PRESETS["ascribed_vs_conceived"]("ARM", HOME_PANEL)
    with pytest.raises(ValueError, match="one wave"):
        engine.compare(two_waves, left, right)


# ---------------------------------------------------------------------------------------------
# Inter-role, wave change
# ---------------------------------------------------------------------------------------------


def test_inter_role_pairs_per_respondent():
    great_power = {"k1": 9, "k2": 8, "k3": 7, "k4": 9, "k5": 6}
    regional_leader = {"k1": 4, "k2": 5, "k3": 3, "k4": 6, "k6": 2}
    ratings = frame(
        [
            rating(r, "great_power", v, panel="AST", holder="KAZ", subject="RUS")
            for r, v in great_power.items()
        ]
        + [
            rating(r, "regional_leader", v, panel="AST", holder="KAZ", subject="RUS")
            for r, v in regional_leader.items()
        ]
    )
    selector = Selector("AST", "KAZ", "RUS", "expectation")
    result = engine.inter_role(ratings, selector, "great_power", "regional_leader")
    a, b = [9, 8, 7, 9], [4, 5, 3, 6]  # k1-k4 rated both
    reference = sps.ttest_rel(a, b)
    correlation = sps.pearsonr(a, b)
    assert result.n == 4
    assert (result.mean_a, result.mean_b) == pytest.approx((8.25, 4.5))
    assert result.diff == pytest.approx(3.75)
    assert result.p_value == pytest.approx(reference.pvalue)
    assert (result.ci_low, result.ci_high) == pytest.approx(tuple(reference.confidence_interval()))
    assert result.r == pytest.approx(correlation.statistic)
    assert (result.r_ci_low, result.r_ci_high) == pytest.approx(
        tuple(correlation.confidence_interval())
    )


def test_wave_change_is_welch_between_waves(armenia):
    previous = armenia.assign(
        wave="2025-autumn", respondent=armenia["respondent"] + "-prev", value=armenia["value"] - 2
    )
    selector = Selector("MOW", "RUS", "ARM", "expectation")
    table = engine.wave_change(armenia, previous, selector)
    assert list(table.columns) == engine.WAVE_CHANGE_COLUMNS
    row = table.set_index("role").loc["protectee"]
    reference = sps.ttest_ind([8, 9, 9, 10], [6, 7, 7, 8], equal_var=False)
    assert (row["mean_t"], row["mean_prev"], row["diff"]) == pytest.approx((9.0, 7.0, 2.0))
    assert row["method"] == "welch"
    assert row["p_value"] == pytest.approx(reference.pvalue)
    assert (row["diff_ci_low"], row["diff_ci_high"]) == pytest.approx(
        tuple(reference.confidence_interval())
    )


# ---------------------------------------------------------------------------------------------
# Reliability
# ---------------------------------------------------------------------------------------------


def block_ratings(matrix: list[list[float]], *, block: int, units_are_rows: bool) -> list[dict]:
    """Ratings of one block from a matrix (targets x raters, or raters x units)."""
    array = np.array(matrix, dtype=float)
    if not units_are_rows:
        array = array.T
    return [
        rating(
            f"b{block}r{rater}",
            f"role_{unit:02d}",
            array[unit, rater],
            block=block,
            cannot_judge=bool(np.isnan(array[unit, rater])),
        )
        for unit in range(array.shape[0])
        for rater in range(array.shape[1])
    ]


def test_reliability_reproduces_the_reference_examples():
    ratings = frame(
        block_ratings(SHROUT_FLEISS_1979, block=1, units_are_rows=True)
        + block_ratings(KRIPPENDORFF_2011, block=2, units_are_rows=False)
    )
    table = engine.reliability(ratings).set_index("block")
    assert list(engine.reliability(ratings).columns) == engine.RELIABILITY_COLUMNS

    shrout_fleiss = table.loc[1]
    assert (shrout_fleiss["n_raters"], shrout_fleiss["n_units"]) == (4, 6)
    # Shrout & Fleiss (1979), worked example: ICC(1,1) = .17, ICC(1,4) = .44
    assert round(shrout_fleiss["icc1"], 2) == 0.17
    assert round(shrout_fleiss["icc1k"], 2) == 0.44
    assert shrout_fleiss["alpha_interval"] == pytest.approx(
        stats.krippendorff_alpha(np.array(SHROUT_FLEISS_1979).T, "interval")
    )

    krippendorff = table.loc[2]
    assert (krippendorff["n_raters"], krippendorff["n_units"]) == (4, 12)
    assert round(krippendorff["alpha_interval"], 3) == 0.849
    assert round(krippendorff["alpha_ordinal"], 3) == 0.815
    # the one-way ICC uses every value, units with missing values included
    data = np.array(KRIPPENDORFF_2011)
    present = ~np.isnan(data)
    expected = stats.icc_oneway_from_summaries(
        present.sum(axis=0), np.nansum(data, axis=0), np.nansum(data**2, axis=0)
    )
    assert krippendorff["icc1"] == pytest.approx(expected["ICC1"])
    assert krippendorff["icc1k"] == pytest.approx(expected["ICC1k"])


def test_reliability_too_small_block_gives_nan():
    ratings = frame([rating("m1", "protectee", 5), rating("m1", "independent", 3)])
    row = engine.reliability(ratings).iloc[0]
    assert (row["n_raters"], row["n_units"]) == (1, 2)
    assert math.isnan(row["alpha_interval"]) and math.isnan(row["icc1"])


# ---------------------------------------------------------------------------------------------
# All presets
# ---------------------------------------------------------------------------------------------


def test_all_preset_comparisons_covers_subjects_with_data_on_both_sides(armenia):
    table = engine.all_preset_comparisons(armenia, HOME_PANEL)
    assert list(table.columns) == engine.PRESET_COMPARISON_COLUMNS
    # only ascribed_vs_conceived for ARM has data on both sides in this frame
    assert set(zip(table["preset"], table["subject"], strict=True)) == {
        ("ascribed_vs_conceived", "ARM")
    }
    assert sorted(table["role"]) == ["faithful_ally", "independent", "protectee"]
    assert set(table["dominant_left"]) == {"protectee"}
    assert set(table["dominant_right"]) == {"independent"}
    assert set(table["left_panel"]) == {"MOW"} and set(table["right_panel"]) == {"YER"}
    assert set(table["wave"]) == {"2026-spring"}


def test_all_preset_comparisons_runs_per_wave_and_marks_pooled_panels(armenia):
    performance = frame(
        [
            rating(f"p{i}", "independent", v, panel=p, holder="ARM", subject="ARM")
            for i, (p, v) in enumerate([("MOW", 3), ("YER", 6), ("AST", 4)])
        ]
    ).assign(perspective="performance")
    ratings = pd.concat(
        [armenia, performance, armenia.assign(wave="2025-autumn")], ignore_index=True
    )
    table = engine.all_preset_comparisons(ratings, HOME_PANEL)
    assert set(zip(table["wave"], table["preset"], strict=True)) == {
        ("2025-autumn", "ascribed_vs_conceived"),
        ("2026-spring", "ascribed_vs_conceived"),
        ("2026-spring", "conception_vs_performance"),
    }
    performance_rows = table[table["preset"] == "conception_vs_performance"]
    assert set(performance_rows["right_panel"]) == {engine.POOLED_PANEL}
    independent = performance_rows.set_index("role").loc["independent"]
    assert (independent["n_right"], independent["mean_right"]) == (3, pytest.approx(13 / 3))


def test_all_preset_comparisons_accepts_categorical_keys_as_the_loader_sends(armenia):
    keys = ["wave", "panel", "respondent", "holder", "subject", "perspective", "role"]
    categorical = armenia.astype(dict.fromkeys(keys, "category"))
    expected = engine.all_preset_comparisons(armenia, HOME_PANEL)
    result = engine.all_preset_comparisons(categorical, HOME_PANEL)
    pd.testing.assert_frame_equal(result.astype(str), expected.astype(str))
    reliability = engine.reliability(categorical)
    pd.testing.assert_frame_equal(
        reliability.astype({"wave": str, "panel": str}),
        engine.reliability(armenia).astype({"wave": str, "panel": str}),
    )


def test_all_preset_comparisons_of_an_empty_frame():
    table = engine.all_preset_comparisons(frame([]), HOME_PANEL)
    assert table.empty and list(table.columns) == engine.PRESET_COMPARISON_COLUMNS
