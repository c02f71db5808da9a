"""Engine frames as rows of the result tables: the codes' database ids, one tuple per row in
the order of each table's fields, and one bulk insert per table.

The aggregation services (``aggregation.services``, ``estimator_services``,
``saved_comparisons``) write every result through these, so a cell, a comparison or a
reliability row has the same shape whichever computed it.
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection

from aggregation import engine
from aggregation.models import (
    AggregationRun,
)
from surveys.models import Actor, Panel, Role


@dataclass(frozen=True)
class CodeMaps:
    """Database ids of the codes the engine speaks in."""

    panels: dict[str, int]
    actors: dict[str, int]
    roles: dict[str, int]

    @classmethod
    def load(cls) -> "CodeMaps":
        return cls(
            panels=dict(Panel.objects.values_list("code", "id")),
            actors=dict(Actor.objects.values_list("code", "id")),
            roles=dict(Role.objects.values_list("code", "id")),
        )


def home_panels() -> dict[str, str]:
    """Actor code → the code of the panel sitting in that actor's capital."""
    return dict(Panel.objects.values_list("actor__code", "code"))


def nullable(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with those columns as Python floats, NaN and infinities as None (NULL)."""
    values = frame[columns].astype(float)
    finite = np.isfinite(values.to_numpy())
    return frame.assign(
        **{
            column: values[column].astype(object).where(finite[:, position], None)
            for position, column in enumerate(columns)
        }
    )


def rows_insert(model, fields: list[str], rows: list[tuple]) -> None:
    """Insert plain tuples (values in the order of ``fields``, the model's attnames) into the
    model's table: with ``COPY`` on PostgreSQL, ``executemany`` elsewhere.

    Result rows are many, plain and have no defaults or signals to honour, so building a
    model instance for each (``bulk_create``) would cost more than the database's work.
    """
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(field).column) for field in fields)
    table = quote(model._meta.db_table)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(fields))
            cursor.executemany(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


CELL_NUMBERS = [
    name
    for name in engine.CELL_STAT_COLUMNS
    if name not in {"n", "n_cannot_judge", "rwg_truncated"}
]
CELL_FIELDS = [
    "run_id",
    "panel_id",
    "holder_id",
    "subject_id",
    "perspective",
    "role_id",
    "n",
    "n_cannot_judge",
    "rwg_truncated",
    *CELL_NUMBERS,
    "estimator",
    "estimator_version",
]


def cell_rows(run: AggregationRun, cells: pd.DataFrame, codes: CodeMaps) -> list[tuple]:
    """``CELL_FIELDS`` of each cell."""
    panels = {**codes.panels, engine.POOLED_PANEL: None}
    cells = nullable(cells, CELL_NUMBERS)
    return [
        (
            run.pk,
            panels[row.panel],
            codes.actors[row.holder],
            codes.actors[row.subject],
            row.perspective,
            codes.roles[row.role],
            int(row.n),
            int(row.n_cannot_judge),
            bool(row.rwg_truncated),
            *(getattr(row, name) for name in CELL_NUMBERS),
            engine.ESTIMATOR_NAME,
            engine.ESTIMATOR_VERSION,
        )
        for row in cells.itertuples(index=False)
    ]


def side_label(row, side: str) -> str:
    panel = getattr(row, f"{side}_panel") or engine.POOLED_PANEL
    holder = getattr(row, f"{side}_holder")
    subject = getattr(row, f"{side}_subject")
    perspective = getattr(row, f"{side}_perspective")
    return f"{perspective} {holder}→{subject} ({panel})"


def side_codes(row) -> list[str]:
    """``COMPARISON_SIDE_FIELDS`` of a comparison row; a pooled panel is ``ALL``."""
    return [
        (getattr(row, name) or engine.POOLED_PANEL)
        if name.endswith("_panel")
        else getattr(row, name)
        for name in COMPARISON_SIDE_FIELDS
    ]


COMPARISON_NUMBERS = [
    *(
        name
        for name in engine.COMPARISON_ROLE_COLUMNS
        if name not in {"role", "n_left", "n_right", "family_size", "family", "method"}
    ),
    "profile_distance",
    "prob_sign",  # the ordinal IRT's only (aggregation.estimator_comparisons)
]
COMPARISON_SIDE_FIELDS = [
    f"{side}_{name}" for side in ("left", "right") for name in engine.SELECTOR_FIELDS
]
COMPARISON_FIELDS = [
    "run_id",
    "preset",
    "subject_id",
    "left_label",
    "right_label",
    *COMPARISON_SIDE_FIELDS,
    "role_id",
    "method",
    "n_left",
    "n_right",
    "family_size",
    "family",
    "dominant_left",
    "dominant_right",
    *COMPARISON_NUMBERS,
    "estimator",
    "estimator_version",
    "saved_version_id",
]


def comparison_rows(
    run: AggregationRun,
    comparisons: pd.DataFrame,
    codes: CodeMaps,
    *,
    estimator: str = engine.ESTIMATOR_NAME,
    version: str = engine.ESTIMATOR_VERSION,
) -> list[tuple]:
    """``COMPARISON_FIELDS`` of each comparison row."""
    if "prob_sign" not in comparisons:
        comparisons = comparisons.assign(prob_sign=np.nan)
    comparisons = nullable(comparisons, COMPARISON_NUMBERS)
    return [
        (
            run.pk,
            row.preset,
            codes.actors[row.subject],
            side_label(row, "left"),
            side_label(row, "right"),
            *side_codes(row),
            codes.roles[row.role],
            row.method,
            int(row.n_left),
            int(row.n_right),
            int(row.family_size),
            row.family,
            row.dominant_left or "",
            row.dominant_right or "",
            *(getattr(row, name) for name in COMPARISON_NUMBERS),
            estimator,
            version,
            getattr(row, "saved_version_id", None),  # None: a preset
        )
        for row in comparisons.itertuples(index=False)
    ]


RELIABILITY_NUMBERS = [
    name
    for name in engine.RELIABILITY_COLUMNS
    if name not in {*engine.RELIABILITY_KEYS, "n_raters", "n_units"}
]
RELIABILITY_FIELDS = [
    "run_id",
    "panel_id",
    "block_id",
    "n_raters",
    "n_units",
    *RELIABILITY_NUMBERS,
    "estimator",
    "estimator_version",
]


def reliability_rows(
    run: AggregationRun,
    reliability: pd.DataFrame,
    codes: CodeMaps,
    *,
    estimator: str = engine.ESTIMATOR_NAME,
    version: str = engine.ESTIMATOR_VERSION,
) -> list[tuple]:
    """``RELIABILITY_FIELDS`` of each (panel, block), tagged with the estimator."""
    reliability = nullable(reliability, RELIABILITY_NUMBERS)
    return [
        (
            run.pk,
            codes.panels[row.panel],
            int(row.block),
            int(row.n_raters),
            int(row.n_units),
            *(getattr(row, name) for name in RELIABILITY_NUMBERS),
            estimator,
            version,
        )
        for row in reliability.itertuples(index=False)
        if row.panel != engine.POOLED_PANEL
    ]
