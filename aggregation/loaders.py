"""Loading a wave's ratings from the database into the engine's input frames.

Three loads, by what the statistics need:

- ``counts_load``: the value counts per (panel, item, value), aggregated by the database
  in one ``GROUP BY`` (a few thousand rows for a million ratings). Cells, Welch
  comparisons and reliability are computed from these (``engine.COUNT_COLUMNS``).
- ``paired_sums_load``: for the paired comparisons, the sums over the respondents who
  rated a role on both sides (another ``GROUP BY``).
- ``ratings_frame``: the ratings row by row in the engine's ratings format, for analyses
  beyond the stored results and for checking the database's aggregates against the pure
  engine. Only integer ids and values travel (four numbers per rating, with ``COPY`` on
  PostgreSQL, from a server-side iterator elsewhere, in chunks, no model instance); the
  codes are joined in pandas from the few hundred rows of the wave's instrument.
"""

import hashlib
import io
from collections.abc import Collection, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection

from aggregation.engine import (
    COUNT_COLUMNS,
    MISSING_CONFIDENCE_WEIGHT,
    PAIRED_SUM_COLUMNS,
    RATINGS_COLUMNS,
)
from surveys.models import Item, Panel, Rating, Response

CHUNK_ROWS = 50_000
COPY_CHUNK_BYTES = 4 * 1024 * 1024
# Four numbers per rating travel: the panel comes with the response, and a missing value is
# *cannot judge* (the database allows a value or cannot-judge, never neither or both).
RATING_COLUMNS = ["response_id", "item_id", "value", "confidence"]
RATING_DTYPES = {
    "response_id": "int64",
    "item_id": "int64",
    "value": "float64",
    "confidence": "float64",
}


def _submitted_ratings(
    wave_id: int,
    item_ids: list[int] | None = None,
    panel_ids: list[int] | None = None,
    response_ids: Collection[int] | None = None,
):
    ratings = Rating.objects.filter(
        response__wave_id=wave_id, response__status=Response.Status.SUBMITTED
    )
    if response_ids is not None:
        ratings = ratings.filter(response_id__in=sorted(response_ids))
    if item_ids is not None:
        ratings = ratings.filter(item_id__in=item_ids)
    if panel_ids is not None:
        ratings = ratings.filter(response__panel_id__in=panel_ids)
    # order_by(): the model's default ordering would join and sort for nothing.
    return ratings.order_by()


def _read_rows(
    wave_id: int,
    item_ids: list[int] | None,
    panel_ids: list[int] | None,
    response_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """The four numbers of each rating: with ``COPY`` on PostgreSQL, elsewhere from a
    server-side iterator, in chunks either way (no model instance, no list of all rows)."""
    ratings = _submitted_ratings(wave_id, item_ids, panel_ids, response_ids)
    ratings = ratings.values_list(*RATING_COLUMNS)
    read = _read_with_copy if connection.vendor == "postgresql" else _read_with_iterator
    chunks = list(read(ratings))
    if not chunks:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in RATING_DTYPES.items()})
    return pd.concat(chunks, ignore_index=True).astype(RATING_DTYPES)


def _read_with_iterator(ratings) -> Iterator[pd.DataFrame]:
    rows = ratings.iterator(chunk_size=CHUNK_ROWS)
    while chunk := [row for _, row in zip(range(CHUNK_ROWS), rows, strict=False)]:
        yield pd.DataFrame.from_records(chunk, columns=RATING_COLUMNS).astype(float)


def _read_with_copy(ratings) -> Iterator[pd.DataFrame]:
    """PostgreSQL: ``COPY (query) TO STDOUT`` on Django's connection (so it sees the
    caller's transaction), parsed by pandas' C reader a few megabytes at a time."""
    sql, parameters = ratings.query.sql_with_params()
    blocks: list[bytes] = []
    size = 0
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY ({sql}) TO STDOUT", parameters) as copy,
    ):
        for block in copy:
            blocks.append(bytes(block))
            size += len(block)
            if size >= COPY_CHUNK_BYTES:  # parse up to the last complete line
                complete, rest = b"".join(blocks).rsplit(b"\n", 1)
                yield _parse_copy_text(complete)
                blocks, size = [rest], len(rest)
    rest = b"".join(blocks)
    if rest.strip():
        yield _parse_copy_text(rest)


def _parse_copy_text(data: bytes) -> pd.DataFrame:
    """Rows of ``COPY``'s text format (tab-separated, ``\\N`` for NULL) as floats."""
    return pd.read_csv(
        io.BytesIO(data),
        sep="\t",
        header=None,
        names=RATING_COLUMNS,
        na_values=["\\N"],
        keep_default_na=False,
        dtype=float,
    )


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
    *,
    wave_id: int,
    wave_slug: str,
    item_ids: list[int] | None = None,
    panel_ids: list[int] | None = None,
    response_ids: Collection[int] | None = None,
) -> pd.DataFrame:
    """The submitted ratings of a wave in the engine's format (``engine.RATINGS_COLUMNS``).

    ``item_ids``, ``panel_ids`` and ``response_ids`` restrict the load to some items, panels
    and responses (a run's snapshot: ``snapshots.run_input_load``). The codes
    are attached by position lookups on the small instrument and response tables and stored
    as categoricals, so a million ratings cost a few arrays of integers.
    """
    raw = _read_rows(wave_id, item_ids, panel_ids, response_ids)
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


def _placeholders(ids: list[int]) -> str:
    """``%s, %s, ...``: one query parameter per id, for an ``IN (...)`` list."""
    return ", ".join(["%s"] * len(ids))


