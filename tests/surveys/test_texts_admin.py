"""The texts in the admin: a wave's texts page, its export and import, reviews, the dashboard's
completeness, and who may do which (the groups of ``surveys.groups``)."""

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from surveys.groups import PANEL_ADMINS, TRANSLATION_REVIEWERS, TRANSLATORS, groups_sync
from surveys.models import AuditEntry, InstrumentText, Panel, Wave
from surveys.texts import exchange
from tests.conftest import login_with_second_factor
from tests.factories import instrument_texts_fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def wave(draft_wave) -> Wave:
    draft_wave.languages = "en,ru,kk"
    draft_wave.save(update_fields=["languages"])
    instrument_texts_fill(draft_wave)
    return draft_wave


def member(group: str, username: str) -> User:
    groups_sync()
    user = User.objects.create_user(username, password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=group))
    return user


def texts_url(wave: Wave) -> str:
    return f"{reverse('admin:surveys_wave_texts')}?wave={wave.slug}"


def export_url(wave: Wave, language: str, file_format: str) -> str:
    query = f"wave={wave.slug}&language={language}&format={file_format}"
    return f"{reverse('admin:surveys_wave_texts_export')}?{query}"


def upload(client, wave: Wave, data: bytes, name: str = "kk.xlf"):
    return client.post(
        reverse("admin:surveys_wave_texts"),
        {"wave": wave.slug, "action": "import", "file": SimpleUploadedFile(name, data)},
        follow=True,
    )


def kazakh_file(wave: Wave, file_format: str = "xliff") -> bytes:
    document = exchange.document_build(wave=wave, language="kk")
    return exchange.document_render(document, file_format)


def test_the_texts_page_shows_each_language_with_what_is_missing_and_draft(client, wave, actors):
    InstrumentText.objects.filter(actor=actors["RUS"], language="kk").delete()
    login_with_second_factor(client, User.objects.create_superuser("boss", password="pw"))
    html = client.get(texts_url(wave)).content.decode()
    assert 'data-language="kk"' in html and 'data-language="tg"' in html
    assert "<code>actor.RUS.name</code>" in html
    assert "still draft" in html and 'name="text"' in html, "drafts can be marked reviewed"
    assert 'id="texts-import"' in html
    response = client.get(export_url(wave, "kk", "csv"))
    assert response["Content-Disposition"] == 'attachment; filename="texts-test-wave-kk.csv"'
    assert response.content.decode("utf-8-sig").startswith("key,context,en,kk,status")


def test_staff_without_the_texts_permission_is_refused(client, wave):
    client.force_login(User.objects.create_user("staff", password="pw", is_staff=True))
    assert client.get(texts_url(wave)).status_code == 403
    assert client.get(export_url(wave, "kk", "xliff")).status_code == 403
    assert upload(client, wave, kazakh_file(wave)).status_code == 403


def test_a_translator_exports_and_imports_but_does_not_review(client, wave, roles):
    translator = member(TRANSLATORS, "translator")
    client.force_login(translator)
    html = client.get(texts_url(wave)).content.decode()
    assert 'id="texts-import"' in html and 'name="text"' not in html
    data = client.get(export_url(wave, "kk", "xliff")).content
    data = data.replace(
        "<target>Қорғалушы</target>".encode(), "<target>Қамқордағы</target>".encode()
    )
    page = upload(client, wave, data)
    assert "Imported kk: 0 new, 1 changed" in page.content.decode()
    text = InstrumentText.objects.get(role=roles["protectee"], field="name", language="kk")
    assert (text.text, text.status, text.updated_by) == ("Қамқордағы", "draft", translator)
    review = client.post(
        reverse("admin:surveys_wave_texts"),
        {"wave": wave.slug, "action": "review", "language": "kk", "text": [text.pk]},
    )
    assert review.status_code == 403
    assert InstrumentText.objects.get(pk=text.pk).status == "draft"


