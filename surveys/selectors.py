"""Reads of the expert questionnaire: finished page contexts for the templates.

The templates only loop and test flags; every text is picked in the page's language here
(the instrument's texts through ``surveys.texts.selectors.text_pick``: the language, then
Russian, then English) and every choice of the form carries its own id, label and checked
state. A text shown in another language than the page's (a fallback) is a ``LocalText``
with its ``lang``, and the element showing it carries that ``lang``; in a sentence (a block's
title, its prompt, the instruction) such a name is a ``<span lang>`` of the sentence's HTML.

Two things make the expert pages cheap, because every page of a link needs them:

- **The questionnaire of a panel** (its blocks, items, the texts of the wave, blocks,
  actors, scales and panel, and the fielded role texts) is read once per process and kept in
  memory (``questionnaire_get``). An open wave's instrument is frozen
  (``surveys.services.instrument_assert_editable``; a wave never goes back to draft), so the
  key is the wave's id and creation time and the panel. What an admin can still edit while
  a wave is open, the texts of actors, scales and panels, shows within
  ``QUESTIONNAIRE_CACHE_SECONDS``.
- **The rows of a block page** (about 20 radio inputs per role) are rendered once per block
  and language from ``surveys/_block_rows.html`` with a marked slot where a request puts
  `` checked`` or `` is-answered`` (``RowsFragment``); a request only fills the slots from
  the expert's ratings.
"""

import math
import re
from dataclasses import dataclass

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from surveys.models import (
    CONFIDENCE_MAX,
    CONFIDENCE_MIN,
    BlockComment,
    Invitation,
    Rating,
    Response,
)
from surveys.questionnaire_cache import (  # noqa: F401  (questionnaire_* re-exported)
    QUESTIONNAIRE_CACHE_SECONDS,
    Questionnaire,
    QuestionnaireBlock,
    QuestionnaireItem,
    RowsFragment,
    questionnaire_cache_clear,
    questionnaire_get,
    questionnaire_load,
    questionnaire_load_block,
)
from surveys.texts.selectors import NO_TEXT, LocalText, text_pick
from surveys.wording import (
    GETTEXT_SLOT,
    block_prompt,
    block_title,
    scale_labels,
    sentence_fill,
    text_in_page,
)

CANNOT_JUDGE = "cj"
SECONDS_PER_ITEM = 12


@dataclass(frozen=True)
class Choice:
    """One radio button: its value, id, visible label and an optional hidden hint.

    ``checked`` is the slot of the rows fragment where a request writes `` checked``.
    """

    value: str
    input_id: str
    label: str
    checked: str
    hint: LocalText = NO_TEXT


@dataclass(frozen=True)
class Row:
    """One role of a block page: a fieldset with the scale and the optional confidence.

    ``answered`` is the slot where a request writes `` is-answered`` into the row's class.
    """

    item_id: int
    name: LocalText
    definition: LocalText
    value_field: str
    confidence_field: str
    value_choices: list[Choice]
    cannot_judge: Choice
    no_answer: Choice
    confidence_choices: list[Choice]
    answered: str
    feedback: str = ""


@dataclass(frozen=True)
class Progress:
    answered: int
    total: int

    @property
    def percent(self) -> int:
        return math.floor(100 * self.answered / self.total) if self.total else 100

    @property
    def text(self) -> str:
        return gettext("%(answered)s of %(total)s answered") % {
            "answered": self.answered,
            "total": self.total,
        }


@dataclass(frozen=True)
class BlockPage:
    block_id: int
    order: int
    position: int
    count: int
    position_text: str
    title: str
    title_html: SafeString
    prompt_html: SafeString
    instruction_html: SafeString
    rows_html: SafeString
    vignette: LocalText
    comment: str
    previous_order: int | None
    next_order: int | None
    is_last: bool
    progress: Progress


@dataclass(frozen=True)
class ReviewBlock:
    order: int
    title_html: SafeString
    answered: int
    total: int
    missing: list[LocalText]
    status_text: str

    @property
    def is_complete(self) -> bool:
        return self.answered == self.total