# Value counts ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WaveCounts:
    """A wave's value counts (``engine.COUNT_COLUMNS``), how many ratings they count, and a
    fingerprint of the counts (SHA-256, independent of row order)."""

    counts: pd.DataFrame
    n_ratings: int
    fingerprint: str


COUNTS_SQL = """
    SELECT resp.panel_id, rt.item_id, rt.value, COUNT(*), SUM(rt.confidence),
           COUNT(rt.confidence)
    FROM surveys_rating rt
    JOIN surveys_response resp ON resp.id = rt.response_id
    WHERE resp.wave_id = %s AND resp.status = 'submitted' {items}
    GROUP BY resp.panel_id, rt.item_id, rt.value
"""
COUNTS_LOAD_COLUMNS = [
    "panel_id",
    "item_id",
    "value",
    "count",
    "confidence_sum",
    "confidence_count",
]


def counts_load(*, wave_id: int, wave_slug: str, item_ids: list[int] | None = None) -> WaveCounts:
    """The submitted ratings of a wave as value counts per (panel, item, value), from one
    ``GROUP BY`` in the database.

    Everything but the paired comparisons depends on the ratings only through these
    counts and confidence sums, so their fingerprint changes whenever such a result can.
    """
    parameters: list[int] = [wave_id]
    item_filter = ""
    if item_ids is not None:
        item_filter = f"AND rt.item_id IN ({_placeholders(item_ids)})" if item_ids else "AND 1=0"
        parameters += item_ids
    with connection.cursor() as cursor:
        cursor.execute(COUNTS_SQL.format(items=item_filter), parameters)
        rows = cursor.fetchall()
    rows.sort(key=lambda row: (row[0], row[1], -1 if row[2] is None else row[2]))
    fingerprint = hashlib.sha256(repr(rows).encode()).hexdigest()
    raw = pd.DataFrame(rows, columns=COUNTS_LOAD_COLUMNS)
    # a missing confidence weighs the midpoint
    raw["weight_sum"] = (
        raw["confidence_sum"].fillna(0).astype(float)
        + (raw["count"] - raw["confidence_count"]) * MISSING_CONFIDENCE_WEIGHT
    )
    items = instrument_frame(wave_id)
    panels = pd.DataFrame(list(Panel.objects.values_list("id", "code")), columns=["id", "code"])
    item_at = _lookup(raw["item_id"], items, "item_id")
    panel_at = _lookup(raw["panel_id"], panels, "id")
    known = (item_at >= 0) & (panel_at >= 0)
    raw, item_at, panel_at = raw[known], item_at[known], panel_at[known]
    counts = pd.DataFrame(
        {
            "wave": wave_slug,
            "panel": panels["code"].to_numpy()[panel_at],
            **{
                key: items[key].to_numpy()[item_at]
                for key in ["block", "holder", "subject", "perspective", "role", "scale_points"]
            },
            "value": raw["value"].to_numpy(dtype=float),
            "count": raw["count"].to_numpy(dtype=np.int64),
            "weight_sum": raw["weight_sum"].to_numpy(dtype=float),
        },
        columns=COUNT_COLUMNS,
    )
    return WaveCounts(counts=counts, n_ratings=int(counts["count"].sum()), fingerprint=fingerprint)


# Paired sums -------------------------------------------------------------------------------

PAIRED_SUMS_SQL = """
    SELECT resp.panel_id, li.block_id, ri.block_id, li.role_id, COUNT(*),
           SUM(l.value), SUM(r.value),
           SUM(CAST(l.value AS integer) * l.value), SUM(CAST(r.value AS integer) * r.value),
           SUM(CAST(l.value AS integer) * r.value)
    FROM surveys_rating l
    JOIN surveys_item li ON li.id = l.item_id
    JOIN surveys_rating r ON r.response_id = l.response_id
    JOIN surveys_item ri ON ri.id = r.item_id AND ri.role_id = li.role_id
    JOIN surveys_response resp ON resp.id = l.response_id
    WHERE resp.wave_id = %s AND resp.status = 'submitted'
      AND resp.panel_id IN ({panels}) AND li.block_id IN ({left}) AND ri.block_id IN ({right})
      AND l.value IS NOT NULL AND r.value IS NOT NULL
    GROUP BY resp.panel_id, li.block_id, ri.block_id, li.role_id
"""
PAIRED_SUMS_LOAD_COLUMNS = ["panel_id", "left_block", "right_block", "role_id"]


def paired_sums_load(
    *, wave_id: int, panel_ids: list[int], left_block_ids: list[int], right_block_ids: list[int]
) -> pd.DataFrame:
    """For each (panel, left block, right block, role): the respondents of the panel with a
    value for the role in both blocks, and the sums of their values, squares and products
    (the columns of ``engine.PAIRED_SUM_COLUMNS`` after the ids), from one ``GROUP BY``.

    The ratings are joined to themselves on (response, role); on PostgreSQL both sides come
    from the ``rating_item_covering`` index alone.
    """
    if not (panel_ids and left_block_ids and right_block_ids):
        return pd.DataFrame(columns=PAIRED_SUMS_LOAD_COLUMNS + PAIRED_SUM_COLUMNS[1:])

    sql = PAIRED_SUMS_SQL.format(
        panels=_placeholders(panel_ids),
        left=_placeholders(left_block_ids),
        right=_placeholders(right_block_ids),
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [wave_id, *panel_ids, *left_block_ids, *right_block_ids])
        rows = cursor.fetchall()
    frame = pd.DataFrame(rows, columns=PAIRED_SUMS_LOAD_COLUMNS + PAIRED_SUM_COLUMNS[1:])
    return frame.astype({column: float for column in PAIRED_SUM_COLUMNS[1:]})
