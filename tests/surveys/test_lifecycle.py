"""The wave lifecycle: open, close, copy, and the frozen instrument, with the user's errors."""

import pytest
from django.core.exceptions import ValidationError

from surveys import services
from surveys.models import Item, Wave
from surveys.texts.services import text_set


def test_opening_freezes_role_texts_as_fielded(draft_wave, roles):
    services.wave_open(wave=draft_wave)
    item = Item.objects.filter(block__wave=draft_wave, role=roles["protectee"]).first()
    assert item.fielded_texts["ru"]["name"] == "Опекаемый"
    text_set(owner=roles["protectee"], field="name", language="en", text="Client state")
    item.refresh_from_db()
    assert item.role_texts()["en"]["name"] == "Protectee"


def test_open_wave_instrument_cannot_change(open_wave, actors, roles, panels):
    with pytest.raises(services.InstrumentLockedError) as error:
        services.block_create(
            wave=open_wave,
            holder=actors["RUS"],
            subject=actors["RUS"],
            perspective="conception",
            roles=[roles["great_power"]],
            panels=[panels["MOW"]],
        )
    assert "cannot change" in error.value.messages[0]
    assert "Copy it into a new draft wave" in error.value.messages[0]


def test_open_wave_block_cannot_be_deleted(open_wave):
    with pytest.raises(services.InstrumentLockedError):
        services.block_delete(block=open_wave.blocks.first())


def test_closed_wave_instrument_cannot_change(open_wave):
    services.wave_close(wave=open_wave)
    with pytest.raises(services.InstrumentLockedError):
        services.block_delete(block=open_wave.blocks.first())


def test_only_a_draft_wave_opens(open_wave):
    with pytest.raises(services.WaveStateError, match="Only a draft wave can be opened"):
        services.wave_open(wave=open_wave)


def test_empty_wave_cannot_open(db):
    wave = Wave.objects.create(slug="empty", title="Empty")
    with pytest.raises(services.WaveStateError, match="without blocks"):
        services.wave_open(wave=wave)


def test_only_an_open_wave_closes(draft_wave):
    with pytest.raises(services.WaveStateError, match="Only an open wave can be closed"):
        services.wave_close(wave=draft_wave)


def test_close_sets_status_and_closing_time(open_wave):
    wave = services.wave_close(wave=open_wave)
    assert wave.status == Wave.Status.CLOSED
    assert wave.closes_at >= wave.opens_at


def test_closed_wave_takes_no_invitations(open_wave, panels):
    closed = services.wave_close(wave=open_wave)
    expert = services.expert_create(panel=panels["MOW"], name="A", email="a@example.org")
    with pytest.raises(services.WaveStateError, match="closed"):
        services.invitation_create(expert=expert, wave=closed)


def test_copy_makes_a_draft_with_the_same_items(open_wave):
    copy = services.wave_copy_instrument(source=open_wave, slug="next", title="Next round")
    assert copy.status == Wave.Status.DRAFT
    old = list(Item.objects.filter(block__wave=open_wave).values_list("code", flat=True))
    new = list(Item.objects.filter(block__wave=copy).values_list("code", flat=True))
    assert sorted(old) == sorted(new) and new
    assert not Item.objects.filter(block__wave=copy).exclude(fielded_texts={}).exists()
    assert [set(b.panels.all()) for b in copy.blocks.all()] == [
        set(b.panels.all()) for b in open_wave.blocks.all()
    ]


def test_copied_draft_is_editable(open_wave, actors, roles, panels):
    copy = services.wave_copy_instrument(source=open_wave, slug="next", title="Next round")
    services.block_create(
        wave=copy,
        holder=actors["RUS"],
        subject=actors["RUS"],
        perspective="conception",
        roles=[roles["great_power"]],
        panels=[panels["MOW"]],
    )
    assert copy.blocks.count() == open_wave.blocks.count() + 1


def test_copy_refuses_a_taken_slug(open_wave):
    with pytest.raises(ValidationError, match="already exists"):
        services.wave_copy_instrument(source=open_wave, slug=open_wave.slug, title="Again")


def test_block_needs_roles_and_panels(draft_wave, actors, roles, panels):
    with pytest.raises(ValidationError, match="at least one role"):
        services.block_create(
            wave=draft_wave,
            holder=actors["KAZ"],
            subject=actors["KAZ"],
            perspective="conception",
            roles=[],
            panels=[panels["MOW"]],
        )
    with pytest.raises(ValidationError, match="at least one panel"):
        services.block_create(
            wave=draft_wave,
            holder=actors["KAZ"],
            subject=actors["KAZ"],
            perspective="conception",
            roles=[roles["independent"]],
            panels=[],
        )


def test_item_codes_are_stable_views(draft_wave):
    codes = set(Item.objects.filter(block__wave=draft_wave).values_list("code", flat=True))
    assert "expectation.rus.arm.protectee" in codes
    assert "conception.arm.arm.independent" in codes
