"""The nonparametric vignette estimator: each rating recoded to its C-score.

King, Murray, Salomon & Tandon (2004) and King & Wand (2007): a rating's position among the
same expert's ratings of the vignettes on the same role (``vignettes.c_scores``) needs no
model of scale use at all, only the order of the vignettes. The order is the one the whole
sample gives them on that role (their mean ratings, lowest first), the choice King & Wand
discuss when the researcher states none. A rating whose C is an interval (ties or an order
violation in that expert's vignette ratings) counts with the interval's midpoint, the mean
of the positions it allows. A cell's estimate is the mean C with its t interval, on the scale
1 … 2J + 1 for J vignettes; ratings of an expert who left a vignette of that role unrated
are left out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from aggregation.estimators.cells import (
    EXPERT_KEYS,
    Estimates,
    is_vignette,
    means_per_cell,
    observed,
)
from aggregation.estimators.vignettes import c_scores


def c_score_cells(ratings: pd.DataFrame, vignettes: Sequence[str]) -> Estimates:
    """Per-cell mean C-scores (see the module). ``details``: the vignette order per role and
    the number of ratings left out (an unrated vignette, or no vignette on the role)."""
    scored = c_score_ratings(ratings, vignettes)
    return Estimates(cells=means_per_cell(scored.cells, "c_score"), details=scored.details)


def c_score_ratings(ratings: pd.DataFrame, vignettes: Sequence[str]) -> Estimates:
    """The substantive ratings that have a C-score, each with it (column ``c_score``, the
    midpoint of its interval); ``cells`` holds these rating rows, ``details`` as in
    ``c_score_cells``."""
    frame = observed(ratings)
    vignette_rows = is_vignette(frame, vignettes)
    if not vignette_rows.any():
        raise ValueError("the C-score estimator needs ratings of vignettes")
    placed = frame[vignette_rows]
    order = (
        placed.groupby(["role", "subject"])["value"]
        .mean()
        .reset_index()
        .sort_values(["role", "value"])
    )
    by_role = order.groupby("role")["subject"].apply(list).to_dict()
    substantive = frame[~vignette_rows]
    dropped = int((~substantive["role"].isin(list(by_role))).sum())  # no vignette on the role
    parts = []
    for role, codes in by_role.items():
        grid = placed[placed["role"] == role].pivot_table(
            index=EXPERT_KEYS, columns="subject", values="value", aggfunc="mean"
        )
        grid = grid.reindex(columns=codes)
        rows = substantive[substantive["role"] == role]
        vignette_values = grid.reindex(pd.MultiIndex.from_frame(rows[EXPERT_KEYS])).to_numpy()
        scores = c_scores(rows["value"].to_numpy(), vignette_values)
        midpoint = ((scores["Cs"] + scores["Ce"]) / 2).to_numpy()
        dropped += int(np.isnan(midpoint).sum())
        parts.append(rows.assign(c_score=midpoint)[~np.isnan(midpoint)])
    scored = pd.concat(parts, ignore_index=True) if parts else substantive.assign(c_score=[])
    return Estimates(
        cells=scored,
        details={"vignette_order": by_role, "ratings_without_c_score": dropped},
    )
