"""The translator's files: export and import round-trip unchanged, and every bad file is refused
whole with a message naming the key."""

import csv
import io
from io import StringIO

import pytest
from django.contrib.auth.models import Permission, User
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command

from surveys import services
from surveys.models import AuditEntry, InstrumentText, Wave
from surveys.texts import exchange
from surveys.texts.importing import texts_import
from surveys.texts.services import text_set
from tests.factories import instrument_texts_fill

pytestmark = pytest.mark.django_db


@pytest.fixture
def wave(draft_wave) -> Wave:
    """The test wave in English, Russian and Kazakh, every text given, a block prompt of
    its own with a placeholder, and a landing text of two paragraphs."""
    draft_wave.languages = "en,ru,kk"
    draft_wave.save(update_fields=["languages"])
    block = draft_wave.blocks.get(order=1)
    prompts = {
        "en": "How strongly does {holder} count on {subject} in these roles?",
        "ru": "В какой мере {holder} рассчитывает на {subject} в этих ролях?",
        "kk": "{holder} осы рөлдерде {subject} тарапына қаншалықты сенеді?",
    }
    for language, prompt in prompts.items():
        text_set(owner=block, field="prompt", language=language, text=prompt)
    text_set(
        owner=draft_wave,
        field="landing",
        language="en",
        text="First paragraph.\n\nSecond paragraph.",
    )
    instrument_texts_fill(draft_wave)
    return draft_wave


def snapshot() -> list[tuple]:
    return list(
        InstrumentText.objects.order_by("pk").values_list(
            "pk", "text", "status", "reviewed_by", "reviewed_at", "updated_at"
        )
    )


def export(wave: Wave, language: str, file_format: str) -> bytes:
    document = exchange.document_build(wave=wave, language=language)
    return exchange.document_render(document, file_format)


def import_bytes(wave: Wave, data: bytes, user=None):
    return texts_import(wave=wave, document=exchange.document_parse(data), user=user)


def refusal(wave: Wave, data: bytes) -> list[str]:
    before = snapshot()
    with pytest.raises(ValidationError) as error:
        import_bytes(wave, data)
    assert snapshot() == before, "nothing imported"
    assert not AuditEntry.objects.filter(action="texts.import").exists()
    return error.value.messages


# Round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["xliff", "csv"])
@pytest.mark.parametrize("language", ["kk", "ru", "en"])
def test_export_then_import_leaves_the_instrument_unchanged(wave, file_format, language):
    before = snapshot()
    report = import_bytes(wave, export(wave, language, file_format))
    assert snapshot() == before
    assert report.unchanged == len(exchange.document_build(wave=wave, language=language).entries)
    assert report.created == report.changed == report.reviewed == 0


def test_the_xliff_file_carries_the_source_beside_each_text(wave):
    data = export(wave, "kk", "xliff").decode()
    assert 'version="2.0" srcLang="en" trgLang="kk"' in data
    assert 'original="wave/test-wave"' in data
    assert '<unit id="role.protectee.name">' in data
    assert "<source>Protectee</source>" in data and "<target>Қорғалушы</target>" in data
    assert 'xml:space="preserve">First paragraph.\n\nSecond paragraph.</source>' in data
    assert "<notes>" in data and "role protectee: name" in data
    english = export(wave, "en", "xliff").decode()
    assert 'srcLang="ru" trgLang="en"' in english, "English files show Russian beside"


def test_the_csv_file_names_its_languages_in_the_header(wave):
    text = export(wave, "kk", "csv").decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["key", "context", "en", "kk", "status"]
    row = next(row for row in rows if row[0] == "role.protectee.name")
    assert row[2:] == ["Protectee", "Қорғалушы", "draft"]


def test_a_translation_comes_in_as_a_draft_and_a_missing_one_is_left_out(wave, roles):
    InstrumentText.objects.filter(role=roles["independent"], language="kk").delete()
    data = export(wave, "kk", "xliff").decode()
    assert '<segment state="initial">' in data, "the missing text has no target"
    data = data.replace(
        "<source>Independent</source>", "<source>Independent</source><target>Тәуелсіз</target>"
    )
    report = import_bytes(wave, data.encode())
    assert report.created == 1 and report.untranslated == 1  # its definition stays missing
    text = InstrumentText.objects.get(role=roles["independent"], field="name", language="kk")
    assert (text.text, text.status, text.updated_by) == ("Тәуелсіз", "draft", None)


