"""The builder's pure core decides the test and computes it as the presets do."""

import pandas as pd
import pytest

from aggregation import engine
from aggregation.comparison_builder import (
    SideSelector,
    builder_compare,
    comparison_method,
    shared_sides,
)
from tests.aggregation.test_engine_presets import HOME, synthetic_ratings


def _side(selector: engine.Selector, wave: str = "w") -> SideSelector:
    return SideSelector(
        wave, selector.panel, selector.holder, selector.subject, selector.perspective
    )


@pytest.mark.parametrize("seed", [1, 2])
def test_builder_compare_of_every_preset_equals_the_preset_table_exactly(seed):
    ratings = synthetic_ratings(seed)
    cells = engine.cell_statistics(ratings)
    table = engine.all_preset_comparisons(ratings, HOME, cells=cells)
    assert {"welch", "paired", "overlapping"} <= set(table["method"])
    for (preset, subject), rows in table.groupby(["preset", "subject"]):
        left, right = (_side(side) for side in engine.PRESETS[preset](subject, HOME))
        pair = shared_sides(left, right)
        sums = None if pair is None else engine.paired_sums(ratings, *pair)
        result = builder_compare(left, right, left_cells=cells, right_cells=cells, paired_sums=sums)
        assert result.method == rows["method"].iloc[0]
        pd.testing.assert_frame_equal(
            result.roles.reset_index(drop=True),
            rows[engine.COMPARISON_ROLE_COLUMNS].reset_index(drop=True),
            check_dtype=False,
            check_exact=True,
        )
        assert result.dominant_left == rows["dominant_left"].iloc[0]
        assert result.profile_distance == rows["profile_distance"].iloc[0]


def test_pooled_against_one_panel_is_overlapping_and_shares_that_panel():
    left = _side(engine.Selector("YER", "ARM", "ARM", "conception"))
    right = _side(engine.Selector(None, "ARM", "ARM", "performance"))
    assert comparison_method(left, right) == "overlapping"
    assert shared_sides(left, right) == (
        engine.Selector("YER", "ARM", "ARM", "conception"),
        engine.Selector("YER", "ARM", "ARM", "performance"),
    )


def test_sides_in_different_waves_are_independent_even_on_one_panel():
    left = _side(engine.Selector("MOW", "RUS", "ARM", "expectation"), wave="2021")
    right = _side(engine.Selector("MOW", "RUS", "ARM", "expectation"), wave="2025")
    assert comparison_method(left, right) == "welch"
    assert shared_sides(left, right) is None
