"""Reads of the expert questionnaire: finished page contexts for the templates.

The templates only loop and test flags; every text is picked in the page's language here
(typology and actor names through ``text_in_language``: the language, then Russian, then
English) and every choice of the form carries its own id, label and checked state.
"""

import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Prefetch
from django.utils.translation import get_language_info, gettext, ngettext

from surveys.models import (
    CONFIDENCE_MAX,
    CONFIDENCE_MIN,
    Block,
    BlockComment,
    Invitation,
    Item,
    Perspective,
    Rating,
    Response,
    Scale,
    text_in_language,
)

CANNOT_JUDGE = "cj"
SECONDS_PER_ITEM = 12


@dataclass(frozen=True)
class Choice:
    """One radio button: its value, id, visible label and an optional hidden hint."""

    value: str
    input_id: str
    label: str
    checked: bool
    hint: str = ""


@dataclass(frozen=True)
class Row:
    """One role of a block page: a fieldset with the scale and the optional confidence."""

    item_id: int
    name: str
    definition: str
    value_field: str
    confidence_field: str
    value_choices: list[Choice]
    cannot_judge: Choice
    confidence_choices: list[Choice]
    is_answered: bool


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
    prompt: str
    instruction: str
    low_label: str
    high_label: str
    confidence_low_label: str
    confidence_high_label: str
    rows: list[Row]
    comment: str
    previous_order: int | None
    next_order: int | None
    progress: Progress


@dataclass(frozen=True)
class ReviewBlock:
    order: int
    title: str
    answered: int
    total: int
    missing: list[str]
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
    wave_title: str
    panel_city: str
    block_count: int
    item_count: int
    size_text: str
    is_synthetic: bool
    first_order: int | None


@dataclass(frozen=True)
class LanguageOption:
    code: str
    name: str
    selected: bool


@dataclass
class Questionnaire:
    """The blocks a response's panel answers, in order, with their items and roles."""

    blocks: list[Block] = field(default_factory=list)

    @property
    def orders(self) -> list[int]:
        return [block.order for block in self.blocks]

    def block(self, order: int) -> Block | None:
        return next((block for block in self.blocks if block.order == order), None)


# Texts in a language -----------------------------------------------------------------------


def actor_names(block: Block, language: str) -> dict[str, str]:
    return {
        "holder": block.holder.name_in(language),
        "subject": block.subject.name_in(language),
    }


def block_title(block: Block, language: str) -> str:
    """A short heading for a block, with actor names in the nominative only."""
    names = actor_names(block, language)
    if block.perspective == Perspective.CONCEPTION:
        return gettext("How %(subject)s sees its own roles") % names
    if block.perspective == Perspective.EXPECTATION:
        return gettext("Expectations: %(holder)s → %(subject)s") % names
    return gettext("How %(subject)s actually acts") % names


def block_prompt(block: Block, language: str) -> str:
    """The block's own prompt in the language, else the standard one of its perspective.

    The standard wordings keep every actor name as a grammatical subject, so that Russian
    needs no case endings: «В какой мере Армения видит себя …».
    """
    custom = text_in_language({"en": block.prompt_en, "ru": block.prompt_ru}, language)
    if custom:
        return custom
    names = actor_names(block, language)
    if block.perspective == Perspective.CONCEPTION:
        return gettext("How strongly does %(subject)s see itself in each of these roles?") % names
    if block.perspective == Perspective.EXPECTATION:
        return (
            gettext(
                "How strongly does %(holder)s expect that %(subject)s will play each of "
                "these roles?"
            )
            % names
        )
    if block.holder_id != block.subject_id:
        return (
            gettext(
                "As %(holder)s sees it: how strongly does %(subject)s actually play each of "
                "these roles in its foreign policy?"
            )
            % names
        )
    return (
        gettext(
            "How strongly does %(subject)s actually play each of these roles in its foreign policy?"
        )
        % names
    )


def scale_labels(scale: Scale, language: str) -> tuple[str, str]:
    low = text_in_language({"en": scale.low_label_en, "ru": scale.low_label_ru}, language)
    high = text_in_language({"en": scale.high_label_en, "ru": scale.high_label_ru}, language)
    return low, high


