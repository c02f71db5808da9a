"""Languages: every page in each of the six; a string not yet translated falls back to Russian,
then English (Kazakh, Armenian, Kyrgyz, Tajik), or to English (Russian).

The catalogs are compiled by ``bin/setup`` (``compilemessages``); these tests read the
compiled ``.mo`` files like the running site does. That the catalogs are complete is
``tests/test_translations.py``.
"""

import html
import re
from pathlib import Path
from unittest import mock

import pytest
from django.conf import settings
from django.db.models import Q
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, trans_real

from surveys import selectors
from surveys.middleware import language_override, translation_fallbacks_install
from surveys.models import InstrumentText, Invitation, Item
from surveys.texts.selectors import LocalText
from surveys.texts.services import text_set
from surveys.wording import TEXT_SLOT, sentence_fill
from tests.factories import survey_open
from tests.test_translations import PLACEHOLDER, messages

pytestmark = pytest.mark.django_db

LOCALE = Path(settings.LOCALE_PATHS[0])
OTHER_LANGUAGES = {
    "kk": {"Next": "Келесі", "Back": "Артқа", "Cannot judge": "Бағалай алмаймын"},
    "hy": {"Next": "Հաջորդը", "Back": "Հետ", "Cannot judge": "Չեմ կարող գնահատել"},
    "ky": {"Next": "Кийинки", "Back": "Артка", "Cannot judge": "Баа бере албайм"},
    "tg": {"Next": "Навбатӣ", "Back": "Бозгашт", "Cannot judge": "Баҳо дода наметавонам"},
}
RUSSIAN_ONLY = "A text only the Russian catalog has"


@pytest.fixture(autouse=True)
def compiled_catalogs():
    missing = [
        code
        for code in ("ru", *OTHER_LANGUAGES)
        if not (LOCALE / code / "LC_MESSAGES" / "django.mo").exists()
    ]
    if missing:
        pytest.fail(
            f"Compiled catalogs missing for {missing}: run bin/setup "
            "(manage.py compilemessages --ignore=.venv)."
        )


def html_of(client, url: str) -> str:
    page = client.get(url)
    assert page.status_code == 200, url
    return page.content.decode()


def consented(client, language: str):
    survey = survey_open(language=language)
    client.post(survey.url, {"consent": "on"})
    return survey


def block_url(survey, index: int = 0) -> str:
    return reverse("surveys:block", args=[survey.token, survey.blocks[index].order])


@pytest.fixture
def russian_only(settings) -> str:
    """A message in the Russian catalog and no other: what a string added to the code looks
    like until it is translated. Django's catalogs are loaded afresh before and after."""
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS]
    trans_real.translation("ru")._catalog[RUSSIAN_ONLY] = "Текст только в русском каталоге"
    return RUSSIAN_ONLY


# Catalogs ----------------------------------------------------------------------------------


@pytest.mark.parametrize("language", ["ru", *sorted(OTHER_LANGUAGES)])
def test_catalog_is_compiled_from_the_current_source(language):
    folder = LOCALE / language / "LC_MESSAGES"
    assert (folder / "django.mo").stat().st_mtime >= (folder / "django.po").stat().st_mtime, (
        "django.mo is older than django.po: run compilemessages"
    )


@pytest.mark.parametrize("language", sorted(OTHER_LANGUAGES))
def test_other_languages_are_translated_and_fall_back_to_russian_then_english(
    language, russian_only
):
    with language_override(language) as active:
        assert active == language
        for english, translated in OTHER_LANGUAGES[language].items():
            assert gettext(english) == translated
        assert gettext(russian_only) == "Текст только в русском каталоге", "then Russian"
        assert gettext("A text in no catalog") == "A text in no catalog", "then English"
    with language_override("en"):
        assert gettext(russian_only) == russian_only, "English never falls back"


def test_russian_itself_falls_back_to_english_only():
    with language_override("ru"):
        assert gettext("Next") == "Далее"
        assert gettext("A text in no catalog") == "A text in no catalog"


