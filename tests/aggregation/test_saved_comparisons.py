"""Saved and ad hoc comparisons: the presets' statistics for any two selectors."""

import pytest

from aggregation import engine
from aggregation.comparison_builder import SideSelector, gap_change
from aggregation.models import ComparisonResult, SavedComparison, SavedComparisonVersion
from aggregation.saved_comparisons import (
    comparison_adhoc,
    saved_comparison_create,
    saved_comparison_revise,
)
from aggregation.services import aggregation_run_wave

pytestmark = pytest.mark.django_db

NUMBERS = [name for name in engine.COMPARISON_ROLE_COLUMNS if name not in {"role", "method"}] + [
    "dominant_left",
    "dominant_right",
    "profile_distance",
    "method",
]


def _definition(left: engine.Selector, right: engine.Selector) -> dict[str, str]:
    return {
        **{f"left_{k}": v for k, v in engine.selector_columns("left", left).items()},
        **{f"right_{k}": v for k, v in engine.selector_columns("right", right).items()},
        "left_estimator": "plain_means",
        "right_estimator": "plain_means",
    }


def _sides(left: engine.Selector, right: engine.Selector) -> dict[str, str]:
    columns = {**engine.selector_columns("left", left), **engine.selector_columns("right", right)}
    return {**columns, "left_estimator": "plain_means", "right_estimator": "plain_means"}


@pytest.mark.parametrize("preset", ["ascribed_vs_conceived", "conception_vs_performance"])
def test_saved_comparison_equal_to_a_preset_gets_the_presets_numbers_exactly(rated_wave, preset):
    left, right = engine.PRESETS[preset]("ARM", {"RUS": "MOW", "ARM": "YER"})
    saved_comparison_create(slug="mine", name="Mine", definition=_sides(left, right))
    run = aggregation_run_wave(wave_id=rated_wave.pk)
    fields = ["role__code", *NUMBERS]
    presets = list(
        ComparisonResult.objects.filter(run=run, preset=preset, subject__code="ARM")
        .order_by("role__code")
        .values_list(*fields)
    )
    saved = list(
        ComparisonResult.objects.filter(run=run, saved_version__saved_comparison__slug="mine")
        .order_by("role__code")
        .values_list(*fields)
    )
    assert presets and saved == presets


def test_paired_preset_selectors_are_paired_in_the_builder_too(rated_wave):
    left = engine.Selector("MOW", "RUS", "ARM", "expectation")
    right = engine.Selector("MOW", "ARM", "ARM", "performance")
    saved_comparison_create(slug="ascribed-enacted", name="x", definition=_sides(left, right))
    run = aggregation_run_wave(wave_id=rated_wave.pk)
    methods = set(
        ComparisonResult.objects.filter(run=run, preset="ascribed-enacted").values_list(
            "method", flat=True
        )
    )
    assert methods == {"paired"}


def test_revising_a_saved_comparison_adds_a_version_and_old_results_keep_theirs(rated_wave):
    left, right = engine.PRESETS["ascribed_vs_conceived"]("ARM", {"RUS": "MOW", "ARM": "YER"})
    saved = saved_comparison_create(slug="mine", name="Mine", definition=_sides(left, right))
    first_run = aggregation_run_wave(wave_id=rated_wave.pk)
    pooled = engine.Selector(None, "ARM", "ARM", "performance")
    version = saved_comparison_revise(saved=saved, definition=_sides(left, pooled))
    unchanged = saved_comparison_revise(saved=saved, definition=_sides(left, pooled))
    second_run = aggregation_run_wave(wave_id=rated_wave.pk, force=True)
    assert version.number == 2 and unchanged == version
    old = ComparisonResult.objects.filter(run=first_run, preset="mine")
    new = ComparisonResult.objects.filter(run=second_run, preset="mine")
    assert set(old.values_list("saved_version__number", flat=True)) == {1}
    assert set(old.values_list("right_perspective", flat=True)) == {"conception"}
    assert set(new.values_list("saved_version__number", flat=True)) == {2}
    assert set(new.values_list("right_perspective", flat=True)) == {"performance"}
    assert SavedComparisonVersion.objects.filter(saved_comparison=saved).count() == 2


def test_adhoc_comparison_of_two_moscow_sides_is_paired_with_per_role_statistics(rated_wave):
    aggregation_run_wave(wave_id=rated_wave.pk)
    left = SideSelector(
        wave="test-wave", panel="MOW", holder="RUS", subject="ARM", perspective="expectation"
    )
    right = SideSelector(
        wave="test-wave", panel="MOW", holder="ARM", subject="ARM", perspective="performance"
    )
    result = comparison_adhoc(left=left, right=right)
    protectee = result.roles.set_index("role").loc["protectee"]
    assert result.method == "paired"
    assert protectee["n_left"] == 5 and protectee["mean_right"] == pytest.approx(5.0, abs=1)


def test_an_estimator_that_does_not_exist_is_refused():
    with pytest.raises(ValueError, match="plain_means"):
        SideSelector(
            wave="w",
            panel=None,
            holder="RUS",
            subject="RUS",
            perspective="conception",
            estimator="irt",
        )


def test_gap_change_is_the_difference_of_differences_with_a_satterthwaite_interval():
    # se = √(0.3² + 0.4²) = 0.5; df = 0.5⁴ / (0.3⁴/10 + 0.4⁴/20) = 0.0625 / 0.00209 = 29.904;
    # t_{0.975, 29.904} = 2.0424 (two-sided 95 %): half-width 1.0212.
    change, low, high = gap_change(3.0, 0.3, 10, 1.0, 0.4, 20)
    assert change == 2.0
    assert low == pytest.approx(2.0 - 1.0212, abs=1e-3)
    assert high == pytest.approx(2.0 + 1.0212, abs=1e-3)


def test_shipped_research_questions_exist_after_migrate():
    assert SavedComparison.objects.filter(question="ascribed").count() == 8
    assert SavedComparison.objects.filter(question="inter_role").count() == 8


def test_saving_a_comparison_makes_the_next_run_of_unchanged_ratings_compute_it(rated_wave):
    first = aggregation_run_wave(wave_id=rated_wave.pk)
    left, right = engine.PRESETS["ascribed_vs_conceived"]("ARM", {"RUS": "MOW", "ARM": "YER"})
    saved_comparison_create(slug="later", name="Later", definition=_sides(left, right))
    second = aggregation_run_wave(wave_id=rated_wave.pk)
    again = aggregation_run_wave(wave_id=rated_wave.pk)
    assert second.pk != first.pk and again.pk == second.pk
    assert ComparisonResult.objects.filter(run=second, preset="later").exists()