@dataclass(frozen=True)
class ReviewPage:
    blocks: list[ReviewBlock]
    progress: Progress
    missing_count: int
    missing_text: str
    last_order: int | None


@dataclass(frozen=True)
class LandingPage:
    panel_city_html: SafeString
    introduction: list[str]
    introduction_lang: str
    block_count: int
    item_count: int
    size_text: str
    is_synthetic: bool
    first_order: int | None


# Texts in a language -----------------------------------------------------------------------


# The response of a link --------------------------------------------------------------------


def response_for_invitation(*, invitation: Invitation) -> Response | None:
    """The link's response; read with the invitation by ``invitation_resolve`` if it was."""
    try:
        return invitation.response
    except Response.DoesNotExist:
        return None


def _ratings(*, response: Response) -> dict[int, tuple[int | None, bool, int | None]]:
    """Every rating of the response as ``{item id: (value, cannot judge, confidence)}``."""
    rows = (
        Rating.objects.filter(response=response)
        .order_by()
        .values_list("item_id", "value", "cannot_judge", "confidence")
    )
    return {
        item_id: (value, cannot_judge, confidence)
        for item_id, value, cannot_judge, confidence in rows
    }


def response_progress(*, response: Response, questionnaire: Questionnaire) -> Progress:
    """Answered items (a value or *cannot judge*) out of all items of the panel's blocks."""
    answered = (
        Rating.objects.filter(response=response, item_id__in=questionnaire.item_ids)
        .order_by()
        .count()
    )
    return Progress(answered=answered, total=questionnaire.item_count)


def response_resume_order(*, response: Response, questionnaire: Questionnaire) -> int | None:
    """Where the link resumes: a block's order, or None for the review page.

    From the last block the expert saved: that block while it has unanswered rows, else the
    next block; after the last block, the review page. A fresh response starts at block one.
    """
    blocks = questionnaire.blocks
    if not blocks:
        return None
    if response.last_block == 0:
        return blocks[0].order
    position = next(
        (index for index, block in enumerate(blocks) if block.order >= response.last_block),
        len(blocks) - 1,
    )
    block = blocks[position]
    answered = (
        Rating.objects.filter(response=response, item_id__in=block.item_ids).order_by().count()
    )
    if answered < len(block.items):
        return block.order
    return blocks[position + 1].order if position + 1 < len(blocks) else None


# Pages -------------------------------------------------------------------------------------


def landing_page(
    *, invitation: Invitation, questionnaire: Questionnaire, language: str
) -> LandingPage:
    block_count = len(questionnaire.blocks)
    item_count = questionnaire.item_count
    minutes = max(1, math.ceil(item_count * SECONDS_PER_ITEM / 60))
    pages = ngettext("%(count)s page", "%(count)s pages", block_count) % {"count": block_count}
    questions = ngettext("%(count)s question", "%(count)s questions", item_count) % {
        "count": item_count
    }
    duration = ngettext("about %(count)s minute", "about %(count)s minutes", minutes) % {
        "count": minutes
    }
    city = text_pick(questionnaire.panel_cities, language)
    introduction = text_pick(questionnaire.introductions, language)
    return LandingPage(
        panel_city_html=text_in_page(city, language=language),
        introduction=[part.strip() for part in introduction.text.split("\n\n") if part.strip()],
        introduction_lang=introduction.lang,
        block_count=block_count,
        item_count=item_count,
        size_text=gettext("%(pages)s, %(questions)s, %(duration)s.")
        % {"pages": pages, "questions": questions, "duration": duration},
        is_synthetic=invitation.wave.is_synthetic,
        first_order=questionnaire.blocks[0].order if questionnaire.blocks else None,
    )


def wave_title(questionnaire: Questionnaire, language: str) -> LocalText:
    """The wave's title as experts read it, in the language (or its fallback)."""
    return text_pick(questionnaire.wave_titles, language)


def confidence_labels() -> tuple[str, str]:
    return gettext("not sure"), gettext("very sure")


