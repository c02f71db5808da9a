"""The interface catalogs (``locale/<language>/LC_MESSAGES/django.po``).

English is the source language: the msgids are the English texts and there is no English
catalog. Every other language of ``settings.LANGUAGES`` has a catalog that holds every string
of the code and templates, each translated (nothing untranslated, nothing fuzzy), with the
placeholders and HTML tags of its source text, in the language's own script and plural forms.

A string added to the code fails ``test_catalog_holds_every_string_of_the_code`` until
``makemessages`` has been run, then ``test_catalog_is_complete`` until it is translated
(the command is in the README, "Translations").
"""

import re
import shutil
import subprocess
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

LOCALE = Path(settings.LOCALE_PATHS[0])
BASE_DIR = Path(settings.BASE_DIR)
LANGUAGES = [code for code, _name in settings.LANGUAGES if code != settings.LANGUAGE_CODE]

PLURAL_FORMS = {
    "ru": (
        "nplurals=4; plural=(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<12 || "
        "n%100>14) ? 1 : n%10==0 || (n%10>=5 && n%10<=9) || (n%100>=11 && n%100<=14)? 2 : 3);"
    ),
    # CLDR: one (n = 1) and other.
    "kk": "nplurals=2; plural=(n != 1);",
    "ky": "nplurals=2; plural=(n != 1);",
    "tg": "nplurals=2; plural=(n != 1);",
    # CLDR: one is i = 0, 1 (as in French), written the gettext way.
    "hy": "nplurals=2; plural=(n > 1);",
}

SCRIPTS = {"ru": "CYRILLIC", "kk": "CYRILLIC", "ky": "CYRILLIC", "tg": "CYRILLIC", "hy": "ARMENIAN"}
# Letters a language has beyond Russian's: a long translation without any is Russian text.
OWN_LETTERS = {"kk": "әғқңөұүһі", "ky": "ңөү", "tg": "ғӣқӯҳҷ"}
# Letters of the neighbouring Cyrillic alphabets that a language does not have.
FOREIGN_LETTERS = {
    "ru": "әғқңөұүһіӣӯҳҷ",
    "kk": "ӣӯҳҷ",
    "ky": "әғқұһіӣӯҳҷ",
    "tg": "әңөұүһіцщыь",
}
# Latin kept as it is in every script: the admin's name, "IP", "cookie" (Russian writes
# "cookie-файл") and the contents of <code> and <em> (a command, the admin's English label of
# a model).
LATIN_KEPT = re.compile(r"<(code|em)>.*?</\1>|\b(?:Django|IP|cookie)\b")
# Latin of the source text kept as it is: a technical token (CSV, UTF-8, XLIFF, trgLang) or a
# word the user types as it stands, quoted in the translation («draft», «key, context, status»).
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")
TECHNICAL = re.compile(r"[A-Z][A-Z0-9]+|[a-z]+[A-Z][A-Za-z0-9]*")
QUOTED = re.compile(r"«[^«»]*»|“[^“”]*”")
LONG_TEXT = 20  # letters

PLACEHOLDER = re.compile(
    r"%%\(\w+\)[sd]"  # a placeholder of {% translate %}, whose percent signs are doubled
    r"|%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[sdifr]"
    r"|%%"
    r"|\{\w*\}"
    r"|</?[a-zA-Z][^>]*>"
)


FIELD = re.compile(r'(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?)\s+(".*")$')


@dataclass(frozen=True)
class Entry:
    msgctxt: str | None
    msgid: str
    msgid_plural: str | None
    msgstrs: tuple[str, ...]
    flags: frozenset[str]

    @property
    def key(self) -> tuple[str | None, str, str | None]:
        return self.msgctxt, self.msgid, self.msgid_plural


def _unquote(line: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda match: escapes[match[1]], line.strip()[1:-1])


def po_entries(path: Path) -> list[Entry]:
    """The entries of a PO file, header included, obsolete ones (``#~``) left out."""
    entries = []
    for block in re.split(r"\n[ \t]*\n", path.read_text(encoding="utf-8").strip()):
        fields: dict[str, str] = {}
        flags: set[str] = set()
        field = None
        for line in block.splitlines():
            if line.startswith("#,"):
                flags.update(flag.strip() for flag in line[2:].split(","))
            elif line.startswith("#"):
                continue
            elif match := FIELD.match(line):
                field = match[1]
                fields[field] = _unquote(match[2])
            elif field:
                fields[field] += _unquote(line)
        if "msgid" not in fields:
            continue  # only obsolete entries or comments
        msgstrs = tuple(value for name, value in fields.items() if name.startswith("msgstr"))
        entries.append(
            Entry(
                fields.get("msgctxt"),
                fields["msgid"],
                fields.get("msgid_plural"),
                msgstrs,
                frozenset(flags),
            )
        )
    return entries


