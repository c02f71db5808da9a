"""Synthetic waves with a planted truth and strong differential item functioning.

The recovery tests and ``bench.irt`` draw their data here. A wave has the demo's shape: five
capital panels, 15 experts each (``size`` multiplies the experts), the demo's blocks (Russia's
conception and performance, what Moscow ascribes to each ally, the ally's conception and
performance, what the ally expects of Russia) and a vignette block that every panel rates: the
same hypothetical actors on the same roles, perspective ``performance``.

The planted truth lives on a common 0–10 scale. An expert perceives it through their panel's
and their own scale use (shift and stretch around the scale's midpoint) plus noise:

    y* = 5 + a_panel + a_expert + b_panel · b_expert · (truth − 5) + e,   e ~ N(0, s_expert²)

and answers ``round(y*)`` clipped to 0–10; a few answers are *cannot judge*. The vignettes'
truth is the same for every panel, so their ratings show each expert's scale use.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from aggregation.engine import CELL_KEYS, RATINGS_COLUMNS

WAVE = "sim"
HOME_PANEL = {"RUS": "MOW", "KAZ": "AST", "ARM": "YER", "KGZ": "BIS", "TJK": "DYU"}
ALLIES = ("KAZ", "ARM", "KGZ", "TJK")
ROLES = tuple(f"role_{index:02d}" for index in range(1, 11))
RUSSIA_ROLES = (*ROLES, "role_11", "role_12")
VIGNETTES = ("VIG1", "VIG2", "VIG3", "VIG4")
VIGNETTE_LEVELS = (1.5, 4.0, 6.0, 8.5)
"""The vignettes' planted level on the common scale, the same on every role up to a small
role-specific jitter: from a state that plainly does not hold a role to one that plainly does."""

PANEL_SHIFT = {"MOW": 1.6, "AST": -0.6, "YER": -1.8, "BIS": 0.6, "DYU": 1.0}
PANEL_STRETCH = {"MOW": 1.25, "AST": 0.8, "YER": 0.7, "BIS": 1.1, "DYU": 0.6}
EXPERT_SHIFT_SD = 0.6
EXPERT_STRETCH_SD = 0.2
"""SD of log b_expert."""
NOISE_SD_RANGE = (0.6, 1.4)
CANNOT_JUDGE_SHARE = 0.03
SCALE_POINTS = 11


@dataclass(frozen=True)
class SyntheticWave:
    """A simulated wave: the ratings frame (``RATINGS_COLUMNS``), the vignette codes, the
    planted truth per per-panel cell (``CELL_KEYS`` + ``truth``) and each actor's home panel."""

    ratings: pd.DataFrame = field(repr=False)
    vignettes: tuple[str, ...]
    truth: pd.DataFrame = field(repr=False)
    home_panel: dict[str, str]


def instrument_blocks() -> list[tuple[str, str, str, tuple[str, ...], list[str]]]:
    """(holder, subject, perspective, roles, panels) of the demo's blocks plus the vignettes."""
    panels = list(PANEL_SHIFT)
    blocks = [
        ("RUS", "RUS", "conception", RUSSIA_ROLES, ["MOW"]),
        ("RUS", "RUS", "performance", RUSSIA_ROLES, panels),
        ("CSTO", "RUS", "expectation", ROLES, ["MOW"]),
    ]
    for ally in ALLIES:
        both = ["MOW", HOME_PANEL[ally]]
        blocks += [
            ("RUS", ally, "expectation", ROLES, both),
            (ally, ally, "conception", ROLES, [HOME_PANEL[ally]]),
            (ally, ally, "performance", ROLES, both),
            (ally, "RUS", "expectation", ROLES, both),
        ]
    blocks += [(vignette, vignette, "performance", ROLES, panels) for vignette in VIGNETTES]
    return blocks


def synthetic_wave(*, size: int = 1, seed: int = 0) -> SyntheticWave:
    """A wave of the demo's shape with ``15 · size`` experts per panel (see the module)."""
    rng = np.random.default_rng(seed)
    blocks = instrument_blocks()
    truth = _planted_truth(blocks, rng)
    rows = []
    for panel in PANEL_SHIFT:
        for number in range(15 * size):
            shift = PANEL_SHIFT[panel] + rng.normal(0.0, EXPERT_SHIFT_SD)
            stretch = PANEL_STRETCH[panel] * np.exp(rng.normal(0.0, EXPERT_STRETCH_SD))
            noise_sd = rng.uniform(*NOISE_SD_RANGE)
            respondent = f"{panel}-{number:03d}"
            for block, (holder, subject, perspective, roles, panels) in enumerate(blocks):
                if panel not in panels:
                    continue
                for role in roles:
                    level = truth[(panel, holder, subject, perspective, role)]
                    latent = 5 + shift + stretch * (level - 5) + rng.normal(0.0, noise_sd)
                    cannot_judge = bool(rng.random() < CANNOT_JUDGE_SHARE)
                    value = np.nan if cannot_judge else float(np.clip(np.rint(latent), 0, 10))
                    rows.append(
                        (WAVE, panel, respondent, block, holder, subject, perspective, role,
                         value, cannot_judge, float(rng.integers(1, 6)), SCALE_POINTS)
                    )  # fmt: skip
    ratings = pd.DataFrame.from_records(rows, columns=RATINGS_COLUMNS)
    truth_frame = pd.DataFrame(
        [(WAVE, *key, level) for key, level in truth.items() if key[1] not in VIGNETTES],
        columns=[*CELL_KEYS, "truth"],
    )
    return SyntheticWave(ratings, VIGNETTES, truth_frame, dict(HOME_PANEL))


def _planted_truth(blocks, rng: np.random.Generator) -> dict[tuple[str, ...], float]:
    """The true level of every (panel, holder, subject, perspective, role) cell.

    Substantive items get a level uniform on 1–9 per item and a panel-specific deviation
    (panels perceive the same item differently); vignettes get their level on every panel.
    """
    truth = {}
    for holder, subject, perspective, roles, panels in blocks:
        for role in roles:
            if holder in VIGNETTES:
                jitter = rng.normal(0.0, 0.4)
                level = VIGNETTE_LEVELS[VIGNETTES.index(holder)] + jitter
                truth.update({(p, holder, subject, perspective, role): level for p in panels})
                continue
            level = rng.uniform(1.0, 9.0)
            for panel in panels:
                deviation = rng.normal(0.0, 0.8) if len(panels) > 1 else 0.0
                truth[(panel, holder, subject, perspective, role)] = float(
                    np.clip(level + deviation, 0.5, 9.5)
                )
    return truth


def ascribed_vs_conceived_truth(wave: SyntheticWave) -> pd.DataFrame:
    """The planted differences expectation RUS→X (Moscow) − conception X (X's panel) per ally
    and role: columns ``subject``, ``role``, ``diff``."""
    truth = wave.truth.set_index(["panel", "holder", "subject", "perspective", "role"])["truth"]
    rows = []
    for ally in ALLIES:
        for role in ROLES:
            left = truth[("MOW", "RUS", ally, "expectation", role)]
            right = truth[(wave.home_panel[ally], ally, ally, "conception", role)]
            rows.append((ally, role, left - right))
    return pd.DataFrame(rows, columns=["subject", "role", "diff"])
