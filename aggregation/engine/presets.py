"""Selectors (one side of a comparison) and the named comparisons built of them (presets)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pandas as pd

from aggregation.engine.columns import ANCHOR_ACTOR, PERSPECTIVES


@dataclass(frozen=True)
class Selector:
    """One side of a comparison: a slice of the cube fixed up to the role.

    ``panel`` None pools all panels.
    """

    panel: str | None
    holder: str
    subject: str
    perspective: str

    def __post_init__(self) -> None:
        if self.perspective not in PERSPECTIVES:
            raise ValueError(f"perspective must be one of {PERSPECTIVES}, got {self.perspective}")

    def label(self) -> str:
        """E.g. "expectation RUS→ARM, MOW panel" or "performance ARM, all panels"."""
        actors = self.subject if self.holder == self.subject else f"{self.holder}→{self.subject}"
        where = "all panels" if self.panel is None else f"{self.panel} panel"
        return f"{self.perspective} {actors}, {where}"

    def mask(self, ratings: pd.DataFrame) -> pd.Series:
        """Boolean mask of the ratings this selector picks (all roles)."""
        selected = (
            (ratings["holder"] == self.holder)
            & (ratings["subject"] == self.subject)
            & (ratings["perspective"] == self.perspective)
        )
        if self.panel is not None:
            selected &= ratings["panel"] == self.panel
        return selected


def _home(home_panel: Mapping[str, str], actor: str) -> str:
    try:
        return home_panel[actor]
    except KeyError:
        raise ValueError(f"home_panel has no panel for actor {actor!r}") from None


def ascribed_vs_conceived(subject: str, home_panel: Mapping[str, str]) -> tuple[Selector, Selector]:
    """Left: expectation RUS→X on the Moscow panel; right: conception X on X's panel."""
    return (
        Selector(_home(home_panel, ANCHOR_ACTOR), ANCHOR_ACTOR, subject, "expectation"),
        Selector(_home(home_panel, subject), subject, subject, "conception"),
    )


def conception_vs_performance(
    subject: str, home_panel: Mapping[str, str]
) -> tuple[Selector, Selector]:
    """Left: conception X on X's panel; right: performance X pooled over all panels.

    Performance items are read with holder = subject = X (how X enacts its own role). X's
    panel rated both sides, so the two samples partially overlap (``compare``).
    """
    return (
        Selector(_home(home_panel, subject), subject, subject, "conception"),
        Selector(None, subject, subject, "performance"),
    )


def ego_vs_perceived_alter(
    subject: str, home_panel: Mapping[str, str]
) -> tuple[Selector, Selector]:
    """Left: conception RUS on the Moscow panel; right: expectation X→RUS on the Moscow panel."""
    moscow = _home(home_panel, ANCHOR_ACTOR)
    return (
        Selector(moscow, ANCHOR_ACTOR, ANCHOR_ACTOR, "conception"),
        Selector(moscow, subject, ANCHOR_ACTOR, "expectation"),
    )


def perceived_vs_actual_expectation(
    subject: str, home_panel: Mapping[str, str]
) -> tuple[Selector, Selector]:
    """Left: expectation X→RUS on the Moscow panel; right: the same on X's own panel."""
    return (
        Selector(_home(home_panel, ANCHOR_ACTOR), subject, ANCHOR_ACTOR, "expectation"),
        Selector(_home(home_panel, subject), subject, ANCHOR_ACTOR, "expectation"),
    )


PresetBuilder = Callable[[str, Mapping[str, str]], tuple[Selector, Selector]]


PRESETS: dict[str, PresetBuilder] = {
    "ascribed_vs_conceived": ascribed_vs_conceived,
    "conception_vs_performance": conception_vs_performance,
    "ego_vs_perceived_alter": ego_vs_perceived_alter,
    "perceived_vs_actual_expectation": perceived_vs_actual_expectation,
}


PRESET_LABELS: dict[str, str] = {
    "ascribed_vs_conceived": "Role ascribed by Russia vs role self-conceived",
    "conception_vs_performance": "Role conception vs role performance",
    "ego_vs_perceived_alter": "Russia's ego role vs perceived alter expectation",
    "perceived_vs_actual_expectation": "Expectation as perceived in Moscow vs as held at home",
}
