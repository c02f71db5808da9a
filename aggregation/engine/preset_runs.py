"""Every preset comparison of a run, from stored cell figures and paired sums."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from aggregation.engine.cells import cell_statistics
from aggregation.engine.columns import (
    ANCHOR_ACTOR,
    COMPARISON_ROLE_COLUMNS,
    PRESET_COMPARISON_COLUMNS,
    validate_ratings,
)
from aggregation.engine.comparisons import profile_summary
from aggregation.engine.presets import PRESETS, Selector
from aggregation.engine.sides import (
    PAIRED_SUM_COLUMNS,
    CellSides,
    is_paired,
    overlap_sides,
    overlapping_from_cells,
    paired_columns,
    paired_sums,
    selector_columns,
    welch_from_cells,
)


def _preset_sides(home_panel: Mapping[str, str]):
    """(preset, subject, left, right) of every preset and subject that ``home_panel`` allows:
    each actor other than ``ANCHOR_ACTOR``, leaving out presets that need a panel missing
    from ``home_panel``."""
    for preset, build in PRESETS.items():
        for subject in home_panel:
            if subject == ANCHOR_ACTOR:
                continue
            try:
                left, right = build(subject, home_panel)
            except ValueError:  # an actor of this preset has no panel of its own
                continue
            yield preset, subject, left, right


def paired_presets(home_panel: Mapping[str, str]) -> list[tuple[Selector, Selector]]:
    """The (left, right) selectors whose ``paired_sums`` the preset comparisons need: those of
    the paired comparisons, and the shared part (``overlap_sides``) of the partially overlapping
    ones. Only these need to know which expert gave which rating; all else comes from cells."""
    pairs = []
    for _, _, left, right in _preset_sides(home_panel):
        if is_paired(left, right):
            pairs.append((left, right))
        elif (overlap := overlap_sides(left, right)) is not None:
            pairs.append(overlap)
    return pairs


def all_preset_comparisons(
    ratings: pd.DataFrame,
    home_panel: Mapping[str, str],
    *,
    cells: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Every preset for every subject, per wave, from the ratings: ``preset_comparisons`` of
    each wave's cells (``cells``, the ``cell_statistics`` of the same ratings, computed here
    when not given) and paired sums. The results equal ``compare()``'s."""
    validate_ratings(ratings)
    if cells is None:
        cells = cell_statistics(ratings)
    frames = []
    for wave in sorted(cells["wave"].astype(str).unique()):
        wave_ratings = ratings.loc[(ratings["wave"].astype(str) == wave).to_numpy()]
        paired = {
            (left, right): paired_sums(wave_ratings, left, right)
            for left, right in paired_presets(home_panel)
        }
        frames.append(preset_comparisons(cells.loc[cells["wave"] == wave], paired, home_panel))
    if not frames:
        return pd.DataFrame(columns=PRESET_COMPARISON_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def preset_comparisons(
    cells: pd.DataFrame,
    paired: Mapping[tuple[Selector, Selector], pd.DataFrame],
    home_panel: Mapping[str, str],
) -> pd.DataFrame:
    """Every preset for every subject of one wave, as one long table.

    For each preset in ``PRESETS`` and each actor X in ``home_panel`` other than
    ``ANCHOR_ACTOR`` (RUS) whose two selectors both have at least one non-missing rating,
    the compare() role rows, prefixed with wave, preset, subject and both selectors
    (``left_panel`` ... ``right_perspective``; a pooled panel is "ALL"). The per-comparison
    summary (``dominant_left``, ``dominant_right``, ``profile_distance``) is repeated on each
    role row of its comparison. Columns ``PRESET_COMPARISON_COLUMNS``.

    Independent (Welch) comparisons come from the cell statistics ``cells`` (the
    ``cell_statistics`` of the wave); paired ones from ``paired``, the ``paired_sums`` of
    each pair of ``paired_presets(home_panel)`` (a pair missing there has no matched
    respondent); partially overlapping ones from both. A preset that needs the panel of an
    actor missing from ``home_panel`` (a wave without a Moscow panel has no ascribed roles)
    is left out.
    """
    if cells.empty:
        return pd.DataFrame(columns=PRESET_COMPARISON_COLUMNS)
    (wave,) = cells["wave"].astype(str).unique()
    cell_sides = CellSides(cells)
    no_pairs = pd.DataFrame(columns=PAIRED_SUM_COLUMNS)
    headers, tables = [], []
    for preset, subject, left, right in _preset_sides(home_panel):
        left_side, right_side = cell_sides.pick(left), cell_sides.pick(right)
        if left_side is None or right_side is None:
            continue
        if is_paired(left, right):
            roles = sorted(set(left_side.role).union(right_side.role), key=str)
            columns = paired_columns(paired.get((left, right), no_pairs), roles)
        elif (overlap := overlap_sides(left, right)) is not None:
            columns = overlapping_from_cells(left_side, right_side, paired.get(overlap, no_pairs))
        else:
            columns = welch_from_cells(left_side, right_side)
        headers.append(
            {
                "wave": wave,
                "preset": preset,
                "subject": subject,
                **selector_columns("left", left),
                **selector_columns("right", right),
                **profile_summary(columns),
            }
        )
        tables.append(columns)
    if not tables:
        return pd.DataFrame(columns=PRESET_COMPARISON_COLUMNS)
    # each comparison's header repeated on its role rows
    repeat = np.repeat(np.arange(len(headers)), [len(table["role"]) for table in tables])
    header_rows = pd.DataFrame(headers).iloc[repeat].reset_index(drop=True)
    roles = pd.DataFrame(
        {
            name: np.concatenate([table[name] for table in tables])
            for name in COMPARISON_ROLE_COLUMNS
        }
    )
    return pd.concat([header_rows, roles], axis=1)[PRESET_COMPARISON_COLUMNS]