def test_a_reviewer_marks_texts_reviewed_through_the_file(wave, roles):
    reviewer = User.objects.create_user("reviewer", is_staff=True)
    reviewer.user_permissions.set(
        Permission.objects.filter(codename__in=["change_instrumenttext", "review_instrumenttext"])
    )
    reviewer = User.objects.get(pk=reviewer.pk)
    data = export(wave, "kk", "xliff").decode()
    unit = data.index('<unit id="role.protectee.name">')
    data = data[:unit] + data[unit:].replace('state="translated"', 'state="reviewed"', 1)
    report = import_bytes(wave, data.encode(), user=reviewer)
    assert report.reviewed == 1 and report.changed == 0 and report.created == 0
    text = InstrumentText.objects.get(role=roles["protectee"], field="name", language="kk")
    assert text.status == "reviewed" and text.reviewed_by == reviewer
    entry = AuditEntry.objects.get(action="texts.import")
    assert entry.user == reviewer and entry.detail["reviewed"] == 1


def test_a_translator_cannot_mark_texts_reviewed(wave, roles):
    translator = User.objects.create_user("translator", is_staff=True)
    translator.user_permissions.set(Permission.objects.filter(codename="change_instrumenttext"))
    translator = User.objects.get(pk=translator.pk)
    text = export(wave, "kk", "csv").decode("utf-8-sig")
    text = text.replace("Қорғалушы,draft", "Қорғалушы,reviewed")
    report = import_bytes(wave, text.encode("utf-8"), user=translator)
    assert report.reviews_not_allowed == 1 and report.reviewed == 0
    assert (
        InstrumentText.objects.get(role=roles["protectee"], field="name", language="kk").status
        == "draft"
    )


def test_a_user_without_the_permission_imports_nothing(wave):
    viewer = User.objects.create_user("viewer", is_staff=True)
    with pytest.raises(PermissionDenied):
        import_bytes(wave, export(wave, "kk", "xliff"), user=viewer)


def test_an_open_waves_texts_are_not_imported(wave):
    services.wave_open(wave=wave)
    messages = refusal(wave, export(wave, "kk", "xliff"))
    assert "cannot change" in messages[0]


def test_a_formula_is_guarded_in_the_csv_and_comes_back_as_written(wave, roles):
    text_set(owner=roles["protectee"], field="name", language="kk", text="=Қорғалушы")
    data = export(wave, "kk", "csv")
    assert ",'=Қорғалушы," in data.decode("utf-8-sig")
    before = snapshot()
    import_bytes(wave, data)
    assert snapshot() == before


# Bad files ---------------------------------------------------------------------------------


def test_an_unknown_key_is_refused(wave):
    data = export(wave, "kk", "xliff").decode()
    data = data.replace('<unit id="role.protectee.name">', '<unit id="role.protege.name">')
    [message] = refusal(wave, data.encode())
    assert message.startswith("role.protege.name: unknown key")


def test_a_key_twice_is_refused(wave):
    text = export(wave, "kk", "csv").decode("utf-8-sig")
    row = next(line for line in text.splitlines() if line.startswith("actor.RUS.name"))
    messages = refusal(wave, (text + row + "\r\n").encode())
    assert any(m.startswith("actor.RUS.name (line") and "more than once" in m for m in messages)


def test_an_emptied_text_is_refused(wave):
    text = export(wave, "kk", "csv").decode("utf-8-sig")
    text = text.replace(",Қорғалушы,draft", ",,draft")
    [message] = refusal(wave, text.encode())
    assert message.startswith("role.protectee.name (line ")
    assert "empty text" in message


def test_a_changed_placeholder_is_refused(wave):
    data = export(wave, "kk", "xliff").decode()
    data = data.replace("{subject} тарапына", "{subjekt} тарапына")
    [message] = refusal(wave, data.encode())
    assert message.startswith("block.1.prompt: placeholders changed")
    assert "{holder}, {subject}" in message and "{holder}, {subjekt}" in message


def test_a_dropped_placeholder_is_refused(wave):
    text = export(wave, "ru", "csv").decode("utf-8-sig")
    text = text.replace("на {subject} в этих ролях", "на Армению в этих ролях")
    [message] = refusal(wave, text.encode())
    assert message.startswith("block.1.prompt (line") and "placeholders changed" in message


