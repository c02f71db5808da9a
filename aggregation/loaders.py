"""Loading a wave's ratings from the database into the engine's ratings DataFrame.

Only integer ids and values travel from the database: six numeric columns per rating. The
codes (panel, holder, subject, perspective, role) are joined in pandas from the few hundred
rows of the wave's instrument. On PostgreSQL the rows come through ``COPY ... TO STDOUT``,
elsewhere through a server-side iterator in chunks; no model instance is built either way.
"""

import io

import pandas as pd
from django.db import connection

from aggregation.engine import RATINGS_COLUMNS
from surveys.models import Item, Panel, Rating, Response

CHUNK_ROWS = 50_000
RATING_COLUMNS = ["panel_id", "response_id", "item_id", "value", "cannot_judge", "confidence"]
RATING_DTYPES = {
    "panel_id": "int64",
    "response_id": "int64",
    "item_id": "int64",
    "value": "float64",
    "cannot_judge": "bool",
    "confidence": "float64",
}


def _submitted_ratings_queryset(wave_id: int):
    return Rating.objects.filter(
        response__wave_id=wave_id, response__status=Response.Status.SUBMITTED
    ).values_list(
        "response__panel_id", "response_id", "item_id", "value", "cannot_judge", "confidence"
    )


def _read_with_copy(wave_id: int) -> pd.DataFrame:
    sql, params = _submitted_ratings_queryset(wave_id).query.sql_with_params()
    buffer = io.BytesIO()
    with connection.cursor() as cursor:
        copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
        with cursor.cursor.copy(copy_sql, params) as copy:
            for block in copy:
                buffer.write(block)
    buffer.seek(0)
    frame = pd.read_csv(buffer, names=RATING_COLUMNS, header=None, engine="c")
    frame["cannot_judge"] = frame["cannot_judge"].map({"t": True, "f": False}).astype(bool)
    return frame.astype(RATING_DTYPES)


def _read_with_iterator(wave_id: int) -> pd.DataFrame:
    chunks = []
    rows = _submitted_ratings_queryset(wave_id).iterator(chunk_size=CHUNK_ROWS)
    while True:
        chunk = [row for _, row in zip(range(CHUNK_ROWS), rows, strict=False)]
        if not chunk:
            break
        chunks.append(pd.DataFrame.from_records(chunk, columns=RATING_COLUMNS).astype(float))
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in RATING_DTYPES.items()})
    return pd.concat(chunks, ignore_index=True).astype(RATING_DTYPES)


def instrument_frame(wave_id: int) -> pd.DataFrame:
    """The wave's items with their block, holder, subject, perspective, role and scale."""
    rows = Item.objects.filter(block__wave_id=wave_id).values_list(
        "id",
        "block_id",
        "block__holder__code",
        "block__subject__code",
        "block__perspective",
        "role__code",
        "block__scale__min_value",
        "block__scale__max_value",
    )
    frame = pd.DataFrame(
        list(rows),
        columns=[
            "item_id",
            "block",
            "holder",
            "subject",
            "perspective",
            "role",
            "scale_min",
            "scale_max",
        ],
    )
    frame["scale_points"] = frame["scale_max"] - frame["scale_min"] + 1
    return frame.drop(columns=["scale_min", "scale_max"])


def ratings_frame(*, wave_id: int, wave_slug: str) -> pd.DataFrame:
    """The submitted ratings of a wave in the engine's format (``engine.RATINGS_COLUMNS``)."""
    raw = (
        _read_with_copy(wave_id)
        if connection.vendor == "postgresql"
        else _read_with_iterator(wave_id)
    )
    items = instrument_frame(wave_id)
    panels = pd.DataFrame(
        list(Panel.objects.values_list("id", "code")), columns=["panel_id", "panel"]
    )
    pseudonyms = pd.DataFrame(
        list(Response.objects.filter(wave_id=wave_id).values_list("id", "pseudonym")),
        columns=["response_id", "respondent"],
    )
    frame = (
        raw.merge(items, on="item_id", how="inner")
        .merge(panels, on="panel_id", how="inner")
        .merge(pseudonyms, on="response_id", how="inner")
    )
    frame["wave"] = wave_slug
    for column in ("wave", "panel", "respondent", "holder", "subject", "perspective", "role"):
        frame[column] = frame[column].astype("category")
    return frame[RATINGS_COLUMNS].reset_index(drop=True)