SLOT = re.compile("\x00((?:row|v|c|fb)-[0-9]+(?:-[0-9a-z]+)?)\x00")
SLOT_TEXT = {"row": " is-answered", "v": " checked", "c": " checked", "fb": ""}


def _slot(name: str) -> SafeString:
    return mark_safe(f"\x00{name}\x00")  # a marker, replaced before output


def _row(block: QuestionnaireBlock, item: QuestionnaireItem, language: str) -> Row:
    """A row with slots instead of checked states, for ``_rows_fragment``."""
    low, high = scale_labels(block, language)
    value_field, confidence_field = f"v-{item.pk}", f"c-{item.pk}"
    value_choices = []
    for value in range(block.scale_min, block.scale_max + 1):
        hint = low if value == block.scale_min else high if value == block.scale_max else NO_TEXT
        input_id = f"{value_field}-{value}"
        value_choices.append(
            Choice(
                value=str(value),
                input_id=input_id,
                label=str(value),
                hint=hint,
                checked=_slot(input_id),
            )
        )
    cannot_judge_id = f"{value_field}-{CANNOT_JUDGE}"
    cannot_judge = Choice(
        value=CANNOT_JUDGE,
        input_id=cannot_judge_id,
        label=gettext("Cannot judge"),
        checked=_slot(cannot_judge_id),
    )
    no_answer_id = f"{value_field}-none"
    no_answer = Choice(
        value="",
        input_id=no_answer_id,
        label=gettext("No answer"),
        checked=_slot(no_answer_id),
    )
    sure_low, sure_high = confidence_labels()
    none_id = f"{confidence_field}-none"
    confidence_choices = [
        Choice(
            value="",
            input_id=none_id,
            label="–",
            hint=LocalText(gettext("not stated")),
            checked=_slot(none_id),
        )
    ]
    for value in range(CONFIDENCE_MIN, CONFIDENCE_MAX + 1):
        hint = sure_low if value == CONFIDENCE_MIN else sure_high if value == CONFIDENCE_MAX else ""
        input_id = f"{confidence_field}-{value}"
        confidence_choices.append(
            Choice(
                value=str(value),
                input_id=input_id,
                label=str(value),
                hint=LocalText(hint),
                checked=_slot(input_id),
            )
        )
    return Row(
        item_id=item.pk,
        name=item.name(language),
        definition=item.definition(language),
        value_field=value_field,
        confidence_field=confidence_field,
        value_choices=value_choices,
        cannot_judge=cannot_judge,
        no_answer=no_answer,
        confidence_choices=confidence_choices,
        answered=_slot(f"row-{item.pk}"),
        feedback=_slot(f"fb-{item.pk}"),
    )


def _rows_fragment(
    questionnaire: Questionnaire, block: QuestionnaireBlock, language: str
) -> RowsFragment:
    """The block's rows in ``language``, rendered on first use and kept with the questionnaire."""
    key = (block.order, language)
    fragment = questionnaire.fragments.get(key)
    if fragment is not None:
        return fragment
    with translation.override(language):
        low, high = scale_labels(block, language)
        sure_low, sure_high = confidence_labels()
        html = render_to_string(
            "surveys/_block_rows.html",
            {
                "rows": [_row(block, item, language) for item in block.items],
                "low_label": low,
                "high_label": high,
                "confidence_low_label": f"{CONFIDENCE_MIN} = {sure_low}",
                "confidence_high_label": f"{CONFIDENCE_MAX} = {sure_high}",
            },
        )
    parts = SLOT.split(html)
    names = parts[1::2]
    fragment = RowsFragment(
        pieces=tuple(parts[0::2]),
        slots=tuple((name, SLOT_TEXT[name.split("-", 1)[0]]) for name in names),
    )
    questionnaire.fragments[key] = fragment
    return fragment


