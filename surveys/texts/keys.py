"""The texts a wave's instrument has, each under a key that names it in translators' files.

Keys are readable and stable within an installation: ``wave.title``, ``wave.landing``,
``block.<order>.title``, ``block.<order>.prompt``, ``actor.<code>.name``,
``actor.<code>.description`` (a vignette's: the hypothetical case the experts read),
``role.<code>.name``, ``role.<code>.definition``, ``panel.<code>.city``,
``scale.<id>.low_label`` and ``scale.<id>.high_label`` (a scale's name may hold characters
that an XLIFF id may not, so a scale is keyed by its id).
"""

from dataclasses import dataclass

from django.utils.translation import gettext as _

from surveys.models import (
    OPTIONAL_TEXTS,
    TEXT_FIELDS,
    VIGNETTE_TEXTS,
    Actor,
    Block,
    InstrumentText,
    Wave,
)

# The placeholders a block's own title and prompt may use: the actors' names in the page's
# language. No other text has placeholders.
BLOCK_PLACEHOLDERS = frozenset({"{holder}", "{subject}"})


@dataclass(frozen=True)
class TextSlot:
    """One text of an instrument, in no particular language."""

    key: str
    owner: str
    owner_id: int
    field: str
    label: str

    @property
    def optional(self) -> bool:
        return (self.owner, self.field) in OPTIONAL_TEXTS

    @property
    def placeholders(self) -> frozenset[str]:
        """The placeholders the text may contain."""
        return BLOCK_PLACEHOLDERS if self.owner == "block" else frozenset()

    @property
    def owner_filter(self) -> dict[str, int]:
        return {f"{self.owner}_id": self.owner_id}


def _field_label(field: str) -> str:
    return str(InstrumentText.Field(field).label)


def _slots(
    owner: str, owner_id: int, key: str, label: str, *, vignette: bool = False
) -> list[TextSlot]:
    """The slots of one owner: its fields, and a vignette's own texts if it is one."""
    return [
        TextSlot(
            key=f"{key}.{field}",
            owner=owner,
            owner_id=owner_id,
            field=field,
            label=f"{label}: {_field_label(field)}",
        )
        for field in TEXT_FIELDS[owner]
        if vignette or (owner, field) not in VIGNETTE_TEXTS
    ]


def wave_blocks(*, wave: Wave):
    """The wave's blocks with what their texts need, in order (four queries)."""
    return (
        Block.objects.filter(wave=wave)
        .select_related("holder", "subject", "scale")
        .prefetch_related("panels", "items__role")
        .order_by("order")
    )


def wave_text_slots(*, wave: Wave) -> list[TextSlot]:
    """Every text of the wave's instrument: the wave's own, its blocks', then those of the
    actors, roles, panels and scales it uses, each once (four queries)."""
    slots = _slots("wave", wave.pk, "wave", _("the wave"))
    actors, roles, panels, scales = {}, {}, {}, {}
    for block in wave_blocks(wave=wave):
        view = f"{block.holder.code}→{block.subject.code} {block.perspective}"
        label = _("block %(order)s (%(view)s)") % {"order": block.order, "view": view}
        slots += _slots("block", block.pk, f"block.{block.order}", label)
        for actor in (block.holder, block.subject):
            actors.setdefault(actor.pk, actor)
        for item in block.items.all():
            roles.setdefault(item.role.pk, item.role)
        for panel in block.panels.all():
            panels.setdefault(panel.pk, panel)
        scales.setdefault(block.scale.pk, block.scale)
    for actor in sorted(actors.values(), key=lambda actor: (actor.order, actor.code)):
        vignette = actor.kind == Actor.Kind.VIGNETTE
        label = (_("vignette %s") if vignette else _("actor %s")) % actor.code
        slots += _slots("actor", actor.pk, f"actor.{actor.code}", label, vignette=vignette)
    for role in sorted(roles.values(), key=lambda role: (role.order, role.code)):
        slots += _slots("role", role.pk, f"role.{role.code}", _("role %s") % role.code)
    for panel in sorted(panels.values(), key=lambda panel: panel.code):
        slots += _slots("panel", panel.pk, f"panel.{panel.code}", _("panel %s") % panel.code)
    for scale in sorted(scales.values(), key=lambda scale: scale.pk):
        slots += _slots("scale", scale.pk, f"scale.{scale.pk}", _("scale “%s”") % scale.name)
    return slots