def test_a_bad_file_is_refused_in_the_admin_with_each_problem(client, wave):
    client.force_login(member(TRANSLATORS, "translator"))
    data = kazakh_file(wave).replace("<target>Ресей</target>".encode(), b"<target>Russia</target>")
    before = list(InstrumentText.objects.values_list("pk", "text", "status"))
    html = upload(client, wave, data).content.decode()
    assert "Nothing was imported." in html
    assert "ctor.RUS.name: wrong script" in html  # the admin capitalises messages
    assert list(InstrumentText.objects.values_list("pk", "text", "status")) == before


def test_a_reviewer_marks_drafts_reviewed_and_is_recorded(client, wave, roles):
    reviewer = member(TRANSLATION_REVIEWERS, "reviewer")
    client.force_login(reviewer)
    html = client.get(texts_url(wave)).content.decode()
    assert 'name="text"' in html and 'id="texts-import"' not in html
    drafts = InstrumentText.objects.filter(role=roles["protectee"], language="kk")
    client.post(
        reverse("admin:surveys_wave_texts"),
        {"wave": wave.slug, "action": "review", "language": "kk", "text": [t.pk for t in drafts]},
    )
    for text in drafts.all():
        assert (text.status, text.reviewed_by) == ("reviewed", reviewer)
        assert text.reviewed_at is not None
    assert AuditEntry.objects.get(action="texts.review").user == reviewer
    assert upload(client, wave, kazakh_file(wave)).status_code == 403, "reviewers do not import"


def test_a_panel_admin_sees_the_completeness_on_the_dashboard_but_imports_nothing(client, wave):
    admin = member(PANEL_ADMINS, "panel-admin")
    admin.administered_panels.set(Panel.objects.all())
    login_with_second_factor(client, admin)
    html = client.get(f"{reverse('admin:surveys_wave_dashboard')}?wave={wave.slug}").content
    html = html.decode()
    assert 'id="texts-state"' in html and '<tr data-language="kk">' in html
    assert client.get(texts_url(wave)).status_code == 200
    assert upload(client, wave, kazakh_file(wave)).status_code == 403


def test_an_open_waves_texts_page_offers_no_import(client, open_wave):
    login_with_second_factor(client, User.objects.create_superuser("boss", password="pw"))
    html = client.get(texts_url(open_wave)).content.decode()
    assert 'id="texts-import"' not in html and "its instrument is frozen" in html


def test_editing_a_text_on_its_owners_page_makes_it_a_draft_and_is_audited(client, wave, roles):
    boss = User.objects.create_superuser("boss", password="pw")
    login_with_second_factor(client, boss)
    role = roles["protectee"]
    texts = list(role.texts.order_by("pk"))
    form = {
        "code": role.code,
        "source": role.source,
        "order": role.order,
        "is_active": "on",
        "texts-TOTAL_FORMS": str(len(texts)),
        "texts-INITIAL_FORMS": str(len(texts)),
    }
    for index, text in enumerate(texts):
        changed = text.language == "ru" and text.field == "name"
        form |= {
            f"texts-{index}-id": text.pk,
            f"texts-{index}-role": role.pk,
            f"texts-{index}-field": text.field,
            f"texts-{index}-language": text.language,
            f"texts-{index}-text": "Подопечный" if changed else text.text,
        }
    page = client.post(reverse("admin:surveys_role_change", args=[role.pk]), form)
    assert page.status_code == 302, page.content.decode()[:2000]
    text = InstrumentText.objects.get(role=role, field="name", language="ru")
    assert (text.text, text.status, text.updated_by) == ("Подопечный", "draft", boss)
    entry = AuditEntry.objects.get(action="texts.edit")
    assert entry.detail["changed"] == ["name.ru"]


def test_a_new_wave_is_fielded_in_english_and_russian_at_least(client):
    login_with_second_factor(client, User.objects.create_superuser("boss", password="pw"))
    client.post(
        reverse("admin:surveys_wave_add"),
        {
            "slug": "2027",
            "title": "Wave 2027",
            "languages": ["kk", "tg"],
            "texts-TOTAL_FORMS": "1",
            "texts-INITIAL_FORMS": "0",
            "texts-0-field": "title",
            "texts-0-language": "kk",
            "texts-0-text": "Толқын 2027",
        },
    )
    wave = Wave.objects.get(slug="2027")
    assert wave.languages == "en,ru,kk,tg"
    assert wave.text_map("title") == {"kk": "Толқын 2027"}
