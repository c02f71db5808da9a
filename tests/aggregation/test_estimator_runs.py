"""Every estimator's result set stored with the run: cells, comparisons, diagnostics."""

from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from django.test import override_settings

from aggregation import engine, stats
from aggregation.estimator_runs import NO_VIGNETTES
from aggregation.estimators import ESTIMATOR_VERSIONS
from aggregation.estimators.scaling import aldrich_mckelvey_ratings
from aggregation.loaders import ratings_frame
from aggregation.models import AggregationRun, CellResult, ComparisonResult, EstimatorResult
from aggregation.services import aggregation_run_wave
from surveys.vignette_selectors import vignette_subject_codes

pytestmark = pytest.mark.django_db
CORRECTED = ("aldrich_mckelvey", "ordinal_irt", "vignette_cscores")


def test_vignette_selector_finds_the_vignette_subjects(vignette_wave):
    assert vignette_subject_codes(wave_id=vignette_wave.pk) == ["VGA", "VGB", "VGC"]


def test_run_stores_a_result_set_per_estimator_tagged_with_version(vignette_wave):
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    sets = {result.estimator: result for result in EstimatorResult.objects.filter(run=run)}
    assert set(sets) == {"plain_means", *CORRECTED}
    assert all(result.status == "complete" for result in sets.values()), [
        result.note for result in sets.values()
    ]
    for name in CORRECTED:
        cells = CellResult.objects.filter(run=run, estimator=name)
        assert cells.exists()
        assert set(cells.values_list("estimator_version", flat=True)) == {ESTIMATOR_VERSIONS[name]}
        assert not cells.filter(subject__code__in=["VGA", "VGB", "VGC"]).exists()
        cell = cells.filter(mean__isnull=False).first()
        assert cell.ci_low <= cell.mean <= cell.ci_high
    plain = CellResult.objects.filter(run=run, estimator="plain_means")
    assert set(plain.values_list("estimator_version", flat=True)) == {engine.ESTIMATOR_VERSION}
    assert sets["ordinal_irt"].mode == "fast"
    assert sets["ordinal_irt"].converged is True
    assert "unidentified_experts" in sets["aldrich_mckelvey"].diagnostics


def test_corrected_comparisons_cover_the_presets(vignette_wave):
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    for name in CORRECTED:
        rows = ComparisonResult.objects.filter(
            run=run, estimator=name, preset="ascribed_vs_conceived", subject__code="ARM"
        )
        assert rows.count() == 3, name
    irt = ComparisonResult.objects.filter(run=run, estimator="ordinal_irt")
    assert set(irt.values_list("method", flat=True)) == {"laplace"}
    for row in irt.exclude(diff__isnull=True):
        assert 0.5 <= row.prob_sign <= 1
        assert row.diff_ci_low <= row.diff <= row.diff_ci_high
        assert row.p_value is None
    plain = ComparisonResult.objects.filter(run=run, estimator="plain_means")
    assert plain.exists() and not plain.filter(prob_sign__isnull=False).exists()


def test_aldrich_mckelvey_comparison_is_welch_on_transformed_ratings(vignette_wave):
    """Ascribed (Moscow) vs conceived (Yerevan): two panels, so Welch's test on the experts'
    transformed ratings, recomputed here from the transformed values."""
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    ratings = ratings_frame(wave_id=vignette_wave.pk, wave_slug=vignette_wave.slug)
    rated = aldrich_mckelvey_ratings(ratings, ["VGA", "VGB", "VGC"]).cells
    left = rated[
        (rated["panel"] == "MOW")
        & (rated["perspective"] == "expectation")
        & (rated["role"] == "protectee")
    ]["corrected"]
    right = rated[
        (rated["panel"] == "YER")
        & (rated["perspective"] == "conception")
        & (rated["role"] == "protectee")
    ]["corrected"]
    expected = stats.welch_difference(left.to_numpy(), right.to_numpy())
    row = ComparisonResult.objects.get(
        run=run,
        estimator="aldrich_mckelvey",
        preset="ascribed_vs_conceived",
        subject__code="ARM",
        role__code="protectee",
    )
    assert row.method == "welch"
    assert row.diff == pytest.approx(left.mean() - right.mean())
    assert row.diff == pytest.approx(expected.diff)
    assert row.p_value == pytest.approx(expected.p_value)


def test_wave_without_vignettes_records_not_applicable(rated_wave, settings):
    settings.AGGREGATION_CORRECTED_ESTIMATORS = CORRECTED
    run = aggregation_run_wave(wave_id=rated_wave.pk)
    sets = {result.estimator: result for result in EstimatorResult.objects.filter(run=run)}
    assert sets["plain_means"].status == "complete"
    for name in CORRECTED:
        assert sets[name].status == "not_applicable"
        assert sets[name].note == NO_VIGNETTES
    assert not CellResult.objects.filter(run=run).exclude(estimator="plain_means").exists()


def test_a_failing_estimator_is_recorded_and_the_run_completes(vignette_wave, mocker):
    mocker.patch(
        "aggregation.estimator_runs.irt_fast_outcome", side_effect=RuntimeError("no memory")
    )
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    assert run.status == AggregationRun.Status.COMPLETE
    failed = EstimatorResult.objects.get(run=run, estimator="ordinal_irt")
    assert failed.status == "failed" and "no memory" in failed.note
    assert EstimatorResult.objects.get(run=run, estimator="aldrich_mckelvey").status == "complete"


