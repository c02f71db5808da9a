"""The database's GROUP BYs give the engine what the ratings row by row would give it.

The service aggregates from value counts and paired sums that the database computes; the
pure engine computes the same from a ratings frame. On the demo data (every preset present,
cannot-judge and missing confidences included) both ways must agree.
"""

from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command

from aggregation import engine, services
from aggregation.loaders import counts_load, ratings_frame
from aggregation.models import ComparisonResult
from surveys.models import Rating, Response, Wave

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_wave():
    call_command("seed_demo", stdout=StringIO())
    return Wave.objects.get(slug="2025")


def sorted_counts(counts: pd.DataFrame) -> pd.DataFrame:
    frame = counts.astype({key: str for key in engine.COUNT_KEYS if key != "block"})
    frame = frame.assign(value=frame["value"].fillna(-1))
    return frame.sort_values([*engine.COUNT_KEYS, "value"], ignore_index=True)


def test_counts_from_the_database_equal_the_counts_of_the_ratings(demo_wave):
    ratings = ratings_frame(wave_id=demo_wave.pk, wave_slug=demo_wave.slug)
    loaded = counts_load(wave_id=demo_wave.pk, wave_slug=demo_wave.slug)
    expected = sorted_counts(engine.value_counts(ratings))
    actual = sorted_counts(loaded.counts)
    assert (
        loaded.n_ratings
        == len(ratings)
        == Rating.objects.filter(
            response__wave=demo_wave, response__status=Response.Status.SUBMITTED
        ).count()
    )
    assert (expected["value"] == -1).any()  # cannot-judge ratings are in the demo
    pd.testing.assert_frame_equal(actual, expected, check_dtype=False)


def test_paired_sums_from_the_database_equal_those_of_the_ratings(demo_wave):
    ratings = ratings_frame(wave_id=demo_wave.pk, wave_slug=demo_wave.slug)
    homes = services.home_panels()
    loaded = services.paired_sums(wave=demo_wave, homes=homes)
    pairs = engine.paired_presets(homes)
    assert pairs and set(loaded) == set(pairs)
    for left, right in pairs:
        expected = engine.paired_sums(ratings, left, right).sort_values("role")
        actual = loaded[(left, right)].sort_values("role")
        assert len(expected) > 0
        pd.testing.assert_frame_equal(
            actual.reset_index(drop=True), expected.reset_index(drop=True), check_dtype=False
        )


def test_stored_comparisons_equal_the_engine_on_the_ratings(demo_wave):
    run = services.aggregation_run_wave(wave_id=demo_wave.pk)
    ratings = ratings_frame(wave_id=demo_wave.pk, wave_slug=demo_wave.slug)
    expected = engine.all_preset_comparisons(ratings, services.home_panels())
    stored = pd.DataFrame(
        list(
            ComparisonResult.objects.filter(
                run=run, saved_version__isnull=True, estimator="plain_means"
            ).values_list(
                "preset", "subject__code", "role__code", "method", "n_left", "diff", "p_adjusted"
            )
        ),
        columns=["preset", "subject", "role", "method", "n_left", "diff", "p_adjusted"],
    )
    assert set(stored["method"]) == {"paired", "welch", "overlapping"}
    keys = ["preset", "subject", "role"]
    merged = stored.merge(expected, on=keys, suffixes=("", "_engine"), validate="one_to_one")
    assert len(merged) == len(stored) == len(expected)
    assert (merged["method"] == merged["method_engine"]).all()
    assert (merged["n_left"] == merged["n_left_engine"]).all()
    np.testing.assert_allclose(merged["diff"], merged["diff_engine"], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(
        merged["p_adjusted"].astype(float), merged["p_adjusted_engine"].astype(float), rtol=1e-6
    )


def test_fingerprint_follows_every_change_that_matters(demo_wave):
    homes = services.home_panels()

    def fingerprint() -> str:
        return services.WaveInputs.load(wave=demo_wave, homes=homes).fingerprint

    before = fingerprint()
    assert fingerprint() == before  # the same ratings, whatever order the database uses
    rating = Rating.objects.filter(
        response__wave=demo_wave, response__status="submitted", value__lt=10
    ).first()
    Rating.objects.filter(pk=rating.pk).update(value=rating.value + 1)
    changed_value = fingerprint()
    assert changed_value != before
    Rating.objects.filter(pk=rating.pk).update(confidence=None if rating.confidence else 2)
    changed_confidence = fingerprint()
    assert changed_confidence != changed_value

    # Two Moscow experts swap their ratings of one item of Russia's conception: every count
    # stays the same, the paired comparison with their expectations of Russia does not.
    counts_before = counts_load(wave_id=demo_wave.pk, wave_slug=demo_wave.slug).fingerprint
    conception = Rating.objects.filter(
        response__wave=demo_wave,
        response__status="submitted",
        response__panel__code="MOW",
        item__block__perspective="conception",
        item__block__subject__code="RUS",
        value__isnull=False,
    )
    ratings = list(conception.filter(item=conception.first().item))
    one = ratings[0]
    other = next(rating for rating in ratings if rating.value != one.value)
    Rating.objects.filter(pk=one.pk).update(value=other.value, confidence=other.confidence)
    Rating.objects.filter(pk=other.pk).update(value=one.value, confidence=one.confidence)
    assert counts_load(wave_id=demo_wave.pk, wave_slug=demo_wave.slug).fingerprint == counts_before
    assert fingerprint() != changed_confidence