def test_kazakh_change_is_spelt_right_in_the_admin_too():
    """Django's own Kazakh admin catalog has "Өзгетру"; ours, loaded after it, wins."""
    with language_override("kk"):
        assert gettext("Change") == "Өзгерту"


def test_fallback_chain_is_set_up_again_after_the_catalog_cache_is_reset(settings):
    translation_fallbacks_install("kk")
    settings.LOCALE_PATHS = [*settings.LOCALE_PATHS]  # Django drops its cached catalogs
    trans_real.translation("ru")._catalog[RUSSIAN_ONLY] = "Текст только в русском каталоге"
    with language_override("kk"):
        assert gettext(RUSSIAN_ONLY) == "Текст только в русском каталоге"


def test_unsupported_language_means_russian():
    with language_override("de") as active:
        assert active == "ru"
        assert gettext("Next") == "Далее"


def test_middleware_gives_every_page_the_chain(client, russian_only):
    from surveys.middleware import LanguageFallbackMiddleware

    seen = []

    def view(request):
        seen.append(gettext(russian_only))
        return None

    with translation.override("tg"):
        LanguageFallbackMiddleware(view)(None)
    assert seen == ["Текст только в русском каталоге"]


# Pages -------------------------------------------------------------------------------------


def test_english_pages_are_in_english(client):
    survey = consented(client, "en")
    html = html_of(client, block_url(survey))
    assert '<html lang="en"' in html
    assert "How strongly does Russia expect that Armenia will play each of these roles?" in html
    assert ">Next<" in html and "Cannot judge" in html
    outside_switcher = re.sub(r"<select.*?</select>", "", html, flags=re.S)
    assert not re.search(r"[А-Яа-яЁё]", outside_switcher), "no Russian on an English page"


def test_russian_pages_are_in_russian_with_actor_names_in_the_nominative(client):
    survey = consented(client, "ru")
    html = html_of(client, block_url(survey))
    assert '<html lang="ru"' in html
    assert "Ожидания: Россия → Армения" in html
    assert "В какой мере Россия ожидает, что Армения будет играть каждую из этих ролей?" in html
    for text in ("Далее", "Назад", "Не могу судить", "Насколько вы уверены?", "совсем нет"):
        assert text in html
    assert '<legend class="role-name">Опекаемый</legend>' in html
    conception = html_of(client, block_url(survey, 1))
    assert "В какой мере Армения видит себя в каждой из этих ролей?" in conception
    performance = html_of(client, block_url(survey, 2))
    assert "В какой мере Армения на деле играет каждую из этих ролей" in performance


def test_landing_page_is_translated(client):
    survey = survey_open(language="ru")
    html = html_of(client, survey.url)
    for text in ("Кто что видит", "Мы не записываем ваш IP-адрес", "Начать опрос"):
        assert text in html
    assert "3 страницы, 8 вопросов, около 2 минут." in html


def test_kazakh_page_has_the_kazakh_instrument_and_falls_back_with_its_lang(client):
    survey = survey_open(language="kk")
    second = survey.items(0)[1]
    second.fielded_texts.pop("kk")  # as if the role had no Kazakh text when the wave opened
    second.save()
    client.post(survey.url, {"consent": "on"})
    html = html_of(client, block_url(survey))
    assert '<html lang="kk"' in html
    assert ">Келесі<" in html and ">Артқа<" in html and "Бағалай алмаймын" in html
    assert "Не могу судить" not in html, "the interface is all Kazakh"
    assert '<legend class="role-name">Қорғалушы</legend>' in html, "the fielded Kazakh text"
    russian = second.fielded_texts["ru"]["name"]
    assert f'<legend class="role-name" lang="ru">{russian}</legend>' in html
    assert "Ресей → Армения" in html, "actor names in Kazakh"


@pytest.mark.parametrize("language", ["hy", "ky", "tg"])
def test_each_other_language_is_selectable(client, language):
    survey = consented(client, language)
    html = html_of(client, block_url(survey))
    assert f'<html lang="{language}"' in html
    assert f">{OTHER_LANGUAGES[language]['Next']}<" in html
    assert OTHER_LANGUAGES[language]["Cannot judge"] in html
    assert "Не могу судить" not in html


