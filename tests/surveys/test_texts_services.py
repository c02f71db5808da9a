"""The instrument's texts: the wave that cannot open while one is missing, the statuses and
their reviewers, the texts a next wave takes over, and the data migration's other direction."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied, ValidationError

from surveys import services
from surveys.models import AuditEntry, InstrumentText, Item, Wave
from surveys.texts.selectors import wave_texts_by_language
from surveys.texts.services import text_set, texts_review, texts_set
from tests.factories import instrument_texts_fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def kazakh_wave(draft_wave) -> Wave:
    """The test wave fielded in English, Russian and Kazakh, every text given."""
    draft_wave.languages = "en,ru,kk"
    draft_wave.save(update_fields=["languages"])
    instrument_texts_fill(draft_wave)
    return draft_wave


def user_with(*codenames: str, username: str = "someone") -> User:
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return User.objects.get(pk=user.pk)  # permissions are cached per object


def test_a_wave_with_every_text_opens(kazakh_wave):
    assert services.wave_open(wave=kazakh_wave).status == Wave.Status.OPEN


def test_opening_is_refused_naming_each_missing_text(kazakh_wave, actors, roles):
    InstrumentText.objects.filter(actor=actors["ARM"], language="kk").delete()
    InstrumentText.objects.filter(
        role=roles["protectee"], field="definition", language="kk"
    ).delete()
    block = kazakh_wave.blocks.get(order=1)
    text_set(owner=block, field="prompt", language="en", text="Our own question about {subject}.")

    with pytest.raises(services.WaveStateError) as refusal:
        services.wave_open(wave=kazakh_wave)

    message = refusal.value.messages[0]
    assert "cannot open" in message and "4 texts" in message
    assert "Russian (ru): block.1.prompt" in message, "the own prompt is needed in Russian"
    kazakh = message[message.index("Kazakh (kk)") :]
    for key in ("block.1.prompt", "actor.ARM.name", "role.protectee.definition"):
        assert key in kazakh
    assert "role.protectee.name" not in message
    assert Wave.objects.get(pk=kazakh_wave.pk).status == Wave.Status.DRAFT
    assert not Item.objects.filter(block__wave=kazakh_wave).exclude(fielded_texts={}).exists()


def test_a_wave_without_a_title_in_russian_cannot_open(draft_wave):
    InstrumentText.objects.filter(wave=draft_wave, language="ru").delete()
    with pytest.raises(services.WaveStateError, match=r"Russian \(ru\): wave\.title"):
        services.wave_open(wave=draft_wave)


def test_opening_freezes_the_role_texts_of_every_language(kazakh_wave, roles):
    services.wave_open(wave=kazakh_wave)
    item = Item.objects.filter(block__wave=kazakh_wave, role=roles["protectee"]).first()
    assert item.fielded_texts["kk"]["name"] == "Қорғалушы"
    assert set(item.fielded_texts) == {"en", "ru", "kk"}


def test_a_new_text_is_a_draft_and_a_changed_text_a_draft_again(roles):
    reviewer = user_with("review_instrumenttext")
    role = roles["bridge"]
    text = text_set(owner=role, field="name", language="kk", text="  Көпір \r\n")
    assert (text.text, text.status) == ("Көпір", InstrumentText.Status.DRAFT)
    texts_review(texts=[text], user=reviewer)
    text.refresh_from_db()
    assert text.status == InstrumentText.Status.REVIEWED
    assert text.reviewed_by == reviewer and text.reviewed_at is not None

    unchanged = text_set(owner=role, field="name", language="kk", text="Көпір")
    assert unchanged.status == InstrumentText.Status.REVIEWED, "the same text stays reviewed"
    changed = text_set(owner=role, field="name", language="kk", text="Көпір-мемлекет")
    assert changed.status == InstrumentText.Status.DRAFT
    assert changed.reviewed_by is None and changed.reviewed_at is None


def test_an_empty_text_removes_the_text(roles):
    text_set(owner=roles["bridge"], field="name", language="kk", text="Көпір")
    assert text_set(owner=roles["bridge"], field="name", language="kk", text="  ") is None
    assert not InstrumentText.objects.filter(role=roles["bridge"], language="kk").exists()


def test_a_field_the_owner_lacks_is_refused(roles):
    with pytest.raises(ValidationError, match="has no text"):
        text_set(owner=roles["bridge"], field="city", language="en", text="Bridge town")


def test_reviewing_needs_the_permission_and_is_audited(kazakh_wave):
    drafts = list(InstrumentText.objects.filter(language="kk", status="draft")[:3])
    with pytest.raises(PermissionDenied):
        texts_review(texts=drafts, user=user_with("view_instrumenttext", username="viewer"))
    reviewer = user_with("review_instrumenttext")
    assert texts_review(texts=drafts, user=reviewer, wave=kazakh_wave) == 3
    entry = AuditEntry.objects.get(action="texts.review")
    assert entry.user == reviewer and entry.detail["count"] == 3
    assert sorted(entry.detail["texts"]) == sorted(text.pk for text in drafts)
    assert texts_review(texts=drafts, user=reviewer) == 0, "reviewed texts stay as they were"


def test_completeness_per_language_counts_missing_draft_and_reviewed(kazakh_wave, actors):
    InstrumentText.objects.filter(actor=actors["RUS"], language="kk").delete()
    languages = {texts.language: texts for texts in wave_texts_by_language(wave=kazakh_wave)}
    assert list(languages) == ["en", "ru", "kk"]
    kazakh = languages["kk"]
    assert [slot.key for slot in kazakh.missing] == ["actor.RUS.name"]
    assert kazakh.present == kazakh.total - 1 and not kazakh.complete
    assert len(kazakh.drafts) == kazakh.present, "the filled texts are drafts"
    english = languages["en"]
    assert english.complete and english.reviewed > 0, "the reference texts are reviewed"


def test_the_next_wave_takes_the_languages_landing_and_block_texts_not_the_title(kazakh_wave):
    texts_set(owner=kazakh_wave, texts={"landing": {"en": "Welcome.", "ru": "Добро пожаловать."}})
    block = kazakh_wave.blocks.get(order=2)
    text_set(owner=block, field="title", language="en", text="Armenia on {subject}")
    instrument_texts_fill(kazakh_wave)
    services.wave_open(wave=kazakh_wave)

    copy = services.wave_copy_instrument(source=kazakh_wave, slug="next", title="Next round")

    assert copy.languages == "en,ru,kk"
    assert copy.text_map("landing") == kazakh_wave.text_map("landing")
    assert copy.text_map("landing")["ru"] == "Добро пожаловать."
    assert copy.blocks.get(order=2).text_map("title")["en"] == "Armenia on {subject}"
    assert copy.text_map("title") == {}
    with pytest.raises(services.WaveStateError, match=r"wave\.title"):
        services.wave_open(wave=copy)


def test_wave_languages_must_start_with_english_and_russian(db):
    wave = Wave(slug="w", title="W", languages="ru,kk")
    with pytest.raises(ValidationError, match="English, Russian"):
        wave.full_clean()
    Wave(slug="w2", title="W", languages="en,ru,hy,tg").full_clean()
