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
import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

from django.template.loader import render_to_string
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext, ngettext

from surveys.models import (
    CONFIDENCE_MAX,
    CONFIDENCE_MIN,
    Block,
    BlockComment,
    Invitation,
    Rating,
    Response,
    Wave,
)
from surveys.texts.selectors import NO_TEXT, LocalText, TextIndex, text_index, text_pick
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
QUESTIONNAIRE_CACHE_SECONDS = 60.0
QUESTIONNAIRE_CACHE_SIZE = 256


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


# The instrument as an expert sees it: read once, kept per process ---------------------------


@dataclass(frozen=True)
class QuestionnaireItem:
    """One role of a block, with the role's texts as fielded (``{language: {name, ...}}``)."""

    pk: int
    order: int
    texts: dict[str, dict[str, str]]

    def name(self, language: str) -> LocalText:
        return text_pick({code: t.get("name", "") for code, t in self.texts.items()}, language)

    def definition(self, language: str) -> LocalText:
        return text_pick(
            {code: t.get("definition", "") for code, t in self.texts.items()}, language
        )


@dataclass(frozen=True)
class QuestionnaireBlock:
    """One block (page) with everything its pages and the answer checks need."""

    pk: int
    wave_id: int
    order: int
    perspective: str
    holder_id: int
    subject_id: int
    holder_names: dict[str, str]
    subject_names: dict[str, str]
    is_vignette: bool
    vignette_descriptions: dict[str, str]
    titles: dict[str, str]
    prompts: dict[str, str]
    scale_min: int
    scale_max: int
    low_labels: dict[str, str]
    high_labels: dict[str, str]
    panel_ids: frozenset[int]
    items: tuple[QuestionnaireItem, ...]

    @classmethod
    def from_model(cls, block: Block, texts: TextIndex) -> "QuestionnaireBlock":
        """From a block with ``subject``, ``scale``, ``panels`` and ``items`` at hand
        (``_blocks``) and the texts of it, its actors, scale and roles (``_texts``)."""
        scale = block.scale
        return cls(
            pk=block.pk,
            wave_id=block.wave_id,
            order=block.order,
            perspective=block.perspective,
            holder_id=block.holder_id,
            subject_id=block.subject_id,
            holder_names=texts.get("actor", block.holder_id, "name"),
            subject_names=texts.get("actor", block.subject_id, "name"),
            is_vignette=block.is_vignette,
            vignette_descriptions=(
                texts.get("actor", block.subject_id, "description") if block.is_vignette else {}
            ),
            titles=texts.get("block", block.pk, "title"),
            prompts=texts.get("block", block.pk, "prompt"),
            scale_min=scale.min_value,
            scale_max=scale.max_value,
            low_labels=texts.get("scale", scale.pk, "low_label"),
            high_labels=texts.get("scale", scale.pk, "high_label"),
            panel_ids=frozenset(panel.pk for panel in block.panels.all()),
            items=tuple(
                QuestionnaireItem(
                    pk=item.pk,
                    order=item.order,
                    texts=item.fielded_texts or texts.role_texts(item.role_id),
                )
                for item in block.items.all()
            ),
        )

    @cached_property
    def item_ids(self) -> frozenset[int]:
        return frozenset(item.pk for item in self.items)


@dataclass(frozen=True)
class RowsFragment:
    """A block's rows rendered once in one language: ``pieces`` around ``slots``.

    A slot is ``(name, text)``; ``fill`` writes ``text`` where the request's ``on`` set
    holds ``name`` (a radio input's id, or ``row-<item id>`` for the row's class).
    """

    pieces: tuple[str, ...]
    slots: tuple[tuple[str, str], ...]

    def fill(self, on: set[str], texts: dict[str, SafeString] | None = None) -> SafeString:
        """``texts`` holds per-request HTML for ``fb-<item id>`` slots (Delphi feedback)."""
        texts = texts or {}
        parts = [self.pieces[0]]
        for (name, text), piece in zip(self.slots, self.pieces[1:], strict=True):
            if name in texts:
                parts.append(texts[name])
            elif name in on:
                parts.append(text)
            parts.append(piece)
        return mark_safe("".join(parts))  # pieces rendered by the template engine


