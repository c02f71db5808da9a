"""aggregation.estimators.estimate: the common interface and the plain and AM estimators."""

import numpy as np
import pandas as pd
import pytest

from aggregation import engine
from aggregation.estimators import ESTIMATE_COLUMNS, estimate
from aggregation.estimators.simulation import synthetic_wave


@pytest.fixture(scope="module")
def wave():
    return synthetic_wave(size=1, seed=5)


def test_plain_means_are_the_engines_cell_means_without_the_vignettes(wave):
    result = estimate(wave.ratings, "plain_means", vignettes=wave.vignettes)
    assert list(result.columns) == ESTIMATE_COLUMNS
    assert not result["subject"].isin(wave.vignettes).any()
    cells = engine.cell_statistics(wave.ratings)
    cells = cells[~cells["subject"].isin(wave.vignettes)].reset_index(drop=True)
    assert len(result) == len(cells)
    np.testing.assert_allclose(result["estimate"], cells["mean"])
    np.testing.assert_allclose(result["ci_low"], cells["ci_low"])
    np.testing.assert_array_equal(result["n"], cells["n"])
    assert result.attrs["estimator"] == "plain_means"


def test_every_estimator_returns_the_same_cells(wave):
    plain = estimate(wave.ratings, "plain_means", vignettes=wave.vignettes)
    corrected = estimate(wave.ratings, "aldrich_mckelvey", vignettes=wave.vignettes)
    keys = engine.CELL_KEYS
    pd.testing.assert_frame_equal(plain[keys], corrected[keys])
    assert set(corrected["panel"]) == {"MOW", "AST", "YER", "BIS", "DYU", "ALL"}
    assert (corrected["ci_low"] < corrected["estimate"]).all()
    assert (corrected["estimate"] < corrected["ci_high"]).all()


def test_unknown_estimator_and_incomplete_frame_are_refused(wave):
    with pytest.raises(ValueError, match="estimator must be one of"):
        estimate(wave.ratings, "median_polish")
    with pytest.raises(ValueError, match="lacks columns"):
        estimate(wave.ratings.drop(columns="role"), "plain_means")


def test_aldrich_mckelvey_reports_experts_it_cannot_transform(wave):
    ratings = wave.ratings.copy()
    vignette_rows = ratings["subject"].isin(wave.vignettes)
    alike = vignette_rows & (ratings["respondent"] == "YER-003")
    ratings.loc[alike, ["value", "cannot_judge"]] = [5.0, False]
    ratings = ratings[~(vignette_rows & (ratings["respondent"] == "BIS-007"))]
    result = estimate(ratings, "aldrich_mckelvey", vignettes=wave.vignettes)
    reasons = {
        e["respondent"]: e["reason"] for e in result.attrs["details"]["unidentified_experts"]
    }
    assert reasons == {"YER-003": "all vignette ratings alike", "BIS-007": "no vignette ratings"}
    assert result.attrs["details"]["experts_transformed"] == 73


def test_aldrich_mckelvey_needs_vignettes(wave):
    with pytest.raises(ValueError, match="vignettes"):
        estimate(wave.ratings, "aldrich_mckelvey", vignettes=())


def test_c_scores_of_a_literal_wave():
    """Two experts, two vignettes (VA rated low, VB high), one substantive rating each."""
    rows = [
        # respondent, subject, value
        ("e1", "VA", 2.0),
        ("e1", "VB", 6.0),
        ("e1", "ARM", 4.0),  # between the vignettes: C = 3
        ("e2", "VA", 5.0),
        ("e2", "VB", 9.0),
        ("e2", "ARM", 9.0),  # on the upper vignette: C = 4
    ]
    ratings = pd.DataFrame(
        [("w", "YER", r, 0, s, s, "performance", "bridge", v, False, 3.0, 11) for r, s, v in rows],
        columns=engine.RATINGS_COLUMNS,
    )
    result = estimate(ratings, "vignette_cscores", vignettes=["VA", "VB"])
    assert list(result["panel"]) == ["ALL", "YER"]
    np.testing.assert_allclose(result["estimate"], [3.5, 3.5])
    assert result.attrs["details"]["vignette_order"] == {"bridge": ["VA", "VB"]}


def test_c_scores_track_the_truth_better_than_plain_means(wave):
    plain = estimate(wave.ratings, "plain_means", vignettes=wave.vignettes)
    scored = estimate(wave.ratings, "vignette_cscores", vignettes=wave.vignettes)
    keys = list(engine.CELL_KEYS)

    def correlation(result):
        cells = result.merge(wave.truth, on=keys).dropna(subset=["estimate"])
        return np.corrcoef(cells["estimate"], cells["truth"])[0, 1]

    unscored = scored[scored["estimate"].isna()]
    assert set(unscored["role"]) == {"role_11", "role_12"}  # no vignette rated on them
    assert correlation(scored) > correlation(plain)