def visible_text(page: str) -> str:
    """The text a reader sees, without the language switcher (each language in its own name)."""
    page = re.sub(r"<(script|select)\b.*?</\1>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def interface_pieces() -> set[str]:
    """The interface's English and Russian texts, cut at their placeholders, in pieces long
    enough (12 characters) to be no accident on a page in another language."""
    texts = set()
    for entry in messages("ru"):
        texts.update([entry.msgid, entry.msgid_plural or "", *entry.msgstrs])
    pieces = (piece.strip() for text in texts for piece in PLACEHOLDER.split(text))
    return {piece for piece in pieces if len(piece) >= 12}


@pytest.mark.parametrize("language", sorted(OTHER_LANGUAGES))
def test_every_page_of_an_expert_shows_the_interface_in_their_language(client, language):
    survey = survey_open(language=language)
    token = survey.token
    pages = [
        client.get(survey.url),
        client.post(survey.url, {}),  # no consent: the form's error
        client.get("/s/not-a-link/", headers={"accept-language": language}),
        client.get(reverse("surveys:offline") + f"?lang={language}"),
    ]
    client.post(survey.url, {"consent": "on"})
    pages += [client.get(block_url(survey, index)) for index in range(len(survey.blocks))]
    pages += [
        client.get(reverse("surveys:about", args=[token])),
        client.get(reverse("surveys:review", args=[token])),
    ]
    with mock.patch("surveys.questionnaire.aggregation_schedule"):
        client.post(reverse("surveys:submit", args=[token]))
    pages.append(client.get(reverse("surveys:thanks", args=[token])))
    pieces = interface_pieces()
    for page in pages:
        text = visible_text(page.content.decode())
        assert f'<html lang="{language}"' in page.content.decode()
        path = page.request["PATH_INFO"]
        assert page.status_code == (404 if path == "/s/not-a-link/" else 200), path
        left = sorted(piece for piece in pieces if piece in text)
        assert not left, f"{path}: English or Russian {left}"


def test_the_invitations_language_is_the_default_whatever_the_browser_says(client):
    survey = survey_open(language="ru")
    page = client.get(survey.url, headers={"accept-language": "en"})
    assert '<html lang="ru"' in page.content.decode()
    assert page.headers["Content-Language"] == "ru"


def test_lang_parameter_switches_and_is_kept_on_the_invitation(client):
    survey = consented(client, "ru")
    page = client.get(block_url(survey) + "?lang=en")
    assert page.status_code == 302
    assert page.url == block_url(survey)
    assert Invitation.objects.get(pk=survey.invitation.pk).language == "en"
    assert '<html lang="en"' in html_of(client, block_url(survey))


def test_unknown_lang_parameter_changes_nothing(client):
    survey = consented(client, "ru")
    client.get(block_url(survey) + "?lang=xx")
    assert Invitation.objects.get(pk=survey.invitation.pk).language == "ru"


def test_switcher_form_on_every_page_offers_the_waves_languages(client):
    survey = survey_open(language="ru", languages=("hy", "tg"))
    client.post(survey.url, {"consent": "on"})
    html = html_of(client, block_url(survey))
    assert f'action="{reverse("surveys:language", args=[survey.token])}"' in html
    for code, name in [("en", "English"), ("ru", "Русский"), ("hy", "Հայերեն"), ("tg", "Тоҷикӣ")]:
        assert f'<option value="{code}" lang="{code}"' in html
        assert name in html
    assert '<option value="kk"' not in html, "Kazakh: the wave is not fielded in it"
    page = client.post(
        reverse("surveys:language", args=[survey.token]),
        {"language": "hy", "next": block_url(survey, 1)},
    )
    assert page.url == block_url(survey, 1)
    assert Invitation.objects.get(pk=survey.invitation.pk).language == "hy"


def test_switcher_never_redirects_elsewhere(client):
    survey = consented(client, "ru")
    url = reverse("surveys:language", args=[survey.token])
    for target in ("https://example.com/", "//example.com/s/", "/admin/"):
        page = client.post(url, {"language": "en", "next": target})
        assert page.url == survey.url, target


def test_switcher_refuses_an_unknown_language(client):
    survey = consented(client, "ru")
    page = client.post(reverse("surveys:language", args=[survey.token]), {"language": "xx"})
    assert page.status_code == 400
    assert Invitation.objects.get(pk=survey.invitation.pk).language == "ru"


def test_switcher_refuses_a_language_the_wave_is_not_fielded_in(client):
    survey = consented(client, "ru")
    page = client.post(reverse("surveys:language", args=[survey.token]), {"language": "hy"})
    assert page.status_code == 400
    assert Invitation.objects.get(pk=survey.invitation.pk).language == "ru"


def test_an_invitation_in_a_language_the_wave_lacks_reads_russian(client):
    survey = consented(client, "ru")
    Invitation.objects.filter(pk=survey.invitation.pk).update(language="kk")
    html = html_of(client, block_url(survey))
    assert '<html lang="ru"' in html
    assert '<option value="ru" lang="ru" selected>' in html


def test_role_texts_are_those_fielded_with_the_wave(client):
    survey = consented(client, "en")
    item = Item.objects.get(pk=survey.items(0)[0].pk)
    text_set(owner=item.role, field="name", language="en", text="Renamed after opening")
    html = html_of(client, block_url(survey))
    assert "Renamed after opening" not in html
    assert '<legend class="role-name">Protectee</legend>' in html


# Fallbacks carry the language of the text shown -------------------------------------------


def test_texts_shown_in_another_language_carry_its_lang(client):
    survey = survey_open(language="kk")
    InstrumentText.objects.filter(
        Q(actor__code="RUS") | Q(scale__name="0–10", field="low_label") | Q(wave=survey.wave),
        language="kk",
    ).delete()  # as if removed after opening: the pages fall back to Russian
    selectors.questionnaire_cache_clear()
    client.post(survey.url, {"consent": "on"})
    html = html_of(client, block_url(survey))
    assert '<html lang="kk"' in html
    assert '<span lang="ru">Россия</span> → Армения' in html, "the holder's name in Russian"
    assert '<span lang="ru">совсем нет</span>' in html, "the scale's end in Russian"
    assert '<span class="visually-hidden" lang="ru"> – совсем нет</span>' in html
    title = survey.wave.text_map("title")["ru"]
    assert f'<p class="site-title"><span lang="ru">{title}</span></p>' in html
    assert "Қорғалушы" in html, "the texts that are there stay Kazakh"


def test_a_sentence_in_another_language_is_a_span_with_its_names_marked_inside():
    sentence = sentence_fill(
        LocalText("Ожидания: {holder} → {subject}", lang="ru"),
        {"holder": LocalText("Ресей"), "subject": LocalText("Армения", lang="ru")},
        slot=TEXT_SLOT,
        language="kk",
    )
    assert sentence.text == "Ожидания: Ресей → Армения"
    assert (
        sentence.html == '<span lang="ru">Ожидания: <span lang="kk">Ресей</span> → Армения</span>'
    )


def test_a_sentence_escapes_its_texts():
    sentence = sentence_fill(
        LocalText("<b>{subject}</b> & co"),
        {"subject": LocalText("<i>X</i>", lang="ru")},
        slot=TEXT_SLOT,
        language="kk",
    )
    assert (
        sentence.html == '&lt;b&gt;<span lang="ru">&lt;i&gt;X&lt;/i&gt;</span>&lt;/b&gt; &amp; co'
    )


def test_the_landing_page_shows_the_waves_text_in_the_language(client):
    survey = survey_open(language="kk")
    text_set(owner=survey.wave, field="landing", language="kk", text="Бірінші.\n\nЕкінші.")
    text_set(owner=survey.wave, field="landing", language="ru", text="Первый.")
    selectors.questionnaire_cache_clear()
    html = html_of(client, survey.url)
    assert '<div class="introduction">' in html
    assert "<p>Бірінші.</p><p>Екінші.</p>" in html.replace("\n", "").replace("    ", "")
    Invitation.objects.filter(pk=survey.invitation.pk).update(language="en")
    html = html_of(client, survey.url)
    assert '<div class="introduction" lang="ru">' in html, "no English text: the Russian one"