@dataclass(frozen=True, eq=False)
class Questionnaire:
    """The blocks a panel answers in a wave, in order, with their items and texts."""

    blocks: tuple[QuestionnaireBlock, ...] = ()
    panel_cities: dict[str, str] = field(default_factory=dict)
    wave_titles: dict[str, str] = field(default_factory=dict)
    introductions: dict[str, str] = field(default_factory=dict)
    fragments: dict[tuple[int, str], RowsFragment] = field(default_factory=dict, repr=False)

    @cached_property
    def orders(self) -> list[int]:
        return [block.order for block in self.blocks]

    @cached_property
    def item_count(self) -> int:
        return sum(len(block.items) for block in self.blocks)

    @cached_property
    def item_ids(self) -> frozenset[int]:
        return frozenset(item.pk for block in self.blocks for item in block.items)

    def block(self, order: int) -> QuestionnaireBlock | None:
        return next((block for block in self.blocks if block.order == order), None)


def _blocks(**where) -> list[Block]:
    """Blocks with their subject, scale, panels and items (three queries)."""
    return list(
        Block.objects.filter(**where)
        .select_related("subject", "scale")
        .prefetch_related("panels", "items")
        .order_by("order")
    )


def _texts(blocks: list[Block], **more: list[int]) -> TextIndex:
    """The texts of the blocks, their actors, scales and roles, and of ``more`` (one query)."""
    return text_index(
        block=[block.pk for block in blocks],
        actor={actor for block in blocks for actor in (block.holder_id, block.subject_id)},
        scale={block.scale_id for block in blocks},
        role={item.role_id for block in blocks for item in block.items.all()},
        **more,
    )


_questionnaires: dict[tuple, tuple[float, Questionnaire]] = {}
_questionnaires_lock = threading.Lock()
_clock = time.monotonic


def questionnaire_load(*, wave_id: int, panel_id: int) -> Questionnaire:
    """The panel's blocks of the wave with everything a page shows, in four queries."""
    blocks = _blocks(wave_id=wave_id, panels=panel_id)
    texts = _texts(blocks, wave=[wave_id], panel=[panel_id])
    return Questionnaire(
        blocks=tuple(QuestionnaireBlock.from_model(block, texts) for block in blocks),
        panel_cities=texts.get("panel", panel_id, "city"),
        wave_titles=texts.get("wave", wave_id, "title"),
        introductions=texts.get("wave", wave_id, "landing"),
    )


def questionnaire_load_block(*, block_id: int) -> QuestionnaireBlock:
    """One block as a questionnaire has it, whichever panels answer it, in four queries."""
    blocks = _blocks(pk=block_id)
    if not blocks:
        raise Block.DoesNotExist(block_id)
    return QuestionnaireBlock.from_model(blocks[0], _texts(blocks))


def questionnaire_get(*, wave: Wave, panel_id: int) -> Questionnaire:
    """The questionnaire of ``panel_id`` in ``wave``, from this process's cache if it is there.

    Only an open wave's questionnaire is kept: its instrument cannot change any more. The
    key has the wave's creation time besides its id, so that a wave made in place of a
    deleted one (SQLite may give it the same id) never meets the old one's entry.
    """
    if wave.status != Wave.Status.OPEN:
        return questionnaire_load(wave_id=wave.pk, panel_id=panel_id)
    key = (wave.pk, wave.created_at, panel_id)
    now = _clock()
    entry = _questionnaires.get(key)
    if entry is not None and entry[0] > now:
        return entry[1]
    questionnaire = questionnaire_load(wave_id=wave.pk, panel_id=panel_id)
    with _questionnaires_lock:
        if len(_questionnaires) >= QUESTIONNAIRE_CACHE_SIZE:
            for stale in [k for k, (expires, _q) in _questionnaires.items() if expires <= now]:
                del _questionnaires[stale]
            while len(_questionnaires) >= QUESTIONNAIRE_CACHE_SIZE:
                del _questionnaires[next(iter(_questionnaires))]
        _questionnaires[key] = (now + QUESTIONNAIRE_CACHE_SECONDS, questionnaire)
    return questionnaire


def questionnaire_cache_clear() -> None:
    """Forget every kept questionnaire (tests that edit texts of an open wave)."""
    with _questionnaires_lock:
        _questionnaires.clear()


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
