"""The Aldrich–McKelvey estimator: each expert's ratings mapped to a common scale read off
their vignette placements, then the engine's cell means.

Every expert places the same vignette items (vignette × role); Aldrich–McKelvey scaling of
the experts × items array (``vignettes.aldrich_mckelvey``, incomplete experts included on the
items they rated) gives each expert an intercept c_r and a weight w_r, and each of their
substantive ratings y becomes c_r + w_r · y. One map per expert serves all roles: the
assumption is that an expert's scale use is the same for every role. An expert whose map is not
identified (no, fewer than three, or only identical vignette ratings) or whose weight is not
positive (the scale read backwards, or noise) is left out of the corrected cells and reported.
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
    vignette_anchoring,
)
from aggregation.estimators.vignettes import MIN_PLACEMENTS, aldrich_mckelvey

ITEM_KEYS = ["holder", "subject", "perspective", "role"]
"""A vignette item; the same item in two waves of one run is one stimulus."""


def aldrich_mckelvey_cells(ratings: pd.DataFrame, vignettes: Sequence[str]) -> Estimates:
    """Cell means of the experts' Aldrich–McKelvey-transformed ratings (see the module).

    The vignette item rated lowest on average is put on the left, so a higher estimate means
    a role held more strongly; estimates are reported on the vignette-anchored scale of
    ``cells.vignette_anchoring``. ``details``: the AM ``fit``, the number of vignette items
    and of transformed experts, and ``unidentified_experts`` with a reason each.
    """
    transformed = aldrich_mckelvey_ratings(ratings, vignettes)
    return Estimates(
        cells=means_per_cell(transformed.cells, "corrected"), details=transformed.details
    )


def aldrich_mckelvey_ratings(ratings: pd.DataFrame, vignettes: Sequence[str]) -> Estimates:
    """The substantive ratings of the experts with an identified map, each with its
    transformed value ``corrected`` = A + B · (c_r + w_r · y) on the vignette-anchored scale
    (``cells.vignette_anchoring``: an increasing affine map, so cell means and t intervals of
    ``corrected`` are those of ``aldrich_mckelvey_cells``). ``cells`` holds these rating rows
    (``cells.observed`` columns plus ``corrected``); ``details`` as there.
    """
    frame = observed(ratings)
    vignette_rows = is_vignette(frame, vignettes)
    if not vignette_rows.any():
        raise ValueError("the Aldrich–McKelvey estimator needs ratings of vignettes")
    placements = frame[vignette_rows].pivot_table(
        index=EXPERT_KEYS, columns=ITEM_KEYS, values="value", aggfunc="mean"
    )
    raw_means = placements.mean(axis=0).to_numpy()
    result = aldrich_mckelvey(
        placements.to_numpy(), polarity=int(np.nanargmin(raw_means)), use_incomplete=True
    )
    experts = placements.index.to_frame(index=False)
    experts["intercept"] = result.intercepts
    experts["weight"] = result.weights
    experts["reason"] = _reasons(placements.to_numpy(), result.weights)

    all_experts = frame[EXPERT_KEYS].drop_duplicates()
    missing = all_experts.merge(experts[EXPERT_KEYS], how="left", indicator=True)
    unrated = missing.loc[missing["_merge"] == "left_only", EXPERT_KEYS].assign(
        reason="no vignette ratings"
    )
    unidentified = pd.concat(
        [experts.loc[experts["reason"] != "", [*EXPERT_KEYS, "reason"]], unrated],
        ignore_index=True,
    )

    transformed = frame[~vignette_rows].merge(
        experts.loc[experts["reason"] == "", [*EXPERT_KEYS, "intercept", "weight"]],
        on=EXPERT_KEYS,
    )
    transformed["corrected"] = (
        transformed["intercept"] + transformed["weight"] * transformed["value"]
    )
    targets = result.stimuli * result.n_used / (result.n_used + result.eigenvalues[-2])
    offset, slope = vignette_anchoring(targets, raw_means)
    transformed["corrected"] = offset + slope * transformed["corrected"]
    return Estimates(
        cells=transformed,
        details={
            "fit": result.fit,
            "vignette_items": int(placements.shape[1]),
            "experts_transformed": int((experts["reason"] == "").sum()),
            "unidentified_experts": unidentified.to_dict("records"),
        },
    )


def _reasons(placements: np.ndarray, weights: np.ndarray) -> list[str]:
    """Why an expert's map is not used ("" when it is)."""
    count = (~np.isnan(placements)).sum(axis=1)
    reasons = []
    for placed, weight in zip(count, weights, strict=True):
        if placed < MIN_PLACEMENTS:
            reasons.append(f"fewer than {MIN_PLACEMENTS} vignette ratings")
        elif np.isnan(weight):
            reasons.append("all vignette ratings alike")
        elif weight <= 0:
            reasons.append("weight not positive")
        else:
            reasons.append("")
    return reasons
