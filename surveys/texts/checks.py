"""What a translated text must pass before it is imported: its placeholders and its script.

Functions of text only: no database.

- **Placeholders** (``{holder}``, ``{subject}``; ``%(name)s`` is treated alike) are filled in
  by the page; a translation must keep exactly those of its source text.
- **Script**: Russian, Kazakh, Kyrgyz and Tajik are written in Cyrillic, Armenian in the
  Armenian script, English in Latin. A text fails when fewer than half of its letters are in
  its language's script (a Russian text pasted into the Armenian file, an English text left
  untranslated), when it has letters of a third script, or, in Cyrillic, letters of another
  language's alphabet (Kazakh ә or і in a Kyrgyz text, Tajik ҷ in a Kazakh one). Latin
  letters are allowed beside the script, for abbreviations such as CSTO.
"""

import re
import unicodedata
from collections import Counter

from django.conf import settings
from django.utils.translation import gettext as _

PLACEHOLDER = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}|%\([A-Za-z_][A-Za-z0-9_]*\)[sd]")

SCRIPTS = {
    "en": "LATIN",
    "ru": "CYRILLIC",
    "kk": "CYRILLIC",
    "ky": "CYRILLIC",
    "tg": "CYRILLIC",
    "hy": "ARMENIAN",
}
SCRIPT_NAMES = {"LATIN": "Latin", "CYRILLIC": "Cyrillic", "ARMENIAN": "Armenian"}

RUSSIAN_LETTERS = frozenset("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")
# The letters each Cyrillic language adds to the Russian alphabet.
CYRILLIC_EXTRA_LETTERS = {
    "ru": frozenset(),
    "kk": frozenset("әғқңөұүһі"),
    "ky": frozenset("ңөү"),
    "tg": frozenset("ғӣқӯҳҷ"),
}


def _language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


def placeholders(text: str) -> Counter:
    """The placeholders of ``text``, with how often each occurs."""
    return Counter(PLACEHOLDER.findall(text))


def placeholders_problem(text: str, *, source: str | None, allowed: frozenset[str]) -> str | None:
    """Why the placeholders of ``text`` are wrong, or None.

    With a ``source`` text they must be the source's exactly; without one, each must be
    among ``allowed``.
    """
    found = placeholders(text)
    if source is not None:
        expected = placeholders(source)
        if found != expected:
            return _(
                "placeholders changed: the source has %(source)s, the translation %(found)s"
            ) % {"source": _listed(expected), "found": _listed(found)}
        return None
    unknown = sorted(set(found) - allowed)
    if unknown:
        return _("unknown placeholders %(found)s (allowed: %(allowed)s)") % {
            "found": ", ".join(unknown),
            "allowed": ", ".join(sorted(allowed)) or _("none"),
        }
    return None


def _listed(counts: Counter) -> str:
    return ", ".join(sorted(counts.elements())) or _("none")


def _script(letter: str) -> str:
    return unicodedata.name(letter, "UNKNOWN").split(" ")[0]


def script_problem(text: str, language: str) -> str | None:
    """Why ``text`` is not written as ``language`` is, or None (see the module docstring)."""
    expected = SCRIPTS.get(language)
    letters = [char for char in PLACEHOLDER.sub("", text) if char.isalpha()]
    if expected is None or not letters:
        return None
    scripts = Counter(_script(letter) for letter in letters)
    name = _language_name(language)
    others = sorted(script for script in scripts if script not in (expected, "LATIN"))
    if others:
        return _(
            "wrong script: %(others)s letters in a text in %(language)s, which is written "
            "in %(script)s"
        ) % {
            "others": " + ".join(SCRIPT_NAMES.get(script, script.title()) for script in others),
            "language": name,
            "script": SCRIPT_NAMES[expected],
        }
    if scripts[expected] * 2 < len(letters):
        return _(
            "wrong script: %(language)s is written in %(script)s, but most letters of this "
            "text are not"
        ) % {"language": name, "script": SCRIPT_NAMES[expected]}
    if expected == "CYRILLIC":
        alphabet = RUSSIAN_LETTERS | CYRILLIC_EXTRA_LETTERS[language]
        foreign = sorted(
            {
                letter
                for letter in (char.lower() for char in letters)
                if _script(letter) == "CYRILLIC" and letter not in alphabet
            }
        )
        if foreign:
            return _("letters not of the %(language)s alphabet: %(letters)s") % {
                "language": name,
                "letters": " ".join(foreign),
            }
    return None