def _checked(block: QuestionnaireBlock, ratings: dict) -> set[str]:
    """The slots a block's rows fill for the stored ratings."""
    on = set()
    for item in block.items:
        rating = ratings.get(item.pk)
        if rating is None:
            on.add(f"v-{item.pk}-none")
            on.add(f"c-{item.pk}-none")
            continue
        value, cannot_judge, confidence = rating
        on.add(f"row-{item.pk}")
        on.add(f"v-{item.pk}-{CANNOT_JUDGE}" if cannot_judge else f"v-{item.pk}-{value}")
        on.add(f"c-{item.pk}-{'none' if confidence is None else confidence}")
    return on


def block_page(
    *,
    response: Response,
    questionnaire: Questionnaire,
    order: int,
    language: str,
    feedback_html: dict[int, SafeString] | None = None,
) -> BlockPage | None:
    """Everything a block page shows, in ``language``; None if the panel has no such block."""
    block = questionnaire.block(order)
    if block is None:
        return None
    orders = questionnaire.orders
    position = orders.index(order)
    ratings = _ratings(response=response)
    comment = (
        BlockComment.objects.filter(response=response, block_id=block.pk)
        .values_list("text", flat=True)
        .first()
    )
    low, high = scale_labels(block, language)
    item_ids = questionnaire.item_ids
    title = block_title(block, language)
    instruction = gettext(
        "Rate each role from %(min)s (%(low)s) to %(max)s (%(high)s). Choose “cannot "
        "judge” when you have no basis for a rating: it is not counted as %(min)s."
    )
    scale_ends = {
        "min": LocalText(str(block.scale_min)),
        "max": LocalText(str(block.scale_max)),
        "low": low,
        "high": high,
    }
    return BlockPage(
        block_id=block.pk,
        order=order,
        position=position + 1,
        count=len(orders),
        position_text=gettext("Page %(position)s of %(count)s")
        % {"position": position + 1, "count": len(orders)},
        title=title.text,
        title_html=title.html,
        prompt_html=block_prompt(block, language).html,
        instruction_html=sentence_fill(
            LocalText(instruction), scale_ends, slot=GETTEXT_SLOT, language=language
        ).html,
        vignette=text_pick(block.vignette_descriptions, language),
        rows_html=_rows_fragment(questionnaire, block, language).fill(
            _checked(block, ratings),
            {f"fb-{item_id}": html for item_id, html in (feedback_html or {}).items()},
        ),
        comment=comment or "",
        previous_order=orders[position - 1] if position > 0 else None,
        next_order=orders[position + 1] if position + 1 < len(orders) else None,
        is_last=position + 1 == len(orders),
        progress=Progress(
            answered=sum(1 for item_id in ratings if item_id in item_ids),
            total=questionnaire.item_count,
        ),
    )


def review_page(*, response: Response, questionnaire: Questionnaire, language: str) -> ReviewPage:
    """Per block: how many rows are answered and the names of the roles still missing."""
    answered_items = set(
        Rating.objects.filter(response=response, item_id__in=questionnaire.item_ids)
        .order_by()
        .values_list("item_id", flat=True)
    )
    blocks = []
    for block in questionnaire.blocks:
        missing = [item.name(language) for item in block.items if item.pk not in answered_items]
        total = len(block.items)
        answered = total - len(missing)
        blocks.append(
            ReviewBlock(
                order=block.order,
                title_html=block_title(block, language).html,
                answered=answered,
                total=total,
                missing=missing,
                status_text=gettext("%(answered)s of %(total)s answered")
                % {"answered": answered, "total": total},
            )
        )
    missing_count = sum(len(block.missing) for block in blocks)
    total = sum(block.total for block in blocks)
    return ReviewPage(
        blocks=blocks,
        progress=Progress(answered=total - missing_count, total=total),
        missing_count=missing_count,
        missing_text=ngettext(
            "%(count)s question is unanswered. It will be stored as missing; you can still submit.",
            "%(count)s questions are unanswered. They will be stored as missing; you can "
            "still submit.",
            missing_count,
        )
        % {"count": missing_count},
        last_order=questionnaire.blocks[-1].order if questionnaire.blocks else None,
    )
