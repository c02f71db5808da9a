"""The loader gives the engine one row per submitted rating, with the codes attached."""

import pytest

from aggregation.engine import RATINGS_COLUMNS
from aggregation.loaders import ratings_frame
from surveys.models import Rating, Response

pytestmark = pytest.mark.django_db


def test_frame_has_the_engine_columns_and_every_submitted_rating(rated_wave):
    frame = ratings_frame(wave_id=rated_wave.pk, wave_slug=rated_wave.slug)
    assert list(frame.columns) == RATINGS_COLUMNS
    assert len(frame) == Rating.objects.filter(response__status="submitted").count() > 0
    assert set(frame["panel"]) == {"MOW", "YER"}
    assert set(frame["perspective"]) == {"expectation", "conception", "performance"}
    assert (frame["scale_points"] == 11).all()


def test_drafts_are_left_out(rated_wave):
    response = Response.objects.filter(wave=rated_wave).first()
    Response.objects.filter(pk=response.pk).update(status="draft", submitted_at=None)
    frame = ratings_frame(wave_id=rated_wave.pk, wave_slug=rated_wave.slug)
    assert response.pseudonym not in set(frame["respondent"])


def test_item_filter_loads_only_those_items(rated_wave):
    item_ids = list(
        rated_wave.blocks.get(perspective="conception").items.values_list("id", flat=True)
    )
    frame = ratings_frame(wave_id=rated_wave.pk, wave_slug=rated_wave.slug, item_ids=item_ids)
    assert set(frame["perspective"]) == {"conception"}


@pytest.mark.django_db(transaction=True)
def test_committed_ratings_load_outside_a_transaction(rated_wave):
    """Rows committed by another transaction are read (the loader's own cursor)."""
    frame = ratings_frame(wave_id=rated_wave.pk, wave_slug=rated_wave.slug)
    assert len(frame) == Rating.objects.count() > 0
