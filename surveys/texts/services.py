"""Writes of the instrument's texts: one text, a set of texts, reviews, and copies.

A text that changes becomes a draft again; a text is reviewed by someone with
``surveys.review_instrumenttext``, and the row keeps who and when. An empty text is no text:
writing one removes the row. Importing a translator's file is ``surveys.texts.importing``.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from surveys.audit import audit_record
from surveys.models import TEXT_FIELDS, Block, InstrumentText, Wave

REVIEW_PERMISSION = "surveys.review_instrumenttext"


def text_clean(text: str) -> str:
    """A text as stored: Unix line ends, no surrounding blanks."""
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


def _owner_name(owner: models.Model) -> str:
    name = owner._meta.model_name
    if name not in TEXT_FIELDS:
        raise ValueError(f"{owner!r} has no texts")
    return name


def text_set(
    *,
    owner: models.Model,
    field: str,
    language: str,
    text: str,
    user=None,
    reviewed: bool = False,
    now: datetime | None = None,
) -> InstrumentText | None:
    """Write one text of ``owner``; returns the row, or None when ``text`` is empty (then
    any stored text is removed).

    A new or changed text is a draft unless ``reviewed`` (then ``user`` reviewed it now); an
    unchanged one keeps its status, or becomes reviewed with ``reviewed``.
    """
    owner_name = _owner_name(owner)
    if field not in TEXT_FIELDS[owner_name]:
        raise ValidationError(
            _("A %(owner)s has no text “%(field)s”.") % {"owner": owner_name, "field": field},
            code="text_field_unknown",
        )
    if language not in dict(settings.LANGUAGES):
        raise ValidationError(
            _("“%(language)s” is not a language of this site.") % {"language": language},
            code="text_language_unknown",
        )
    text = text_clean(text)
    row = InstrumentText.objects.filter(
        **{owner_name: owner}, field=field, language=language
    ).first()
    if not text:
        if row is not None:
            row.delete()
        return None
    if row is None:
        row = InstrumentText(**{owner_name: owner}, field=field, language=language)
    elif row.text == text and not (reviewed and row.status == InstrumentText.Status.DRAFT):
        return row
    if row.text != text:
        row.text = text
        row.updated_by = user
        row.status = InstrumentText.Status.DRAFT
        row.reviewed_by, row.reviewed_at = None, None
    if reviewed:
        row.status = InstrumentText.Status.REVIEWED
        row.reviewed_by, row.reviewed_at = user, now or timezone.now()
    row.save()
    return row


def texts_set(
    *,
    owner: models.Model,
    texts: Mapping[str, Mapping[str, str]],
    user=None,
    reviewed: bool = False,
) -> None:
    """Write several texts of ``owner``: ``{field: {language: text}}``."""
    for field, by_language in texts.items():
        for language, text in by_language.items():
            text_set(
                owner=owner,
                field=field,
                language=language,
                text=text,
                user=user,
                reviewed=reviewed,
            )


@transaction.atomic
def texts_edit(
    *,
    owner: models.Model,
    changes: Iterable[tuple[str, str, str]],
    removed: Iterable[tuple[str, str]] = (),
    user,
) -> None:
    """An admin's edit of ``owner``'s texts: ``changes`` as (field, language, text), and the
    (field, language) pairs ``removed``; one audit row names what changed."""
    owner_name = _owner_name(owner)
    removed = list(removed)
    changes = list(changes)
    for field, language in removed:
        InstrumentText.objects.filter(
            **{owner_name: owner}, field=field, language=language
        ).delete()
    for field, language, text in changes:
        text_set(owner=owner, field=field, language=language, text=text, user=user)
    audit_record(
        user=user,
        action="texts.edit",
        obj=owner,
        detail={
            "changed": sorted(f"{field}.{language}" for field, language, _text in changes),
            "removed": sorted(f"{field}.{language}" for field, language in removed),
        },
    )


def _assert_may_review(user) -> None:
    if user is not None and not user.has_perm(REVIEW_PERMISSION):
        raise PermissionDenied(_("You may not mark texts reviewed."))


@transaction.atomic
def texts_review(
    *, texts: Iterable[InstrumentText], user, wave: Wave | None = None, now=None
) -> int:
    """Mark the drafts among ``texts`` reviewed by ``user`` now; returns how many were.

    One audit row names the texts' ids (and the wave whose page it was done on).
    """
    _assert_may_review(user)
    ids = [text.pk for text in texts]
    drafts = InstrumentText.objects.select_for_update().filter(
        pk__in=ids, status=InstrumentText.Status.DRAFT
    )
    reviewed = sorted(drafts.values_list("pk", flat=True))
    InstrumentText.objects.filter(pk__in=reviewed).update(
        status=InstrumentText.Status.REVIEWED,
        reviewed_by=user,
        reviewed_at=now or timezone.now(),
    )
    audit_record(
        user=user,
        action="texts.review",
        obj=wave,
        detail={"texts": reviewed, "count": len(reviewed)},
    )
    return len(reviewed)


def texts_copy(*, source: Wave, target: Wave, blocks: Mapping[int, Block]) -> int:
    """Copy a wave's landing text and its blocks' own titles and prompts to the next wave
    (``blocks``: source block id → target block), statuses included. The title is not
    copied: the new wave is named anew."""
    rows = list(
        InstrumentText.objects.filter(wave=source, field=InstrumentText.Field.LANDING)
    ) + list(InstrumentText.objects.filter(block__in=list(blocks)))
    copies = []
    for row in rows:
        copy = InstrumentText(
            field=row.field,
            language=row.language,
            text=row.text,
            status=row.status,
            updated_by=row.updated_by,
            reviewed_by=row.reviewed_by,
            reviewed_at=row.reviewed_at,
        )
        if row.block_id is not None:
            copy.block = blocks[row.block_id]
        else:
            copy.wave = target
        copies.append(copy)
    InstrumentText.objects.bulk_create(copies)
    return len(copies)