def catalog_path(language: str) -> Path:
    return LOCALE / language / "LC_MESSAGES" / "django.po"


def messages(language: str) -> list[Entry]:
    return [entry for entry in po_entries(catalog_path(language)) if entry.msgid]


def header(language: str) -> dict[str, str]:
    (head,) = [entry for entry in po_entries(catalog_path(language)) if not entry.msgid]
    lines = (line.split(":", 1) for line in head.msgstrs[0].splitlines() if ":" in line)
    return {name.strip(): value.strip() for name, value in lines}


def placeholders(text: str) -> tuple[set[str], Counter]:
    """Named placeholders as a set (a translation may use one twice or once), everything else
    (positional placeholders, ``%%``, braces, HTML tags) as counts."""
    found = PLACEHOLDER.findall(text)
    named = {token for token in found if re.fullmatch(r"%%?\(\w+\)[sd]", token)}
    return named, Counter(token for token in found if token not in named)


# Complete and current ------------------------------------------------------------------------


def test_every_language_but_the_source_has_a_catalog():
    assert settings.LANGUAGE_CODE == "en"
    for language in LANGUAGES:
        assert catalog_path(language).exists(), language


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_is_complete(language):
    entries = messages(language)
    untranslated = [entry.msgid for entry in entries if not all(entry.msgstrs)]
    fuzzy = [entry.msgid for entry in entries if "fuzzy" in entry.flags]
    assert not untranslated, f"{language}: untranslated {untranslated}"
    assert not fuzzy, f"{language}: fuzzy {fuzzy}"


@pytest.mark.skipif(not shutil.which("msgfmt"), reason="msgfmt (gettext) is not installed")
@pytest.mark.parametrize("language", LANGUAGES)
def test_msgfmt_reports_every_message_translated(language):
    result = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(catalog_path(language))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+ translated messages\.\n", result.stderr), result.stderr


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> set[tuple[str | None, str, str | None]]:
    """The msgids ``makemessages`` finds in the code and templates today.

    It runs on a copy of the translatable files (Python, HTML and text templates), so that
    the temporary files it writes beside each template stay out of the checkout.
    """
    skipped = {".venv", "tests", "bench", "locale", "var", "node_modules"}
    source = tmp_path_factory.mktemp("makemessages") / "source"

    def ignore(folder: str, names: list[str]) -> list[str]:
        return [
            name
            for name in names
            if name.startswith(".")
            or name in skipped
            or (Path(folder, name).is_file() and Path(name).suffix not in {".py", ".html", ".txt"})
        ]

    shutil.copytree(BASE_DIR, source, ignore=ignore)
    with pytest.MonkeyPatch.context() as patch, override_settings(LOCALE_PATHS=[source / "locale"]):
        patch.chdir(source)
        call_command("makemessages", locale=["ru"], verbosity=0)
    path = source / "locale" / "ru" / "LC_MESSAGES" / "django.po"
    return {entry.key for entry in po_entries(path) if entry.msgid}


@pytest.mark.skipif(not shutil.which("xgettext"), reason="xgettext (gettext) is not installed")
@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_holds_every_string_of_the_code(language, extracted):
    catalog = {entry.key for entry in messages(language)}
    missing = sorted(msgid for _context, msgid, _plural in extracted - catalog)
    stale = sorted(msgid for _context, msgid, _plural in catalog - extracted)
    assert not missing, f"{language}: not in the catalog, run makemessages: {missing}"
    assert not stale, f"{language}: no longer in the code, run makemessages: {stale}"


# Plural forms, placeholders, script ----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_forms_of_the_language_and_every_form_written(language):
    assert header(language)["Plural-Forms"] == PLURAL_FORMS[language]
    count = int(re.match(r"nplurals=(\d+);", PLURAL_FORMS[language])[1])
    for entry in messages(language):
        if entry.msgid_plural:
            assert len(entry.msgstrs) == count, (language, entry.msgid)


@pytest.mark.parametrize("language", LANGUAGES)
def test_translations_keep_the_placeholders_and_tags_of_their_source(language):
    wrong = []
    for entry in messages(language):
        sources = [entry.msgid, entry.msgid_plural or entry.msgid]
        named = set().union(*(placeholders(text)[0] for text in sources))
        other = placeholders(sources[-1])[1]
        for translation in entry.msgstrs:
            if placeholders(translation) != (named, other):
                wrong.append((entry.msgid, translation))
    assert not wrong, f"{language}: {wrong}"


