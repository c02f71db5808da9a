"""Every integrity rule of the survey model holds in the database, with a readable error."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from surveys import services
from surveys.models import Block, Expert, Invitation, Item, Rating, Response, Scale, Wave


@pytest.fixture
def response(open_wave, panels) -> Response:
    return Response.objects.create(
        wave=open_wave, panel=panels["MOW"], pseudonym=services.pseudonym_new()
    )


@pytest.fixture
def item(open_wave) -> Item:
    return Item.objects.filter(block__wave=open_wave).first()


def assert_rejected(create):
    with pytest.raises(IntegrityError), transaction.atomic():
        create()


def test_one_rating_per_response_and_item(response, item):
    Rating.objects.create(response=response, item=item, value=5)
    assert_rejected(lambda: Rating.objects.create(response=response, item=item, value=6))


def test_rating_value_must_lie_inside_the_item_scale(response, item):
    assert_rejected(lambda: Rating.objects.create(response=response, item=item, value=11))
    assert_rejected(lambda: Rating.objects.create(response=response, item=item, value=-1))
    Rating.objects.create(response=response, item=item, value=10)


def test_rating_scale_bound_is_the_items_own_scale(response, open_wave):
    """A 1–5 scale rejects 6 although 6 is fine on the default 0–10 scale."""
    five = Scale.objects.create(name="1–5", min_value=1, max_value=5)
    block = open_wave.blocks.first()
    Block.objects.filter(pk=block.pk).update(scale=five)
    item = block.items.first()
    assert_rejected(lambda: Rating.objects.create(response=response, item=item, value=6))
    assert_rejected(lambda: Rating.objects.create(response=response, item=item, value=0))
    Rating.objects.create(response=response, item=item, value=5)


def test_update_cannot_move_a_value_outside_the_scale(response, item):
    rating = Rating.objects.create(response=response, item=item, value=3)
    assert_rejected(lambda: Rating.objects.filter(pk=rating.pk).update(value=42))


def test_rating_needs_a_value_or_cannot_judge_but_not_both(response, item):
    assert_rejected(
        lambda: Rating.objects.create(response=response, item=item, value=4, cannot_judge=True)
    )
    assert_rejected(lambda: Rating.objects.create(response=response, item=item))
    Rating.objects.create(response=response, item=item, cannot_judge=True)


def test_rating_both_value_and_cannot_judge_error_message(response, item):
    rating = Rating(response=response, item=item, value=4, cannot_judge=True)
    with pytest.raises(ValidationError) as error:
        rating.full_clean()
    assert "not both" in str(error.value)


def test_confidence_runs_from_1_to_5(response, item):
    assert_rejected(
        lambda: Rating.objects.create(response=response, item=item, value=4, confidence=6)
    )
    assert_rejected(
        lambda: Rating.objects.create(response=response, item=item, value=4, confidence=0)
    )
    Rating.objects.create(response=response, item=item, value=4, confidence=5)


def test_conception_block_needs_holder_equal_to_subject(draft_wave, actors, roles, panels):
    with pytest.raises(ValidationError) as error:
        services.block_create(
            wave=draft_wave,
            holder=actors["RUS"],
            subject=actors["KAZ"],
            perspective="conception",
            roles=[roles["independent"]],
            panels=[panels["MOW"]],
        )
    assert "holder = subject" in str(error.value)


def test_expectation_block_needs_holder_other_than_subject(draft_wave, actors, roles, panels):
    with pytest.raises(ValidationError) as error:
        services.block_create(
            wave=draft_wave,
            holder=actors["KAZ"],
            subject=actors["KAZ"],
            perspective="expectation",
            roles=[roles["independent"]],
            panels=[panels["MOW"]],
        )
    assert "holder ≠ subject" in str(error.value)


def test_perspective_rule_also_holds_in_the_database(draft_wave, actors):
    block = draft_wave.blocks.get(perspective="expectation")
    assert_rejected(lambda: Block.objects.filter(pk=block.pk).update(subject=actors["RUS"]))


def test_one_invitation_per_expert_and_wave(open_wave, panels):
    expert = services.expert_create(panel=panels["MOW"], name="A", email="a@example.org")
    services.invitation_create(expert=expert, wave=open_wave)
    with pytest.raises(ValidationError, match="already invited"):
        services.invitation_create(expert=expert, wave=open_wave)


def test_invitation_stores_only_a_hash_of_a_long_token(open_wave, panels):
    expert = services.expert_create(panel=panels["MOW"], name="A", email="a@example.org")
    invitation, token = services.invitation_create(expert=expert, wave=open_wave)
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    assert invitation.token_hash == services.token_hash(token)
    assert token not in str(Invitation.objects.filter(pk=invitation.pk).values().get())
    assert_rejected(lambda: Invitation.objects.filter(pk=invitation.pk).update(token_hash=token))


def test_wave_closes_after_it_opens(db):
    from datetime import UTC, datetime

    assert_rejected(
        lambda: Wave.objects.create(
            slug="bad",
            title="Bad",
            opens_at=datetime(2025, 5, 1, tzinfo=UTC),
            closes_at=datetime(2025, 4, 1, tzinfo=UTC),
        )
    )


def test_scale_needs_max_above_min(db):
    assert_rejected(lambda: Scale.objects.create(name="flat", min_value=5, max_value=5))


def test_submitted_response_has_a_submission_time(open_wave, panels):
    assert_rejected(
        lambda: Response.objects.create(
            wave=open_wave, panel=panels["MOW"], pseudonym="R-X", status="submitted"
        )
    )


def test_expert_str_never_shows_identity(panels):
    expert = Expert.objects.create(panel=panels["MOW"], name="Ivan Secret", email="iv@example.org")
    assert "Ivan" not in str(expert) and "iv@" not in str(expert)