def item_texts(item: Item, language: str) -> tuple[str, str]:
    """The role's name and definition as fielded, in the language or its fallbacks."""
    texts = item.role_texts()
    name = text_in_language({code: text.get("name", "") for code, text in texts.items()}, language)
    definition = text_in_language(
        {code: text.get("definition", "") for code, text in texts.items()}, language
    )
    return name, definition


def language_options(*, current: str) -> list[LanguageOption]:
    """The survey's languages, each named in itself, for the switcher on every page."""
    options = []
    for code, _name in settings.LANGUAGES:
        name = get_language_info(code)["name_local"]
        options.append(
            LanguageOption(code=code, name=name[:1].upper() + name[1:], selected=code == current)
        )
    return options


# The questionnaire of a response -----------------------------------------------------------


def questionnaire_get(*, wave_id: int, panel_id: int) -> Questionnaire:
    """The panel's blocks of the wave with everything a page shows, in two queries."""
    blocks = (
        Block.objects.filter(wave_id=wave_id, panels=panel_id)
        .select_related("holder", "subject", "scale")
        .prefetch_related(Prefetch("items", queryset=Item.objects.select_related("role")))
        .order_by("order")
    )
    return Questionnaire(blocks=list(blocks))


def response_for_invitation(*, invitation: Invitation) -> Response | None:
    return Response.objects.filter(invitation=invitation).first()


def _answered_by_block(*, response: Response) -> dict[int, int]:
    rows = (
        Rating.objects.filter(response=response)
        .values("item__block_id")
        .annotate(n=Count("id"))
        .values_list("item__block_id", "n")
    )
    return dict(rows)


def response_progress(*, response: Response, questionnaire: Questionnaire) -> Progress:
    """Answered items (a value or *cannot judge*) out of all items of the panel's blocks."""
    block_ids = [block.pk for block in questionnaire.blocks]
    answered = Rating.objects.filter(response=response, item__block_id__in=block_ids).count()
    total = sum(len(block.items.all()) for block in questionnaire.blocks)
    return Progress(answered=answered, total=total)


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
    answered = _answered_by_block(response=response).get(block.pk, 0)
    if answered < len(block.items.all()):
        return block.order
    return blocks[position + 1].order if position + 1 < len(blocks) else None


def landing_page(*, invitation: Invitation, language: str) -> LandingPage:
    questionnaire = questionnaire_get(
        wave_id=invitation.wave_id, panel_id=invitation.expert.panel_id
    )
    panel = invitation.expert.panel
    block_count = len(questionnaire.blocks)
    item_count = sum(len(block.items.all()) for block in questionnaire.blocks)
    minutes = max(1, math.ceil(item_count * SECONDS_PER_ITEM / 60))
    pages = ngettext("%(count)s page", "%(count)s pages", block_count) % {"count": block_count}
    questions = ngettext("%(count)s question", "%(count)s questions", item_count) % {
        "count": item_count
    }
    duration = ngettext("about %(count)s minute", "about %(count)s minutes", minutes) % {
        "count": minutes
    }
    return LandingPage(
        wave_title=invitation.wave.title,
        panel_city=text_in_language({"en": panel.city_en, "ru": panel.city_ru}, language),
        block_count=block_count,
        item_count=item_count,
        size_text=gettext("%(pages)s, %(questions)s, %(duration)s.")
        % {"pages": pages, "questions": questions, "duration": duration},
        is_synthetic=invitation.wave.is_synthetic,
        first_order=questionnaire.blocks[0].order if questionnaire.blocks else None,
    )


def _value_choices(*, item_id: int, scale: Scale, rating: Rating | None, low: str, high: str):
    field_name = f"v-{item_id}"
    choices = []
    for value in range(scale.min_value, scale.max_value + 1):
        hint = low if value == scale.min_value else high if value == scale.max_value else ""
        choices.append(
            Choice(
                value=str(value),
                input_id=f"{field_name}-{value}",
                label=str(value),
                hint=hint,
                checked=rating is not None and rating.value == value,
            )
        )
    cannot_judge = Choice(
        value=CANNOT_JUDGE,
        input_id=f"{field_name}-{CANNOT_JUDGE}",
        label=gettext("Cannot judge"),
        checked=rating is not None and rating.cannot_judge,
    )
    return choices, cannot_judge


