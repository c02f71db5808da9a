"""Reads of the instrument's texts: a text in a page's language, the texts of a wave's slots,
and what is missing or still draft in each language."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, OuterRef, Q, Subquery, TextField
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from surveys.models import InstrumentText, Wave
from surveys.texts.keys import TextSlot, wave_text_slots

# A text in a page's language --------------------------------------------------------------


@dataclass(frozen=True)
class LocalText:
    """A text as a page shows it. ``lang`` is set only when the text is in another language
    than the page's (a fallback): the element showing it then carries that ``lang``."""

    text: str
    lang: str = ""

    def __str__(self) -> str:
        return self.text

    def __bool__(self) -> bool:
        return bool(self.text)


NO_TEXT = LocalText("")


def text_pick(texts: Mapping[str, str], language: str) -> LocalText:
    """The text for ``language`` from ``{code: text}``, else from ``LANGUAGE_FALLBACKS``
    (Russian, then English), else any; marked with its language when it is not ``language``."""
    for code in (language, *settings.LANGUAGE_FALLBACKS):
        if texts.get(code):
            return LocalText(texts[code], "" if code == language else code)
    for code, text in texts.items():
        if text:
            return LocalText(text, code)
    return NO_TEXT


def text_subquery(owner: str, field: str, language: str, *, ref: str = "pk") -> Subquery:
    """The text of ``field`` in ``language`` of the owner whose id is ``ref`` (an annotation
    for queries of the owner or of rows pointing at it), NULL when missing."""
    texts = InstrumentText.objects.filter(
        **{f"{owner}_id": OuterRef(ref)}, field=field, language=language
    )
    return Subquery(texts.values("text")[:1])


def text_or_code(
    owner: str, field: str, language: str, *, ref: str = "pk", default: str = "code"
) -> Coalesce:
    """An annotation: the text of ``field`` in ``language``, else the ``default`` column (the
    owner's code), so that a report or export names every row."""
    return Coalesce(
        text_subquery(owner, field, language, ref=ref), F(default), output_field=TextField()
    )


class TextIndex:
    """The texts of several owners, read in one query (``text_index``)."""

    def __init__(self, rows: Iterable[InstrumentText]):
        self._texts: dict[tuple[str, int, str], dict[str, str]] = defaultdict(dict)
        for text in rows:
            owner = text.owner_name
            self._texts[(owner, getattr(text, f"{owner}_id"), text.field)][text.language] = (
                text.text
            )

    def get(self, owner: str, owner_id: int, field: str) -> dict[str, str]:
        """``{language: text}`` of one field of one owner."""
        return dict(self._texts.get((owner, owner_id, field), {}))

    def role_texts(self, role_id: int) -> dict[str, dict[str, str]]:
        """A role's texts as ``{language: {"name": ..., "definition": ...}}``."""
        by_language: dict[str, dict[str, str]] = {}
        for field in ("name", "definition"):
            for language, text in self.get("role", role_id, field).items():
                by_language.setdefault(language, {})[field] = text
        return by_language


def text_index(**owner_ids: Iterable[int]) -> TextIndex:
    """The texts of the given owners (``wave=[1], role=[3, 4]``), in one query."""
    query = Q(pk__in=[])
    for owner, ids in owner_ids.items():
        query |= Q(**{f"{owner}_id__in": list(ids)})
    return TextIndex(InstrumentText.objects.filter(query).order_by())


def language_name(code: str) -> str:
    return str(dict(settings.LANGUAGES).get(code, code))


# The texts of a wave ----------------------------------------------------------------------


def slot_texts(slots: Iterable[TextSlot]) -> dict[str, dict[str, InstrumentText]]:
    """``{key: {language: text}}`` of the slots that have texts (one query)."""
    slots = list(slots)
    ids: dict[str, set[int]] = defaultdict(set)
    for slot in slots:
        ids[slot.owner].add(slot.owner_id)
    query = Q(pk__in=[])
    for owner, owner_ids in ids.items():
        query |= Q(**{f"{owner}_id__in": owner_ids})
    keys = {(slot.owner, slot.owner_id, slot.field): slot.key for slot in slots}
    found: dict[str, dict[str, InstrumentText]] = defaultdict(dict)
    for text in InstrumentText.objects.filter(query).select_related("reviewed_by"):
        owner = text.owner_name
        key = keys.get((owner, getattr(text, f"{owner}_id"), text.field))
        if key is not None:
            found[key][text.language] = text
    return dict(found)


def slots_in_use(
    slots: Iterable[TextSlot], texts: Mapping[str, Mapping[str, InstrumentText]]
) -> list[TextSlot]:
    """The slots the instrument needs: every required one, and each optional one that has a
    text in some language (then it is needed in all)."""
    return [slot for slot in slots if not slot.optional or texts.get(slot.key)]


@dataclass(frozen=True)
class LanguageTexts:
    """How far the texts of a wave's instrument are in one language."""

    language: str
    name: str
    fielded: bool
    total: int
    missing: list[TextSlot]
    drafts: list[tuple[TextSlot, InstrumentText]]
    reviewed: int

    @property
    def present(self) -> int:
        return self.total - len(self.missing)

    @property
    def complete(self) -> bool:
        return not self.missing

    @property
    def percent(self) -> int:
        return 100 * self.present // self.total if self.total else 100


def wave_texts_by_language(
    *, wave: Wave, languages: Iterable[str] | None = None
) -> list[LanguageTexts]:
    """Per language (the wave's, or ``languages``): the texts missing, the drafts and the
    number reviewed (five queries)."""
    slots = wave_text_slots(wave=wave)
    texts = slot_texts(slots)
    needed = slots_in_use(slots, texts)
    fielded = set(wave.language_codes)
    result = []
    for language in languages or wave.language_codes:
        present = [
            (slot, texts[slot.key][language])
            for slot in needed
            if language in texts.get(slot.key, {})
        ]
        result.append(
            LanguageTexts(
                language=language,
                name=language_name(language),
                fielded=language in fielded,
                total=len(needed),
                missing=[slot for slot in needed if language not in texts.get(slot.key, {})],
                drafts=[(slot, text) for slot, text in present if text.status == text.Status.DRAFT],
                reviewed=sum(1 for _slot, text in present if text.status == text.Status.REVIEWED),
            )
        )
    return result


def wave_texts_missing(*, wave: Wave) -> list[LanguageTexts]:
    """The wave's languages that lack texts, with the texts they lack."""
    return [language for language in wave_texts_by_language(wave=wave) if language.missing]


def texts_missing_message(*, wave: Wave, incomplete: list[LanguageTexts]) -> str:
    """The refusal to open ``wave``, naming every missing text by key and by what it is."""
    parts = [
        _("%(language)s (%(code)s): %(texts)s")
        % {
            "language": language.name,
            "code": language.language,
            "texts": "; ".join(f"{slot.key} ({slot.label})" for slot in language.missing),
        }
        for language in incomplete
    ]
    return _(
        "Wave “%(wave)s” cannot open: %(count)s texts of its instrument are missing. %(missing)s."
    ) % {
        "wave": wave.slug,
        "count": sum(len(language.missing) for language in incomplete),
        "missing": ". ".join(parts),
    }
