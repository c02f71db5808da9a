"""Importing a translator's file: every text checked first, then all stored, or none.

A file is refused whole (``ImportRefused``, one message per problem, each naming the key)
when it is of another wave or an unknown language, or when an entry has an unknown or
repeated key, an empty text where a text is stored, placeholders other than its source
text's, or a text in the wrong script or alphabet (``surveys.texts.checks``). An entry with
an empty text where none is stored is a text not translated yet: it is left out.

Only a draft wave's texts are imported: an open wave's instrument is frozen. A new or changed
text becomes a draft; one marked reviewed in the file is stored as reviewed by the importing
user when they may review texts (``surveys.review_instrumenttext``), else as a draft.
"""

from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.audit import audit_record
from surveys.models import Actor, Block, InstrumentText, Panel, Role, Scale, Wave
from surveys.services import instrument_assert_editable
from surveys.texts.checks import placeholders_problem, script_problem
from surveys.texts.documents import TextDocument, TextEntry
from surveys.texts.keys import TextSlot, wave_text_slots
from surveys.texts.selectors import slot_texts
from surveys.texts.services import REVIEW_PERMISSION, text_clean, text_set

CHANGE_PERMISSION = "surveys.change_instrumenttext"
OWNER_MODELS = {
    "wave": Wave,
    "block": Block,
    "actor": Actor,
    "role": Role,
    "panel": Panel,
    "scale": Scale,
}


class ImportRefused(ValidationError):
    """The file was not imported; ``messages`` lists every problem found."""


@dataclass(frozen=True)
class ImportReport:
    wave: str
    language: str
    created: int = 0
    changed: int = 0
    unchanged: int = 0
    reviewed: int = 0
    untranslated: int = 0
    reviews_not_allowed: int = 0


def _problem(entry: TextEntry, text: str) -> str:
    where = f" ({entry.place})" if entry.place else ""
    return f"{entry.key}{where}: {text}"


def _source_text(texts: dict[str, InstrumentText], document: TextDocument) -> str | None:
    for language in (document.source_language, settings.LANGUAGE_CODE):
        if language in texts and language != document.language:
            return texts[language].text
    return None


def document_problems(
    *, wave: Wave, document: TextDocument, slots: dict[str, TextSlot], texts: dict
) -> list[str]:
    """Every reason to refuse ``document`` for ``wave`` (empty: it may be imported)."""
    if document.language not in dict(settings.LANGUAGES):
        return [
            _("The file's language “%(language)s” is not one of this site's (%(codes)s).")
            % {"language": document.language, "codes": ", ".join(dict(settings.LANGUAGES))}
        ]
    if document.wave and document.wave != wave.slug:
        return [
            _("The file holds the texts of wave “%(file)s”, not of “%(wave)s”.")
            % {"file": document.wave, "wave": wave.slug}
        ]
    problems, seen = [], set()
    for entry in document.entries:
        if entry.key in seen:
            problems.append(_problem(entry, _("the key appears more than once in the file")))
            continue
        seen.add(entry.key)
        slot = slots.get(entry.key)
        if slot is None:
            problems.append(_problem(entry, _("unknown key: this wave has no such text")))
            continue
        stored = texts.get(entry.key, {})
        target = text_clean(entry.target)
        if not target:
            if document.language in stored:
                problems.append(
                    _problem(
                        entry,
                        _(
                            "empty text: the stored text would be lost; translate it or leave "
                            "the entry out"
                        ),
                    )
                )
            continue
        for problem in (
            placeholders_problem(
                target, source=_source_text(stored, document), allowed=slot.placeholders
            ),
            script_problem(target, document.language),
        ):
            if problem:
                problems.append(_problem(entry, problem))
    return problems


@transaction.atomic
def texts_import(*, wave: Wave, document: TextDocument, user=None, now=None) -> ImportReport:
    """Check ``document`` and store its texts for ``wave``, all or nothing (see the module
    docstring). ``user`` None is the system (a management command without ``--user``)."""
    if user is not None and not user.has_perm(CHANGE_PERMISSION):
        raise PermissionDenied(_("You may not change the instrument's texts."))
    wave = Wave.objects.select_for_update().get(pk=wave.pk)
    instrument_assert_editable(wave=wave)
    slots = {slot.key: slot for slot in wave_text_slots(wave=wave)}
    texts = slot_texts(slots.values())
    problems = document_problems(wave=wave, document=document, slots=slots, texts=texts)
    if problems:
        raise ImportRefused(problems, code="texts_refused")
    may_review = user is None or user.has_perm(REVIEW_PERMISSION)
    now = now or timezone.now()
    counts = dict.fromkeys(
        ["created", "changed", "unchanged", "reviewed", "untranslated", "reviews_not_allowed"], 0
    )
    owners = _owners(slots.values(), document)
    for entry in document.entries:
        slot = slots[entry.key]
        target = text_clean(entry.target)
        stored = texts.get(entry.key, {}).get(document.language)
        if not target:
            counts["untranslated"] += 1
            continue
        already_reviewed = (
            stored is not None
            and stored.text == target
            and stored.status == InstrumentText.Status.REVIEWED
        )
        review = entry.reviewed and not already_reviewed
        if review and not may_review:
            counts["reviews_not_allowed"] += 1
        if stored is None:
            counts["created"] += 1
        elif stored.text != target:
            counts["changed"] += 1
        else:
            counts["unchanged"] += 1
        counts["reviewed"] += review and may_review
        text_set(
            owner=owners[(slot.owner, slot.owner_id)],
            field=slot.field,
            language=document.language,
            text=target,
            user=user,
            reviewed=review and may_review,
            now=now,
        )
    report = ImportReport(wave=wave.slug, language=document.language, **counts)
    audit_record(user=user, action="texts.import", obj=wave, detail=asdict(report))
    return report


def _owners(slots, document: TextDocument) -> dict[tuple[str, int], object]:
    """The objects owning the texts the document sets, read once per kind."""
    wanted: dict[str, set[int]] = {}
    keys = {entry.key for entry in document.entries}
    for slot in slots:
        if slot.key in keys:
            wanted.setdefault(slot.owner, set()).add(slot.owner_id)
    return {
        (owner, obj.pk): obj
        for owner, ids in wanted.items()
        for obj in OWNER_MODELS[owner].objects.filter(pk__in=ids)
    }