def confidence_labels() -> tuple[str, str]:
    return gettext("not sure"), gettext("very sure")


def _confidence_choices(*, item_id: int, rating: Rating | None) -> list[Choice]:
    field_name = f"c-{item_id}"
    current = rating.confidence if rating is not None else None
    low, high = confidence_labels()
    choices = [
        Choice(
            value="",
            input_id=f"{field_name}-none",
            label="–",
            hint=gettext("not stated"),
            checked=current is None,
        )
    ]
    for value in range(CONFIDENCE_MIN, CONFIDENCE_MAX + 1):
        hint = low if value == CONFIDENCE_MIN else high if value == CONFIDENCE_MAX else ""
        choices.append(
            Choice(
                value=str(value),
                input_id=f"{field_name}-{value}",
                label=str(value),
                hint=hint,
                checked=current == value,
            )
        )
    return choices


def block_page(
    *, response: Response, questionnaire: Questionnaire, order: int, language: str
) -> BlockPage | None:
    """Everything a block page shows, in ``language``; None if the panel has no such block."""
    block = questionnaire.block(order)
    if block is None:
        return None
    orders = questionnaire.orders
    position = orders.index(order)
    ratings = {
        rating.item_id: rating
        for rating in Rating.objects.filter(response=response, item__block=block)
    }
    comment = (
        BlockComment.objects.filter(response=response, block=block)
        .values_list("text", flat=True)
        .first()
    )
    low, high = scale_labels(block.scale, language)
    confidence_low, confidence_high = confidence_labels()
    rows = []
    for item in block.items.all():
        name, definition = item_texts(item, language)
        rating = ratings.get(item.pk)
        value_choices, cannot_judge = _value_choices(
            item_id=item.pk, scale=block.scale, rating=rating, low=low, high=high
        )
        rows.append(
            Row(
                item_id=item.pk,
                name=name,
                definition=definition,
                value_field=f"v-{item.pk}",
                confidence_field=f"c-{item.pk}",
                value_choices=value_choices,
                cannot_judge=cannot_judge,
                confidence_choices=_confidence_choices(item_id=item.pk, rating=rating),
                is_answered=rating is not None,
            )
        )
    return BlockPage(
        block_id=block.pk,
        order=order,
        position=position + 1,
        count=len(orders),
        position_text=gettext("Page %(position)s of %(count)s")
        % {"position": position + 1, "count": len(orders)},
        title=block_title(block, language),
        prompt=block_prompt(block, language),
        instruction=gettext(
            "Rate each role from %(min)s (%(low)s) to %(max)s (%(high)s). Choose “cannot "
            "judge” when you have no basis for a rating: it is not counted as %(min)s."
        )
        % {
            "min": block.scale.min_value,
            "max": block.scale.max_value,
            "low": low,
            "high": high,
        },
        low_label=low,
        high_label=high,
        confidence_low_label=f"{CONFIDENCE_MIN} = {confidence_low}",
        confidence_high_label=f"{CONFIDENCE_MAX} = {confidence_high}",
        rows=rows,
        comment=comment or "",
        previous_order=orders[position - 1] if position > 0 else None,
        next_order=orders[position + 1] if position + 1 < len(orders) else None,
        progress=response_progress(response=response, questionnaire=questionnaire),
    )


def review_page(*, response: Response, questionnaire: Questionnaire, language: str) -> ReviewPage:
    """Per block: how many rows are answered and the names of the roles still missing."""
    answered_items = set(
        Rating.objects.filter(
            response=response, item__block_id__in=[block.pk for block in questionnaire.blocks]
        ).values_list("item_id", flat=True)
    )
    blocks = []
    for block in questionnaire.blocks:
        items = list(block.items.all())
        missing = [item_texts(item, language)[0] for item in items if item.pk not in answered_items]
        answered = len(items) - len(missing)
        blocks.append(
            ReviewBlock(
                order=block.order,
                title=block_title(block, language),
                answered=answered,
                total=len(items),
                missing=missing,
                status_text=gettext("%(answered)s of %(total)s answered")
                % {"answered": answered, "total": len(items)},
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
