"""The fast preset table (Welch from cell summaries) equals compare() on the ratings."""

import numpy as np
import pandas as pd
import pytest

from aggregation import engine

HOME = {"RUS": "MOW", "ARM": "YER", "KAZ": "AST"}
ROLES = ["protectee", "independent", "faithful_ally", "regional_leader"]


def synthetic_ratings(seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    views = [
        ("RUS", "RUS", "conception", ["MOW"]),
        ("RUS", "RUS", "performance", ["MOW", "YER", "AST"]),
        *[
            view
            for ally in ("ARM", "KAZ")
            for view in (
                ("RUS", ally, "expectation", ["MOW", HOME[ally]]),
                (ally, ally, "conception", [HOME[ally]]),
                (ally, ally, "performance", ["MOW", HOME[ally]]),
                (ally, "RUS", "expectation", ["MOW", HOME[ally]]),
            )
        ],
    ]
    rows = []
    for panel in ("MOW", "YER", "AST"):
        for expert in range(int(rng.integers(3, 9))):
            for block, (holder, subject, perspective, panels) in enumerate(views):
                if panel not in panels:
                    continue
                for role in ROLES:
                    cannot = rng.random() < 0.1
                    rows.append(
                        {
                            "wave": "w",
                            "panel": panel,
                            "respondent": f"{panel}-{expert}",
                            "block": block,
                            "holder": holder,
                            "subject": subject,
                            "perspective": perspective,
                            "role": role,
                            "value": np.nan if cannot else float(rng.integers(0, 11)),
                            "cannot_judge": cannot,
                            "confidence": float(rng.integers(1, 6)),
                            "scale_points": 11,
                        }
                    )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_preset_table_equals_compare(seed):
    ratings = synthetic_ratings(seed)
    table = engine.all_preset_comparisons(ratings, HOME)
    assert set(table["preset"]) == set(engine.PRESETS)
    for (preset, subject), rows in table.groupby(["preset", "subject"]):
        left, right = engine.PRESETS[preset](subject, HOME)
        expected = engine.compare(ratings, left, right)
        got = rows[engine.COMPARISON_ROLE_COLUMNS].reset_index(drop=True)
        pd.testing.assert_frame_equal(
            got, expected.roles.reset_index(drop=True), check_dtype=False, rtol=1e-12
        )
        assert rows["dominant_left"].iloc[0] == expected.dominant_left
        assert rows["dominant_right"].iloc[0] == expected.dominant_right
        assert rows["profile_distance"].iloc[0] == pytest.approx(expected.profile_distance)