def with_target(data: str, key: str, text: str) -> str:
    """The XLIFF file with the target of unit ``key`` replaced by ``text``."""
    unit = data.index(f'<unit id="{key}">')
    start = data.index("<target>", unit)
    end = data.index("</target>", start) + len("</target>")
    return data[:start] + f"<target>{text}</target>" + data[end:]


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("kk", "Protectee", "wrong script: Kazakh is written in Cyrillic"),
        ("hy", "Опекаемый", "wrong script: Cyrillic letters in a text in Armenian"),
        ("en", "Опекаемый", "wrong script: Cyrillic letters in a text in English"),
        ("kk", "Պաշտպան", "wrong script: Armenian letters in a text in Kazakh"),
        ("ky", "Қорғалушы", "letters not of the Kyrgyz alphabet: ғ қ"),
        ("tg", "Тәуелсіз", "letters not of the Tajik alphabet: і ә"),
    ],
)
def test_a_text_in_the_wrong_script_or_alphabet_is_refused(wave, language, text, expected):
    wave.languages = "en,ru,kk,hy,ky,tg"
    wave.save(update_fields=["languages"])
    instrument_texts_fill(wave)
    data = with_target(export(wave, language, "xliff").decode(), "role.protectee.name", text)
    [message] = refusal(wave, data.encode())
    assert message.startswith(f"role.protectee.name: {expected}")


def test_malformed_xml_is_refused_with_its_place(wave):
    data = export(wave, "kk", "xliff").decode().replace("</segment>", "</segmnt>", 1)
    [message] = refusal(wave, data.encode())
    assert message.startswith("The file is not well-formed XML (line ")
    assert "mismatched tag" in message


def test_entities_and_dtds_are_refused(wave):
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        '<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        '<xliff xmlns="urn:oasis:names:tc:xliff:document:2.0" version="2.0" srcLang="en" '
        'trgLang="kk"><file id="f"><unit id="wave.title"><segment><source>x</source>'
        "<target>&b;</target></segment></unit></file></xliff>"
    )
    [message] = refusal(wave, bomb.encode())
    assert "DTD or entities" in message


def test_a_file_that_is_not_xliff_2_is_refused(wave):
    data = b'<xliff version="1.2" xmlns="urn:oasis:names:tc:xliff:document:1.2"></xliff>'
    [message] = refusal(wave, data)
    assert "not an XLIFF 2.0 document" in message


def test_a_file_of_another_wave_is_refused(wave):
    data = export(wave, "kk", "xliff").decode().replace("wave/test-wave", "wave/2025")
    [message] = refusal(wave, data.encode())
    assert "wave “2025”, not of “test-wave”" in message


def test_a_csv_with_another_header_or_encoding_is_refused(wave):
    [message] = refusal(wave, "key,text\nwave.title,Атауы\n".encode())
    assert message.startswith("Line 1: the header must be")
    [message] = refusal(wave, "key,context,en,kk,status\nwave.title,,x,Атауы,\n".encode("cp1251"))
    assert "not UTF-8" in message


def test_every_problem_of_a_file_is_listed(wave):
    data = export(wave, "kk", "xliff").decode()
    data = data.replace('<unit id="role.protectee.name">', '<unit id="role.protege.name">')
    data = with_target(data, "actor.RUS.name", "Russia")
    messages = refusal(wave, data.encode())
    assert [message.split(":")[0] for message in messages] == [
        "actor.RUS.name",
        "role.protege.name",
    ]


# Commands ----------------------------------------------------------------------------------


def test_the_commands_export_and_import_a_file(wave, tmp_path):
    path = tmp_path / "kk.csv"
    err = StringIO()
    call_command(
        "export_texts", "test-wave", "kk", "--format", "csv", "--output", str(path), stderr=err
    )
    assert "texts of wave test-wave in kk written" in err.getvalue()
    out = StringIO()
    call_command("import_texts", "test-wave", str(path), stdout=out)
    assert "Imported kk into wave test-wave: 0 new, 0 changed" in out.getvalue()
    stdout = StringIO()
    call_command("export_texts", "test-wave", "kk", stdout=stdout)
    assert stdout.getvalue().startswith("<?xml")


def test_the_import_command_lists_the_problems(wave, tmp_path):
    data = with_target(export(wave, "kk", "xliff").decode(), "actor.RUS.name", "Russia")
    path = tmp_path / "kk.xlf"
    path.write_text(data, encoding="utf-8")
    with pytest.raises(CommandError) as error:
        call_command("import_texts", "test-wave", str(path))
    assert "Nothing was imported." in str(error.value)
    assert "- actor.RUS.name: wrong script" in str(error.value)
