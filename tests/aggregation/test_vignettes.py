"""Aldrich–McKelvey scaling and King–Wand C-scores against their published examples."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from aggregation.estimators.vignettes import aldrich_mckelvey, c_scores

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def lc1980():
    frame = pd.read_csv(DATA / "LC1980.csv").astype(float)
    frame = frame.mask(frame.isin([0, 8, 9]))  # basicspace's missing=c(0, 8, 9)
    stimuli = frame.drop(columns="Self")
    result = aldrich_mckelvey(
        stimuli.to_numpy(), self_placements=frame["Self"].to_numpy(), polarity=0
    )
    return stimuli.columns, result


def test_lc1980_stimuli_and_fit_as_basicspace_documents_them(lc1980):
    names, result = lc1980
    locations = dict(zip(names, result.stimuli.round(3), strict=True))
    assert locations == {
        "Kennedy": -0.485,
        "Democrats": -0.317,
        "Carter": -0.232,
        "Anderson": -0.065,
        "Republicans": 0.517,
        "Reagan": 0.582,
    }
    assert round(result.fit, 2) == 0.14
    assert (result.n_used, result.n_positive, result.n_negative) == (643, 569, 74)


def test_lc1980_stimuli_and_fit_to_basicspace_020_precision(lc1980):
    _, result = lc1980
    np.testing.assert_allclose(
        result.stimuli,
        [-0.2316130600538, 0.5819244727891, -0.4852836159710, -0.0654994062179,
         0.5172696793332, -0.3167980698796],
        atol=1e-12,
    )  # fmt: skip
    assert result.fit == pytest.approx(0.141613220695, abs=1e-12)


def test_lc1980_intercepts_weights_and_ideal_points_as_basicspace_020(lc1980):
    _, result = lc1980
    reference = pd.read_csv(DATA / "aldmck_LC1980_basicspace-0.20.csv", comment="#")
    for column, ours in [
        ("intercept", result.intercepts),
        ("weight", result.weights),
        ("idealpt", result.ideal_points),
    ]:
        # basicspace turns every exact 0 of its output into NA (respondents[respondents == 0]
        # <- NA): one respondent whose ideal point is 0 (respondent 535, self-placement 4).
        expected = reference[column].where(reference[column].notna() | np.isnan(ours), 0.0)
        np.testing.assert_array_equal(np.isnan(ours), expected.isna(), err_msg=column)
        np.testing.assert_allclose(ours, expected, atol=1e-10, err_msg=column)


def test_polarity_puts_that_stimulus_on_the_left(lc1980):
    names, result = lc1980
    frame = pd.read_csv(DATA / "LC1980.csv").astype(float)
    frame = frame.mask(frame.isin([0, 8, 9]))
    reagan_left = aldrich_mckelvey(frame[list(names)].to_numpy(), polarity=1)
    np.testing.assert_allclose(reagan_left.stimuli, -result.stimuli)


def test_without_self_placements_every_used_respondent_is_transformed(lc1980):
    _, with_selves = lc1980
    frame = pd.read_csv(DATA / "LC1980.csv").astype(float)
    stimuli = frame.mask(frame.isin([0, 8, 9])).drop(columns="Self").to_numpy()
    result = aldrich_mckelvey(stimuli)
    assert result.n_used >= with_selves.n_used
    assert np.isnan(result.ideal_points).all()
    np.testing.assert_allclose(result.stimuli, with_selves.stimuli)  # the stimuli use all


def test_incomplete_respondents_join_only_when_asked():
    rng = np.random.default_rng(3)
    truth = np.array([-2.0, -1.0, 0.0, 1.0, 2.5])
    shift, stretch = rng.normal(0, 1, 200), rng.uniform(0.5, 2.0, 200)
    placements = shift[:, None] + stretch[:, None] * truth + rng.normal(0, 0.2, (200, 5))
    placements[:40, 4] = np.nan
    complete_only = aldrich_mckelvey(placements)
    with_incomplete = aldrich_mckelvey(placements, use_incomplete=True)
    assert complete_only.n_used == 160
    assert with_incomplete.n_used == 200
    assert np.corrcoef(with_incomplete.stimuli, truth)[0, 1] > 0.999


def test_degenerate_respondents_are_not_transformed():
    placements = np.array([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0], [1.0, 3.0, 4.0], [2.0, 3.0, 5.0]])
    result = aldrich_mckelvey(placements)
    assert np.isnan(result.weights[1])
    assert result.n_used == 3


# King & Wand (2007), Table 1: the 13 cases of a self-assessment y and two vignettes z1, z2
# (ties and order violations included), as the R package anchors ships them in
# data(table1src) (inputs) and data(table1) (Cs, Ce).
KING_WAND_TABLE_1 = [
    # y, z1, z2, Cs, Ce
    (1, 2, 3, 1, 1),  # y < z1 < z2
    (3, 3, 4, 2, 2),  # y = z1 < z2
    (3, 2, 4, 3, 3),  # z1 < y < z2
    (4, 2, 4, 4, 4),  # z1 < y = z2
    (4, 2, 3, 5, 5),  # z1 < z2 < y
    (2, 3, 3, 1, 1),  # y < z1 = z2
    (2, 2, 2, 2, 4),  # y = z1 = z2
    (3, 2, 2, 5, 5),  # z1 = z2 < y
    (1, 3, 2, 1, 1),  # y < z2 < z1
    (2, 3, 2, 1, 4),  # y = z2 < z1
    (3, 4, 2, 1, 5),  # z2 < y < z1
    (3, 3, 2, 2, 5),  # z2 < y = z1
    (4, 3, 2, 5, 5),  # z2 < z1 < y
]


def test_c_scores_reproduce_king_wand_table_1():
    table = np.array(KING_WAND_TABLE_1, dtype=float)
    result = c_scores(table[:, 0], table[:, 1:3])
    assert list(result.columns) == ["Cs", "Ce"]
    np.testing.assert_array_equal(result.to_numpy(), table[:, 3:])


def test_c_scores_with_three_vignettes_and_missing_ratings():
    result = c_scores([5, 7, np.nan, 9], [[2, 5, 8], [2, 5, 8], [2, 5, 8], [2, np.nan, 8]])
    np.testing.assert_array_equal(result["Cs"], [4, 5, np.nan, np.nan])
    np.testing.assert_array_equal(result["Ce"], [4, 5, np.nan, np.nan])
