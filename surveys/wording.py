"""The sentences of the expert pages in a language: block titles, prompts, scale labels.

A block's own title or prompt (an instrument text with ``{holder}`` and ``{subject}``) or
else the standard wording of its perspective (a catalog string with ``%(holder)s`` and
``%(subject)s``) is filled with the actors' names in the page's language. A name or a whole
sentence shown in another language (a fallback) becomes a ``<span lang>`` of the sentence's
HTML, so that a screen reader reads it in its own language.
"""

import re
from dataclasses import dataclass
from typing import Protocol

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language_info, gettext

from surveys.models import Perspective
from surveys.texts.selectors import LocalText, text_pick


class QuestionnaireWording(Protocol):
    """What the sentences need of a block (``surveys.selectors.QuestionnaireBlock``)."""

    perspective: str
    holder_id: int
    subject_id: int
    is_vignette: bool
    holder_names: dict[str, str]
    subject_names: dict[str, str]
    titles: dict[str, str]
    prompts: dict[str, str]
    low_labels: dict[str, str]
    high_labels: dict[str, str]


@dataclass(frozen=True)
class LanguageOption:
    code: str
    name: str
    selected: bool


@dataclass(frozen=True)
class Sentence:
    """A sentence with names filled in: ``text`` for plain places (the page's ``<title>``),
    ``html`` for the page, where a name in another language is a ``<span lang>``."""

    text: str
    html: SafeString


GETTEXT_SLOT = re.compile(r"%\((?P<name>\w+)\)s|%%")
TEXT_SLOT = re.compile(r"\{(?P<name>\w+)\}")


def text_in_page(value: LocalText, *, language: str) -> SafeString:
    """``value`` as HTML in a page in ``language``: a span with its ``lang`` if a fallback."""
    return _in_language(value, within=language, language=language)


def _in_language(value: LocalText, *, within: str, language: str) -> SafeString:
    """``value`` as HTML inside an element in ``within``: a span when its language differs."""
    lang = value.lang or language
    if lang == within:
        return escape(value.text)
    return format_html('<span lang="{}">{}</span>', lang, value.text)


def sentence_fill(
    template: LocalText, values: dict[str, LocalText], *, slot: re.Pattern, language: str
) -> Sentence:
    """``template`` with each ``slot`` replaced by its value (``%%`` by ``%``; an unknown
    name is kept as written). A template in another language than ``language`` is a span
    of its own; names in another language than the template's are spans inside it."""
    within = template.lang or language
    plain: list[str] = []
    html: list[str] = []
    position = 0
    for match in slot.finditer(template.text):
        literal = template.text[position : match.start()]
        plain.append(literal)
        html.append(escape(literal))
        value = values.get(match.group("name") or "")
        if value is None:
            shown = "%" if match.group(0) == "%%" else match.group(0)
            plain.append(shown)
            html.append(escape(shown))
        else:
            plain.append(value.text)
            html.append(_in_language(value, within=within, language=language))
        position = match.end()
    plain.append(template.text[position:])
    html.append(escape(template.text[position:]))
    inner = mark_safe("".join(html))  # every piece escaped above
    if template.lang:
        inner = format_html('<span lang="{}">{}</span>', template.lang, inner)
    return Sentence(text="".join(plain), html=inner)


def actor_names(block: QuestionnaireWording, language: str) -> dict[str, LocalText]:
    return {
        "holder": text_pick(block.holder_names, language),
        "subject": text_pick(block.subject_names, language),
    }


def _standard_title(block: QuestionnaireWording) -> str:
    if block.is_vignette:
        return gettext("Hypothetical case: %(subject)s")
    if block.perspective == Perspective.CONCEPTION:
        return gettext("How %(subject)s sees its own roles")
    if block.perspective == Perspective.EXPECTATION:
        return gettext("Expectations: %(holder)s → %(subject)s")
    return gettext("How %(subject)s actually acts")


def _standard_prompt(block: QuestionnaireWording) -> str:
    if block.is_vignette:
        return gettext(
            "Judging only from the description above: how strongly does %(subject)s play "
            "each of these roles in its foreign policy?"
        )
    if block.perspective == Perspective.CONCEPTION:
        return gettext("How strongly does %(subject)s see itself in each of these roles?")
    if block.perspective == Perspective.EXPECTATION:
        return gettext(
            "How strongly does %(holder)s expect that %(subject)s will play each of these roles?"
        )
    if block.holder_id != block.subject_id:
        return gettext(
            "As %(holder)s sees it: how strongly does %(subject)s actually play each of "
            "these roles in its foreign policy?"
        )
    return gettext(
        "How strongly does %(subject)s actually play each of these roles in its foreign policy?"
    )


def _block_sentence(
    block: QuestionnaireWording, own: dict[str, str], standard: str, language: str
) -> Sentence:
    """The block's own text (``{holder}``, ``{subject}``) in the language, else ``standard``
    (a catalog string with ``%(holder)s``, ``%(subject)s``)."""
    names = actor_names(block, language)
    custom = text_pick(own, language)
    if custom:
        return sentence_fill(custom, names, slot=TEXT_SLOT, language=language)
    return sentence_fill(LocalText(standard), names, slot=GETTEXT_SLOT, language=language)


def block_title(block: QuestionnaireWording, language: str) -> Sentence:
    """A short heading for a block: its own title, else the standard one of its perspective,
    with actor names in the nominative only."""
    return _block_sentence(block, block.titles, _standard_title(block), language)


def block_prompt(block: QuestionnaireWording, language: str) -> Sentence:
    """The block's own prompt in the language, else the standard one of its perspective.

    The standard wordings keep every actor name as a grammatical subject, so that Russian
    needs no case endings: «В какой мере Армения видит себя …».
    """
    return _block_sentence(block, block.prompts, _standard_prompt(block), language)


def scale_labels(block: QuestionnaireWording, language: str) -> tuple[LocalText, LocalText]:
    return text_pick(block.low_labels, language), text_pick(block.high_labels, language)


def language_options(*, current: str, languages: list[str]) -> list[LanguageOption]:
    """The wave's languages, each named in itself, for the switcher on every page."""
    options = []
    for code in languages:
        name = get_language_info(code)["name_local"]
        options.append(
            LanguageOption(code=code, name=name[:1].upper() + name[1:], selected=code == current)
        )
    return options