@override_settings(AGGREGATION_CORRECTED_ESTIMATORS=("aldrich_mckelvey",))
def test_setting_limits_the_corrected_estimators(vignette_wave):
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    assert set(EstimatorResult.objects.filter(run=run).values_list("estimator", flat=True)) == {
        "plain_means",
        "aldrich_mckelvey",
    }


def test_irt_probability_of_sign_matches_the_normal_approximation(vignette_wave):
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    row = ComparisonResult.objects.filter(run=run, estimator="ordinal_irt").exclude(
        diff__isnull=True
    )[0]
    from scipy.stats import norm

    assert row.prob_sign == pytest.approx(norm.cdf(abs(row.diff) / row.se_diff))
    assert row.diff_ci_high - row.diff_ci_low == pytest.approx(2 * 1.959964 * row.se_diff)
    assert np.isfinite(row.mean_left) and np.isfinite(row.mean_right)


def test_demo_then_aggregate_stores_every_estimator_for_the_demo(settings):
    """The issue's own check: ``seed_demo`` then ``aggregate --sync`` stores a complete result
    set per estimator for the demo's 2025 wave (which has a vignette block), the IRT's fast
    fit converged, and corrected comparisons for Armenia beside the plain ones."""
    settings.AGGREGATION_CORRECTED_ESTIMATORS = CORRECTED
    call_command("seed_demo", stdout=StringIO())
    call_command("aggregate", "2025", "--sync", stdout=StringIO())
    run = AggregationRun.objects.filter(wave__slug="2025", status="complete").latest("finished_at")
    results = {result.estimator: result for result in EstimatorResult.objects.filter(run=run)}
    assert set(results) >= set(CORRECTED)
    assert all(results[name].status == "complete" for name in CORRECTED), {
        name: (results[name].status, results[name].note) for name in CORRECTED
    }
    assert results["ordinal_irt"].converged is True
    armenia = ComparisonResult.objects.filter(
        run=run, preset="ascribed_vs_conceived", subject__code="ARM", saved_version__isnull=True
    )
    assert set(armenia.values_list("estimator", flat=True)) >= {"plain_means", *CORRECTED}


def _first_substantive_rating(wave):
    from surveys.models import Rating

    return (
        Rating.objects.filter(response__wave=wave, item__block__subject__kind="state")
        .order_by("pk")
        .first()
    )


def test_corrected_cells_count_cannot_judge_as_the_plain_means_do(vignette_wave):
    rating = _first_substantive_rating(vignette_wave)
    type(rating).objects.filter(pk=rating.pk).update(value=None, cannot_judge=True)
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    keys = ("panel__code", "holder__code", "subject__code", "perspective", "role__code")
    plain = {
        row[:-1]: row[-1]
        for row in CellResult.objects.filter(run=run, estimator="plain_means").values_list(
            *keys, "n_cannot_judge"
        )
    }
    assert sum(plain.values()) == 2  # the panel's cell and the pooled cell
    for name in CORRECTED:
        corrected = CellResult.objects.filter(run=run, estimator=name).values_list(
            *keys, "n_cannot_judge"
        )
        for row in corrected:
            assert row[-1] == plain[row[:-1]], (name, row)
        assert sum(row[-1] for row in corrected) == 2, name


def test_reliability_stored_per_corrected_estimator_that_has_values(vignette_wave):
    from aggregation.models import ReliabilityResult

    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    by_estimator = {
        name: ReliabilityResult.objects.filter(run=run, estimator=name)
        for name in ("plain_means", *CORRECTED)
    }
    substantive_blocks = set(
        by_estimator["plain_means"]
        .exclude(block__subject__kind="vignette")
        .values_list("panel_id", "block_id")
    )
    for name in ("aldrich_mckelvey", "vignette_cscores"):
        rows = by_estimator[name]
        assert set(rows.values_list("panel_id", "block_id")) == substantive_blocks, name
        assert set(rows.values_list("estimator_version", flat=True)) == {ESTIMATOR_VERSIONS[name]}
        assert rows.filter(alpha_interval__isnull=False).exists(), name
    assert not by_estimator["ordinal_irt"].exists()  # its reliabilities are model parameters


def test_corrected_estimators_refuse_ratings_the_run_did_not_count(vignette_wave, monkeypatch):
    """A rating changes after the run read its plain input and while the corrected estimators
    load theirs: they are recorded failed with the reason, never computed on other ratings,
    and the plain means of the run stand."""
    from aggregation import estimator_services

    load = estimator_services.ratings_frame
    rating = _first_substantive_rating(vignette_wave)

    def load_while_a_rating_changes(**kwargs):
        type(rating).objects.filter(pk=rating.pk).update(value=(rating.value + 1) % 11)
        return load(**kwargs)

    monkeypatch.setattr(estimator_services, "ratings_frame", load_while_a_rating_changes)
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    assert run.status == AggregationRun.Status.COMPLETE
    results = {r.estimator: r for r in EstimatorResult.objects.filter(run=run)}
    assert results["plain_means"].status == "complete"
    for name in CORRECTED:
        assert results[name].status == "failed"
        assert "ratings changed" in results[name].note
        assert not CellResult.objects.filter(run=run, estimator=name).exists()


def test_corrected_estimators_read_only_the_runs_responses(vignette_wave, monkeypatch):
    from aggregation import estimator_services

    seen = []
    load = estimator_services.ratings_frame

    def recording(**kwargs):
        seen.append(kwargs.get("response_ids"))
        return load(**kwargs)

    monkeypatch.setattr(estimator_services, "ratings_frame", recording)
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    assert seen == [frozenset(run.input_responses)]
