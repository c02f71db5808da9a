"""How the sides of a comparison are named on the report pages (presets and the overview)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the dataclasses only; this module never touches the database
    from aggregation.selectors import (
        ActorPlace,
        StoredComparison,
    )


@dataclass(frozen=True)
class Side:
    """How one side of a comparison is named: ``short`` for legends, ``long`` for headings."""

    short: str
    long: str


# preset → (left, right) as (short, long) templates; {subject}, {left_city}, {right_city}
PRESET_SIDES: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "ascribed_vs_conceived": (
        ("Ascribed ({left_city})", "ascribed to {subject} by Russia ({left_city} panel)"),
        ("Self-conceived ({right_city})", "self-conceived by {subject} ({right_city} panel)"),
    ),
    "conception_vs_performance": (
        ("Conception ({left_city})", "{subject}'s role conception ({left_city} panel)"),
        ("Performance (all panels)", "{subject}'s role performance (all panels)"),
    ),
    "ego_vs_perceived_alter": (
        ("Russia's ego ({left_city})", "Russia's ego role conception ({left_city} panel)"),
        (
            "Perceived alter ({right_city})",
            "what {subject} expects of Russia, as perceived in {right_city}",
        ),
    ),
    "perceived_vs_actual_expectation": (
        (
            "Perceived in {left_city}",
            "{subject}'s expectation of Russia as perceived in {left_city}",
        ),
        ("Held in {right_city}", "{subject}'s expectation of Russia as held in {right_city}"),
    ),
}


def _label_panel(label: str) -> str | None:
    """The panel code of a stored side label such as "expectation RUS→ARM (MOW)"."""
    if label.endswith(")") and "(" in label:
        code = label.rsplit("(", 1)[1][:-1]
        return None if code == "ALL" else code
    return None


def preset_sides(
    comparison: StoredComparison, places: Mapping[str, ActorPlace]
) -> tuple[Side, Side]:
    """Readable names of both sides, e.g. "Ascribed (Moscow)" and "Self-conceived (Yerevan)".

    The cities come from the panel codes in the stored labels; a preset without wording here
    falls back to the stored labels.
    """
    templates = PRESET_SIDES.get(comparison.preset)
    if templates is None:
        return (
            Side(comparison.left_label, comparison.left_label),
            Side(comparison.right_label, comparison.right_label),
        )
    cities = {place.panel: place.city for place in places.values() if place.panel}
    left_panel = _label_panel(comparison.left_label)
    right_panel = _label_panel(comparison.right_label)
    values = {
        "subject": comparison.subject_name,
        "left_city": cities.get(left_panel, left_panel or "all panels"),
        "right_city": cities.get(right_panel, right_panel or "all panels"),
    }
    (left_short, left_long), (right_short, right_long) = templates
    return (
        Side(left_short.format(**values), left_long.format(**values)),
        Side(right_short.format(**values), right_long.format(**values)),
    )


def overview_sides(
    comparisons: Sequence[StoredComparison], places: Mapping[str, ActorPlace]
) -> tuple[Side, Side] | None:
    """Both sides' names for a table of many actors: "the actor" for the subject, and
    "home" for a city that differs from one actor to the next."""
    if not comparisons:
        return None
    named = [preset_sides(comparison, places) for comparison in comparisons]
    generic = replace(comparisons[0], subject_name="the actor")
    cities = {place.panel: place.city for place in places.values() if place.panel}
    sides = []
    for position, label_of in enumerate(("left_label", "right_label")):
        panels = {_label_panel(getattr(comparison, label_of)) for comparison in comparisons}
        if len({side[position].long for side in named}) == 1:
            sides.append(named[0][position])
            continue
        templates = PRESET_SIDES.get(comparisons[0].preset)
        if templates is None or len(panels) == 1:
            sides.append(preset_sides(generic, places)[position])
            continue
        short, long = templates[position]
        values = {"subject": "the actor", "left_city": "home", "right_city": "home"}
        other = "right_city" if position == 0 else "left_city"
        other_panel = _label_panel(getattr(comparisons[0], ("right_label", "left_label")[position]))
        values[other] = cities.get(other_panel, "all panels")
        sides.append(Side(short.format(**values), long.format(**values)))
    return sides[0], sides[1]