def source_latin_dropped(text: str, source: str) -> str:
    """``text`` without the Latin words it shares with ``source`` that are technical tokens or
    stand in quotes in ``text``."""
    words = set(LATIN_WORD.findall(source))
    technical = {word for word in words if TECHNICAL.fullmatch(word)}

    def drop(part: str, kept: set[str]) -> str:
        return LATIN_WORD.sub(lambda word: " " if word[0] in kept else word[0], part)

    return drop(QUOTED.sub(lambda quoted: drop(quoted[0], words), text), technical)


def foreign_script_letters(text: str, script: str, source: str = "") -> set[str]:
    """The letters of ``text`` outside ``script``, after placeholders, tags and kept Latin
    (that of ``LATIN_KEPT``, and that of its ``source`` text, see ``source_latin_dropped``)."""
    text = PLACEHOLDER.sub(" ", LATIN_KEPT.sub(" ", text))
    text = source_latin_dropped(text, PLACEHOLDER.sub(" ", source))
    return {
        char
        for char in text
        if char.isalpha() and not unicodedata.name(char, "").startswith(script)
    }


@pytest.mark.parametrize("language", sorted(SCRIPTS))
def test_translations_are_written_in_the_languages_script(language):
    script = SCRIPTS[language]
    wrong = {}
    for entry in messages(language):
        for translation in entry.msgstrs:
            source = f"{entry.msgid} {entry.msgid_plural or ''}"
            letters = foreign_script_letters(translation, script, source)
            letters |= set(FOREIGN_LETTERS.get(language, "")) & set(translation.lower())
            if letters:
                wrong[translation] = "".join(sorted(letters))
    assert not wrong, f"{language}: letters of another script or alphabet: {wrong}"


def long_translations(language: str) -> dict[str, list[str]]:
    """The translations of at least ``LONG_TEXT`` letters, by msgid."""
    return {
        entry.msgid: [
            text
            for text in entry.msgstrs
            if sum(char.isalpha() for char in PLACEHOLDER.sub("", text)) >= LONG_TEXT
        ]
        for entry in messages(language)
    }


@pytest.mark.parametrize("language", sorted(OWN_LETTERS))
def test_translations_are_not_russian(language):
    """Kazakh, Kyrgyz and Tajik are not Russian: no long translation is the Russian one, and
    most use a letter Russian lacks (a short sentence may well have none)."""
    russian = {entry.msgid: entry.msgstrs for entry in messages("ru")}
    translations = long_translations(language)
    copied = [
        text for msgid, texts in translations.items() for text in texts if text in russian[msgid]
    ]
    assert not copied, f"{language}: the Russian translation: {copied}"
    texts = [text for texts in translations.values() for text in texts]
    own = [text for text in texts if set(OWN_LETTERS[language]) & set(text.lower())]
    assert len(own) >= 0.5 * len(texts), f"{language}: {len(own)} of {len(texts)}"


def test_placeholder_check_catches_a_changed_placeholder():
    assert placeholders("%(count)s pages") != placeholders("%(cuont)s бет")
    assert placeholders("<code>%(username)s</code>") != placeholders("<code>%(username)s")
    assert placeholders("Waiting: %%(count)s.") == placeholders("Күтуде: %%(count)s.")
    assert placeholders("Waiting: %%(count)s.") != placeholders("Күтуде: %(count)s.")


def test_script_check_catches_latin_and_look_alikes():
    assert foreign_script_letters("Сақтaлды", "CYRILLIC") == {"a"}  # a Latin a
    assert foreign_script_letters("IP-мекенжай, <code>manage.py</code>", "CYRILLIC") == set()
    assert foreign_script_letters("Հաջորդը", "ARMENIAN") == set()
    assert foreign_script_letters("Հաջորդը Далее", "ARMENIAN") == set("Далее")


def test_script_check_keeps_only_the_technical_or_quoted_latin_of_the_source():
    source = "The file is not UTF-8 text: save it as “CSV UTF-8”; status draft (trgLang)."
    kept = "Файл не в UTF-8: сохраните как «CSV UTF-8»; статус «draft» (trgLang)."
    assert foreign_script_letters(kept, "CYRILLIC", source) == set()
    assert foreign_script_letters("статус draft", "CYRILLIC", source) == set("draft")
    # An untranslated copy of the source: its ordinary words are still foreign.
    ordinary = set("The file is not text save it as status draft") - {" "}
    assert foreign_script_letters(source, "CYRILLIC", source) == ordinary
    assert foreign_script_letters("формат «JSON»", "CYRILLIC", source) == set("JSON")
