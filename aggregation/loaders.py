"""Loading a wave's ratings from the database into the engine's ratings DataFrame.

Only integer ids and values travel from the database: six numeric columns per rating. The
codes (panel, holder, subject, perspective, role) are joined in pandas from the few hundred
rows of the wave's instrument. On PostgreSQL the rows come as Arrow through ADBC (whose driver reads
with binary ``COPY``), elsewhere (and inside a transaction) through a server-side iterator in
chunks; no model instance is built either way.
"""

from urllib.parse import quote

import numpy as np
import pandas as pd
from django.db import connection

from aggregation.engine import RATINGS_COLUMNS
from surveys.models import Item, Rating, Response

CHUNK_ROWS = 50_000
# Four numbers per rating travel: the panel comes with the response, and a missing value is
# *cannot judge* (the database allows a value or cannot-judge, never neither or both).
RATING_COLUMNS = ["response_id", "item_id", "value", "confidence"]
RATING_DTYPES = {
    "response_id": "int64",
    "item_id": "int64",
    "value": "float64",
    "confidence": "float64",
}


def _submitted_ratings_queryset(wave_id: int, item_ids: list[int] | None = None):
    ratings = Rating.objects.filter(
        response__wave_id=wave_id, response__status=Response.Status.SUBMITTED
    )
    if item_ids is not None:
        ratings = ratings.filter(item_id__in=item_ids)
    # order_by(): the model's default ordering would join and sort for nothing.
    return ratings.order_by().values_list("response_id", "item_id", "value", "confidence")


ARROW_SQL = """
    SELECT rt.response_id::int4, rt.item_id::int4, rt.value, rt.confidence
    FROM surveys_rating rt JOIN surveys_response r ON r.id = rt.response_id
    WHERE r.wave_id = $1 AND r.status = 'submitted'
"""
ARROW_SQL_ITEMS = ARROW_SQL + " AND rt.item_id = ANY($2)"


def _postgres_uri() -> str:
    settings_dict = connection.settings_dict
    user = quote(settings_dict.get("USER") or "")
    password = f":{quote(settings_dict['PASSWORD'])}" if settings_dict.get("PASSWORD") else ""
    host = settings_dict.get("HOST") or "localhost"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgresql://{user}{password}@{host}{port}/{quote(settings_dict['NAME'])}"


def _read_with_arrow(wave_id: int, item_ids: list[int] | None) -> pd.DataFrame:
    """PostgreSQL: the rows as Arrow through ADBC, whose driver reads with binary ``COPY``."""
    import adbc_driver_postgresql.dbapi

    with (
        adbc_driver_postgresql.dbapi.connect(_postgres_uri()) as arrow_connection,
        arrow_connection.cursor() as cursor,
    ):
        if item_ids is None:
            cursor.execute(ARROW_SQL, [wave_id])
        else:
            cursor.execute(ARROW_SQL_ITEMS, [wave_id, item_ids])
        frame = cursor.fetch_arrow_table().to_pandas()
    frame.columns = RATING_COLUMNS
    return frame


def _read_with_iterator(wave_id: int, item_ids: list[int] | None) -> pd.DataFrame:
    chunks = []
    rows = _submitted_ratings_queryset(wave_id, item_ids).iterator(chunk_size=CHUNK_ROWS)
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
    rows = (
        Item.objects.filter(block__wave_id=wave_id)
        .order_by()
        .values_list(
            "id",
            "block_id",
            "block__holder__code",
            "block__subject__code",
            "block__perspective",
            "role__code",
            "block__scale__min_value",
            "block__scale__max_value",
        )
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


def _lookup(keys: pd.Series, table: pd.DataFrame, key: str) -> "pd.Index":
    """Row positions in ``table`` of each key (``-1`` where absent)."""
    return pd.Index(table[key]).get_indexer(keys)


def _categorical(positions, values: pd.Series) -> pd.Categorical:
    """``values[positions]`` as a categorical, built from integer codes (no string copies)."""
    codes, categories = pd.factorize(values)
    return pd.Categorical.from_codes(codes[positions], categories=categories)


def ratings_frame(
    *, wave_id: int, wave_slug: str, item_ids: list[int] | None = None
) -> pd.DataFrame:
    """The submitted ratings of a wave in the engine's format (``engine.RATINGS_COLUMNS``).

    ``item_ids`` restricts the load to some items (one part of a wave split by subject).
    The codes are attached by position lookups on the small instrument and response tables
    and stored as categoricals, so a million ratings cost a few arrays of integers.
    """
    # The Arrow reader has a connection of its own, which cannot see rows that the caller's
    # open transaction has not committed yet: inside a transaction, read on Django's.
    arrow = connection.vendor == "postgresql" and not connection.in_atomic_block
    raw = _read_with_arrow(wave_id, item_ids) if arrow else _read_with_iterator(wave_id, item_ids)
    items = instrument_frame(wave_id)
    responses = pd.DataFrame(
        list(
            Response.objects.filter(wave_id=wave_id)
            .order_by()
            .values_list("id", "pseudonym", "panel__code")
        ),
        columns=["response_id", "respondent", "panel"],
    )
    item_at = _lookup(raw["item_id"], items, "item_id")
    response_at = _lookup(raw["response_id"], responses, "response_id")
    known = (item_at >= 0) & (response_at >= 0)
    if not known.all():
        raw, item_at, response_at = raw[known], item_at[known], response_at[known]
    value = raw["value"].to_numpy(dtype=float)
    frame = pd.DataFrame(
        {
            "wave": pd.Categorical.from_codes(np.zeros(len(raw), dtype=np.int8), [wave_slug]),
            "panel": _categorical(response_at, responses["panel"]),
            "respondent": _categorical(response_at, responses["respondent"]),
            "block": items["block"].to_numpy()[item_at],
            "holder": _categorical(item_at, items["holder"]),
            "subject": _categorical(item_at, items["subject"]),
            "perspective": _categorical(item_at, items["perspective"]),
            "role": _categorical(item_at, items["role"]),
            "value": value,
            "cannot_judge": np.isnan(value),
            "confidence": raw["confidence"].to_numpy(dtype=float),
            "scale_points": items["scale_points"].to_numpy()[item_at],
        }
    )
    return frame[RATINGS_COLUMNS]
