"""The questionnaire of a panel as an expert sees it, read once per process and kept.

Every page of a link needs the panel's blocks, items, the texts of the wave, blocks, actors,
scales and panel, and the fielded role texts. ``questionnaire_get`` reads them once and keeps
them in memory: an open wave's instrument is frozen (``surveys.services
.instrument_assert_editable``; a wave never goes back to draft), so the key is the wave's id
and creation time and the panel. What an admin can still edit while a wave is open, the texts
of actors, scales and panels, shows within ``QUESTIONNAIRE_CACHE_SECONDS``. A block page's
rows are rendered once per block and language (``RowsFragment``) and a request only fills
their slots.
"""

import threading
import time
from dataclasses import dataclass, field
from functools import cached_property

from django.utils.safestring import SafeString, mark_safe

from surveys.models import (
    Block,
    Wave,
)
from surveys.texts.selectors import LocalText, TextIndex, text_index, text_pick

QUESTIONNAIRE_CACHE_SECONDS = 60.0
QUESTIONNAIRE_CACHE_SIZE = 256


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
