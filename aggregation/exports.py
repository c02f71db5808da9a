"""Exports of a wave's raw ratings, cells and comparisons for R, Stata, SPSS and Python.

One export is a *source* (a wave, a table, a snapshot of its rows, the variables and their
value labels) written in one format: CSV, XLSX, Parquet, JSON, Stata ``.dta`` or SPSS
``.sav``. Beside the data go a codebook (each variable: name, label, type, value labels) and
a metadata file (wave, aggregation run, estimator and version, generated at); a bundle is a
ZIP of all three. Large exports run as jobs (``export_job_create``; the Celery task is in
``aggregation.export_tasks``) whose files wait under ``EXPORT_DIR`` behind a signed link.

Rows leave the database in chunks of ``CHUNK_ROWS`` through a streaming cursor, and only
integer ids travel: pseudonyms, codes and labels are joined from the small response and
instrument tables by position. CSV (Arrow's CSV writer), JSON and Parquet (one row group per
chunk) are written chunk by chunk, so their memory does not grow with the table; XLSX (at
most 1,048,575 rows), ``.dta`` and ``.sav`` are written from one frame, because their
writers need the whole table.

Categorical variables (panel, holder, subject, perspective, role) hold their codes as text
("MOW", "RUS", "expectation", "protectee") in CSV, JSON, XLSX and Parquet, and as integer
codes with value labels carrying the same text in ``.dta`` and ``.sav``; read either way,
the values are the same. Experts appear only as the pseudonym of their response; no name,
e-mail, affiliation, invitation or token is ever selected here.
"""

import csv
import io
import json
import os
import shutil
import tempfile
import time
import uuid
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.core import signing
from django.db import connection, transaction
from django.utils import timezone

from aggregation.models import AggregationRun, CellResult, ComparisonResult
from aggregation.selectors import run_latest_complete
from surveys.audit import audit_record
from surveys.models import Actor, Item, Panel, Perspective, Rating, Response, Role, Wave

TABLES = ("ratings", "cells", "comparisons")
FORMATS = ("csv", "xlsx", "parquet", "json", "dta", "sav")
STREAMING_FORMATS = ("csv", "json")
MEDIA_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "dta": "application/x-stata-dta",
    "sav": "application/x-spss-sav",
    "zip": "application/zip",
}
CHUNK_ROWS = 50_000
XLSX_MAX_ROWS = 1_048_575
POOLED_PANEL_CODE = 0
POOLED_PANEL = "ALL"
PERSPECTIVE_CODES = {"conception": 1, "expectation": 2, "performance": 3}
GENERATOR = "role-survey exports 1.0"


class ExportError(Exception):
    """An export that cannot be made as asked (unknown table or format, too many rows)."""


class NoCompleteRunError(ExportError):
    """Results of a wave that has no complete aggregation run yet."""


def xlsx_check(source: "ExportSource") -> None:
    """XLSX sheets end at 1,048,576 rows (one is the header)."""
    if source.rows > XLSX_MAX_ROWS:
        raise ExportError(
            f"An Excel sheet holds at most {XLSX_MAX_ROWS:,} rows; this table has {source.rows:,}. "
            "Use CSV or Parquet."
        )


# Variables and value labels ------------------------------------------------------------------


@dataclass(frozen=True)
class Variable:
    """One column of an export.

    ``kind`` is ``string``, ``integer``, ``float``, ``boolean``, ``date`` or ``category``;
    a category names its set of value labels in ``labels``. ``nullable`` integers are
    stored as floats in ``.dta`` and ``.sav`` (their only missing value is the system one).
    """

    name: str
    label: str
    kind: str
    labels: str = ""
    nullable: bool = False


def _float(name: str, label: str) -> Variable:
    return Variable(name, label, "float", nullable=True)


WAVE = Variable("wave", "Survey wave (slug)", "string")
RATINGS_VARIABLES = [
    WAVE,
    Variable("pseudonym", "Pseudonym of the response (one expert in one wave)", "string"),
    Variable("panel", "Panel (capital) of the rating expert", "category", "panel"),
    Variable("holder", "Actor whose view the item asks about", "category", "actor"),
    Variable("subject", "Actor whose role the item asks about", "category", "actor"),
    Variable(
        "perspective",
        "Perspective: conception, expectation, performance",
        "category",
        "perspective",
    ),
    Variable("role", "Role of the typology", "category", "role"),
    Variable(
        "value", "Rating on the item's scale; missing when cannot judge", "integer", nullable=True
    ),
    Variable("cannot_judge", "1 if the expert chose cannot judge, else 0", "boolean"),
    Variable(
        "confidence", "Expert's confidence, 1 (low) to 5 (high); optional", "integer", nullable=True
    ),
    Variable("submitted_on", "Date the response was submitted (UTC, no time)", "date"),
]
CELL_VARIABLES = [
    WAVE,
    Variable("panel", "Panel of the raters; ALL pools every panel", "category", "panel"),
    Variable("holder", "Actor whose view the item asks about", "category", "actor"),
    Variable("subject", "Actor whose role the item asks about", "category", "actor"),
    Variable(
        "perspective",
        "Perspective: conception, expectation, performance",
        "category",
        "perspective",
    ),
    Variable("role", "Role of the typology", "category", "role"),
    Variable("n", "Number of ratings with a value", "integer"),
    Variable("n_cannot_judge", "Number of cannot-judge answers", "integer"),
    _float("mean", "Mean rating"),
    _float("median", "Median rating"),
    _float("sd", "Standard deviation"),
    _float("se", "Standard error of the mean"),
    _float("ci_low", "95% confidence interval of the mean, lower bound"),
    _float("ci_high", "95% confidence interval of the mean, upper bound"),
    _float("weighted_mean", "Confidence-weighted mean"),
    _float("rwg", "Within-cell agreement r_wg (James, Demaree and Wolf 1984)"),
]
COMPARISON_VARIABLES = [
    WAVE,
    Variable("preset", "Named comparison (see DESIGN.md)", "string"),
    Variable("subject", "Actor the comparison is about", "category", "actor"),
    Variable("role", "Role of the typology", "category", "role"),
    Variable("left_label", "Left selector: perspective, holder to subject, panel", "string"),
    Variable("right_label", "Right selector: perspective, holder to subject, panel", "string"),
    Variable("method", "Test: welch (independent) or paired", "string"),
    Variable("n_left", "Left: number of ratings", "integer"),
    _float("mean_left", "Left: mean"),
    _float("sd_left", "Left: standard deviation"),
    _float("ci_low_left", "Left: 95% CI of the mean, lower bound"),
    _float("ci_high_left", "Left: 95% CI of the mean, upper bound"),
    Variable("n_right", "Right: number of ratings", "integer"),
    _float("mean_right", "Right: mean"),
    _float("sd_right", "Right: standard deviation"),
    _float("ci_low_right", "Right: 95% CI of the mean, lower bound"),
    _float("ci_high_right", "Right: 95% CI of the mean, upper bound"),
    _float("diff", "Difference of means, left minus right"),
    _float("diff_ci_low", "95% CI of the difference, lower bound"),
    _float("diff_ci_high", "95% CI of the difference, upper bound"),
    _float("hedges_g", "Effect size, Hedges' g"),
    _float("p_value", "p-value of the difference"),
    _float("p_adjusted", "p-value, Benjamini-Hochberg adjusted across roles"),
    Variable("dominant_left", "Left: role with the highest mean", "string"),
    Variable("dominant_right", "Right: role with the highest mean", "string"),
    _float("profile_distance", "Distance between the two role profiles"),
]
VARIABLES = {
    "ratings": RATINGS_VARIABLES,
    "cells": CELL_VARIABLES,
    "comparisons": COMPARISON_VARIABLES,
}


@dataclass(frozen=True)
class ValueLabel:
    code: int
    label: str
    description: str


def _label_sets(*, pooled_panel: bool) -> dict[str, list[ValueLabel]]:
    """Integer code → text of every categorical variable: actor, role, panel and perspective.

    Codes are the database ids (stable within one installation, so exports of several waves
    merge); the pooled panel is 0 and perspectives are 1–3.
    """
    panels = [
        ValueLabel(pk, code, city)
        for pk, code, city in Panel.objects.order_by("code").values_list("pk", "code", "city_en")
    ]
    if pooled_panel:
        panels.insert(0, ValueLabel(POOLED_PANEL_CODE, POOLED_PANEL, "all panels pooled"))
    return {
        "panel": panels,
        "actor": [
            ValueLabel(pk, code, name)
            for pk, code, name in Actor.objects.order_by("order", "code").values_list(
                "pk", "code", "name_en"
            )
        ],
        "role": [
            ValueLabel(pk, code, name)
            for pk, code, name in Role.objects.order_by("order", "code").values_list(
                "pk", "code", "name_en"
            )
        ],
        "perspective": [
            ValueLabel(PERSPECTIVE_CODES[value], value, str(label))
            for value, label in Perspective.choices
        ],
    }


# Sources -------------------------------------------------------------------------------------


@dataclass
class ExportSource:
    """A table of one wave, snapshotted when the source was made, ready to be written.

    ``chunks()`` yields frames with the columns of ``variables``; categorical columns hold
    integer codes (see ``label_sets``). ``rows`` is the row count of the snapshot.
    """

    wave: Wave
    table: str
    run: AggregationRun | None
    variables: list[Variable]
    label_sets: dict[str, list[ValueLabel]]
    rows: int
    generated_at: datetime
    chunks: Callable[[], Iterator[pd.DataFrame]] = field(repr=False)

    @property
    def columns(self) -> list[str]:
        return [variable.name for variable in self.variables]

    def labels_of(self, variable: Variable) -> dict[int, str]:
        return {value.code: value.label for value in self.label_sets[variable.labels]}

    def frame(self) -> pd.DataFrame:
        """The whole table as one coded frame (for the writers that need it whole)."""
        frames = list(self.chunks())
        if not frames:
            return _empty_frame(self.variables)
        return pd.concat(frames, ignore_index=True)

    def text_chunks(self) -> Iterator[pd.DataFrame]:
        """Chunks with categorical codes replaced by their text ("MOW", "protectee")."""
        for chunk in self.chunks():
            yield _as_text(chunk, self)


def _empty_frame(variables: list[Variable]) -> pd.DataFrame:
    dtypes = {
        "string": object,
        "integer": "Int64",
        "float": "float64",
        "boolean": "bool",
        "date": object,
        "category": "int64",
    }
    return pd.DataFrame({v.name: pd.Series(dtype=dtypes[v.kind]) for v in variables})


def _as_text(chunk: pd.DataFrame, source: ExportSource) -> pd.DataFrame:
    chunk = chunk.copy()
    for variable in source.variables:
        if variable.kind == "category":
            chunk[variable.name] = (
                chunk[variable.name].map(source.labels_of(variable)).astype(object)
            )
    return chunk


def _batches(rows: Iterable[tuple], size: int) -> Iterator[list[tuple]]:
    rows = iter(rows)
    while batch := list(islice(rows, size)):
        yield batch


def _submitted_ratings(wave: Wave, snapshot: datetime, max_id: int):
    return Rating.objects.filter(
        response__wave=wave,
        response__status=Response.Status.SUBMITTED,
        response__submitted_at__lte=snapshot,
        pk__lte=max_id,
    )


RAW_RATING_COLUMNS = ["response", "item", "value", "cannot_judge", "confidence"]


def _raw_ratings(wave: Wave, snapshot: datetime, max_id: int) -> Iterator[pd.DataFrame]:
    """Frames of (response, item, value, cannot_judge, confidence) in rating id order.

    PostgreSQL streams from Django's server-side cursor (psycopg gives native values, so no
    per-row conversion); SQLite from a plain cursor, bypassing Django's per-row converters.
    Either way the rows come ``CHUNK_ROWS`` at a time and memory stays flat. (ADBC's Arrow
    reader was tried: it holds the whole result in memory before the first batch.)
    """
    rows = (
        _submitted_ratings(wave, snapshot, max_id)
        .order_by("pk")
        .values_list("response_id", "item_id", "value", "cannot_judge", "confidence")
    )
    if connection.vendor != "sqlite":
        for batch in _batches(rows.iterator(chunk_size=CHUNK_ROWS), CHUNK_ROWS):
            yield pd.DataFrame.from_records(batch, columns=RAW_RATING_COLUMNS)
        return
    sql, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        while batch := cursor.fetchmany(CHUNK_ROWS):
            yield pd.DataFrame.from_records(batch, columns=RAW_RATING_COLUMNS)


def _nullable_integers(column: pd.Series) -> pd.arrays.IntegerArray:
    if column.dtype == object:
        return pd.array(column.to_numpy(dtype=object), dtype="Int64")
    return pd.array(pd.to_numeric(column), dtype="Int64")


def _ratings_source(wave: Wave, generated_at: datetime) -> ExportSource:
    max_id = Rating.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    queryset = _submitted_ratings(wave, generated_at, max_id)

    def chunks() -> Iterator[pd.DataFrame]:
        responses = pd.DataFrame.from_records(
            [
                (pk, pseudonym, panel_id, submitted_at.astimezone(UTC).date())
                for pk, pseudonym, panel_id, submitted_at in Response.objects.filter(
                    wave=wave,
                    status=Response.Status.SUBMITTED,
                    submitted_at__lte=generated_at,
                ).values_list("pk", "pseudonym", "panel_id", "submitted_at")
            ],
            columns=["id", "pseudonym", "panel", "submitted_on"],
        ).set_index("id")
        items = pd.DataFrame.from_records(
            [
                (pk, holder, subject, PERSPECTIVE_CODES[perspective], role)
                for pk, holder, subject, perspective, role in Item.objects.filter(
                    block__wave=wave
                ).values_list(
                    "pk", "block__holder_id", "block__subject_id", "block__perspective", "role_id"
                )
            ],
            columns=["id", "holder", "subject", "perspective", "role"],
        ).set_index("id")
        for raw in _raw_ratings(wave, generated_at, max_id):
            by_response = responses.index.get_indexer(raw["response"])
            by_item = items.index.get_indexer(raw["item"])
            known = (by_response >= 0) & (by_item >= 0)
            if not known.all():  # cannot happen inside the snapshot; never guess
                raw, by_response, by_item = raw[known], by_response[known], by_item[known]
            response_rows = responses.iloc[by_response]
            item_rows = items.iloc[by_item]
            yield pd.DataFrame(
                {
                    "wave": wave.slug,
                    "pseudonym": response_rows["pseudonym"].to_numpy(dtype=object),
                    "panel": response_rows["panel"].to_numpy(dtype=np.int64),
                    "holder": item_rows["holder"].to_numpy(dtype=np.int64),
                    "subject": item_rows["subject"].to_numpy(dtype=np.int64),
                    "perspective": item_rows["perspective"].to_numpy(dtype=np.int64),
                    "role": item_rows["role"].to_numpy(dtype=np.int64),
                    "value": _nullable_integers(raw["value"]),
                    "cannot_judge": raw["cannot_judge"].to_numpy(dtype=bool),
                    "confidence": _nullable_integers(raw["confidence"]),
                    "submitted_on": response_rows["submitted_on"].to_numpy(dtype=object),
                }
            )

    return ExportSource(
        wave=wave,
        table="ratings",
        run=run_latest_complete(wave=wave),
        variables=RATINGS_VARIABLES,
        label_sets=_label_sets(pooled_panel=False),
        rows=queryset.count(),
        generated_at=generated_at,
        chunks=chunks,
    )


def _result_source(wave: Wave, table: str, generated_at: datetime) -> ExportSource:
    run = run_latest_complete(wave=wave)
    if run is None:
        raise NoCompleteRunError(
            "This wave has no complete aggregation run yet; aggregate it first."
        )
    variables = VARIABLES[table]
    model = CellResult if table == "cells" else ComparisonResult
    queryset = model.objects.filter(run=run)
    # Database columns in the order of the variables, categorical ones as ids.
    selected = [
        {
            "panel": "panel_id",
            "holder": "holder_id",
            "subject": "subject_id",
            "role": "role_id",
        }.get(variable.name, variable.name)
        for variable in variables[1:]
    ]

    def chunks() -> Iterator[pd.DataFrame]:
        rows = queryset.order_by("pk").values_list(*selected).iterator(chunk_size=CHUNK_ROWS)
        for batch in _batches(rows, CHUNK_ROWS):
            frame = pd.DataFrame.from_records(batch, columns=[v.name for v in variables[1:]])
            frame.insert(0, "wave", wave.slug)
            for variable in variables:
                column = frame[variable.name]
                if variable.name == "panel":
                    frame["panel"] = column.fillna(POOLED_PANEL_CODE).astype(np.int64)
                elif variable.name == "perspective":
                    frame["perspective"] = column.map(PERSPECTIVE_CODES).astype(np.int64)
                elif variable.kind == "category":
                    frame[variable.name] = column.astype(np.int64)
                elif variable.kind == "integer":
                    frame[variable.name] = column.astype("Int64")
                elif variable.kind == "float":
                    frame[variable.name] = pd.to_numeric(column).astype("float64")
                elif variable.kind == "string":
                    frame[variable.name] = column.fillna("").astype(object)
            yield frame

    return ExportSource(
        wave=wave,
        table=table,
        run=run,
        variables=variables,
        label_sets=_label_sets(pooled_panel=table == "cells"),
        rows=queryset.count(),
        generated_at=generated_at,
        chunks=chunks,
    )


def export_source(*, wave: Wave, table: str) -> ExportSource:
    """The rows of ``table`` for ``wave`` as of now: raw ratings of submitted responses, or
    the cells or comparisons of the wave's newest complete aggregation run."""
    if table not in TABLES:
        raise ExportError(f"Unknown table {table!r}; choose one of {', '.join(TABLES)}.")
    generated_at = timezone.now()
    if table == "ratings":
        return _ratings_source(wave, generated_at)
    return _result_source(wave, table, generated_at)


# Codebook and metadata -----------------------------------------------------------------------


def codebook(source: ExportSource) -> dict[str, Any]:
    """Every variable: name, label, type and, for categorical ones, the value labels."""
    variables = []
    for variable in source.variables:
        entry: dict[str, Any] = {
            "name": variable.name,
            "label": variable.label,
            "type": variable.kind,
        }
        if variable.kind == "category":
            entry["storage"] = (
                "text code in csv, json, xlsx, parquet; integer with value labels in dta, sav"
            )
            entry["values"] = [
                {"code": value.code, "label": value.label, "description": value.description}
                for value in source.label_sets[variable.labels]
            ]
        elif variable.kind == "boolean":
            entry["storage"] = "0/1 in csv, dta, sav; true/false in json, xlsx, parquet"
        elif variable.kind == "date":
            entry["storage"] = "ISO date YYYY-MM-DD in csv and json; a date elsewhere"
        variables.append(entry)
    return {"table": source.table, "wave": source.wave.slug, "variables": variables}


def codebook_rows(source: ExportSource) -> list[list[Any]]:
    """The codebook as a long table: one row per variable, then one per value label."""
    rows: list[list[Any]] = [
        ["variable", "label", "type", "value_code", "value_label", "value_description"]
    ]
    for entry in codebook(source)["variables"]:
        rows.append([entry["name"], entry["label"], entry["type"], "", "", ""])
        for value in entry.get("values", []):
            rows.append(
                [entry["name"], "", "", value["code"], value["label"], value["description"]]
            )
    return rows


def codebook_csv(source: ExportSource) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(codebook_rows(source))
    return buffer.getvalue()


def metadata(source: ExportSource, file_format: str) -> dict[str, Any]:
    """Wave, aggregation run, estimator and version, generated at, rows and columns."""
    run = source.run
    return {
        "wave": source.wave.slug,
        "wave_title": source.wave.title,
        "wave_status": source.wave.status,
        "synthetic": source.wave.is_synthetic,
        "table": source.table,
        "format": file_format,
        "rows": source.rows,
        "columns": source.columns,
        "aggregation_run": None
        if run is None
        else {
            "id": run.pk,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "n_ratings": run.n_ratings,
            "estimator": run.estimator_name,
            "estimator_version": run.estimator_version,
        },
        "estimator": run.estimator_name if run else None,
        "estimator_version": run.estimator_version if run else None,
        "aggregation_note": (
            "Raw ratings; the run is the newest complete aggregation of the wave at export time."
            if source.table == "ratings"
            else "Results of the newest complete aggregation run of the wave."
        ),
        "generated_at": source.generated_at.isoformat(),
        "generator": GENERATOR,
        "privacy": "Experts appear only as the pseudonym of their response in this wave.",
    }


def _metadata_json(source: ExportSource, file_format: str) -> str:
    return json.dumps(metadata(source, file_format), ensure_ascii=False, indent=2)


# Writers -------------------------------------------------------------------------------------


def _arrow_schema(source: ExportSource, *, for_csv: bool = False):
    """The Arrow schema of the text form; in CSV, flags are 0/1 integers."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "category": pa.string(),
        "integer": pa.int64(),
        "float": pa.float64(),
        "boolean": pa.int8() if for_csv else pa.bool_(),
        "date": pa.date32(),
    }
    return pa.schema([pa.field(v.name, types[v.kind], nullable=True) for v in source.variables])


def _label_lookup(values: list[ValueLabel]) -> tuple[np.ndarray, Any]:
    """An array from code to position among ``values``, and the labels as an Arrow array."""
    import pyarrow as pa

    lookup = np.full(max((value.code for value in values), default=0) + 1, -1, dtype=np.int32)
    for position, value in enumerate(values):
        lookup[value.code] = position
    return lookup, pa.array([value.label for value in values], pa.string())


def arrow_batches(source: ExportSource, *, for_csv: bool = False) -> Iterator[Any]:
    """The table as Arrow record batches of the text form, one per chunk.

    Categorical codes become their labels through a dictionary (no Python string per row).
    """
    import pyarrow as pa

    schema = _arrow_schema(source, for_csv=for_csv)
    lookups = {name: _label_lookup(values) for name, values in source.label_sets.items()}
    for chunk in source.chunks():
        arrays = []
        for variable, target in zip(source.variables, schema, strict=True):
            column = chunk[variable.name]
            if variable.kind == "category":
                lookup, labels = lookups[variable.labels]
                indices = pa.array(lookup[column.to_numpy(dtype=np.int64)], pa.int32())
                array = pa.DictionaryArray.from_arrays(indices, labels).dictionary_decode()
            elif variable.kind == "string":
                array = pa.array(column.to_numpy(dtype=object), pa.string())
            elif variable.kind == "boolean":
                array = pa.array(column.to_numpy(dtype=bool)).cast(target.type)
            else:
                array = pa.array(column, from_pandas=True).cast(target.type)
            arrays.append(array)
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def write_csv(source: ExportSource, out) -> None:
    """UTF-8 CSV (no BOM) with a header, written batch by batch with Arrow's CSV writer."""
    import pyarrow.csv as arrow_csv

    schema = _arrow_schema(source, for_csv=True)
    options = arrow_csv.WriteOptions(include_header=True, quoting_style="needed")
    with arrow_csv.CSVWriter(out, schema, write_options=options) as writer:
        for batch in arrow_batches(source, for_csv=True):
            writer.write_batch(batch)


class _Pieces(io.RawIOBase):
    """A write-only file that hands what is written to a list (for streaming responses)."""

    def __init__(self) -> None:
        self.pieces: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.pieces.append(bytes(data))
        return len(data)


def iter_csv(source: ExportSource) -> Iterator[bytes]:
    """The CSV as pieces, one (or a few) per chunk: for streaming responses."""
    import pyarrow.csv as arrow_csv

    sink = _Pieces()
    schema = _arrow_schema(source, for_csv=True)
    options = arrow_csv.WriteOptions(include_header=True, quoting_style="needed")
    with arrow_csv.CSVWriter(sink, schema, write_options=options) as writer:
        for batch in arrow_batches(source, for_csv=True):
            writer.write_batch(batch)
            if sink.pieces:
                yield b"".join(sink.pieces)
                sink.pieces.clear()
    if sink.pieces:  # the header of an empty table, or the tail
        yield b"".join(sink.pieces)


def _json_ready(chunk: pd.DataFrame, source: ExportSource) -> pd.DataFrame:
    for variable in source.variables:
        if variable.kind == "date":
            chunk[variable.name] = [
                value.isoformat() if isinstance(value, date) else None
                for value in chunk[variable.name]
            ]
    return chunk


def iter_json(source: ExportSource) -> Iterator[bytes]:
    """The table as one JSON array of objects, one piece per chunk."""
    yield b"["
    first = True
    for chunk in source.text_chunks():
        records = _json_ready(chunk, source).to_json(
            orient="records", force_ascii=False, double_precision=15
        )
        if records == "[]":
            continue
        yield (("" if first else ",\n") + records[1:-1]).encode()
        first = False
    yield b"]\n"


def _write_stream(pieces: Iterable[bytes], path: Path) -> None:
    with open(path, "wb") as out:
        for piece in pieces:
            out.write(piece)


def write_parquet(source: ExportSource, path: Path) -> None:
    """Parquet, one row group per chunk; metadata and codebook in the file's key-values."""
    import pyarrow.parquet as pq

    schema = _arrow_schema(source).with_metadata(
        {
            "rolesurvey.metadata": _metadata_json(source, "parquet"),
            "rolesurvey.codebook": json.dumps(codebook(source), ensure_ascii=False),
        }
    )
    with pq.ParquetWriter(path, schema, compression="zstd") as writer:
        for batch in arrow_batches(source):
            writer.write_batch(batch)


def write_xlsx(source: ExportSource, path: Path) -> None:
    """A workbook with the sheets data, codebook and metadata (write-only, row by row)."""
    from openpyxl import Workbook

    xlsx_check(source)
    workbook = Workbook(write_only=True)
    data = workbook.create_sheet("data")
    data.append(source.columns)
    for chunk in source.text_chunks():
        cells = chunk.astype(object).where(chunk.notna(), None)
        for row in cells.itertuples(index=False, name=None):
            data.append(row)
    book = workbook.create_sheet("codebook")
    for row in codebook_rows(source):
        book.append(row)
    meta = workbook.create_sheet("metadata")
    meta.append(["key", "value"])
    for key, value in metadata(source, "xlsx").items():
        meta.append(
            [
                key,
                value
                if isinstance(value, str | int | float | bool) or value is None
                else json.dumps(value),
            ]
        )
    workbook.save(path)


def statistical_frame(source: ExportSource) -> pd.DataFrame:
    """The whole table typed for Stata and SPSS: codes int32, nullable numbers as floats,
    booleans 0/1, strings without missing values."""
    frame = source.frame()
    for variable in source.variables:
        column = frame[variable.name]
        if variable.kind == "category":
            frame[variable.name] = column.astype(np.int32)
        elif variable.kind == "boolean":
            frame[variable.name] = column.astype(np.int8)
        elif variable.kind in ("integer", "float") and (
            variable.nullable or variable.kind == "float"
        ):
            frame[variable.name] = pd.to_numeric(column).astype("float64")
        elif variable.kind == "integer":
            frame[variable.name] = column.astype(np.int32)
        elif variable.kind == "string":
            frame[variable.name] = column.fillna("").astype(object)
    return frame


def _statistical_labels(source: ExportSource) -> tuple[dict[str, str], dict[str, dict]]:
    column_labels = {variable.name: variable.label for variable in source.variables}
    value_labels = {
        variable.name: source.labels_of(variable)
        for variable in source.variables
        if variable.kind == "category"
    }
    return column_labels, value_labels


def _file_label(source: ExportSource) -> str:
    return f"Role survey, wave {source.wave.slug}, {source.table}"[:80]


def write_dta(source: ExportSource, path: Path) -> None:
    """Stata ``.dta`` (format 118: Stata 14 and later, UTF-8): variable and value labels."""
    import pyreadstat

    column_labels, value_labels = _statistical_labels(source)
    pyreadstat.write_dta(
        statistical_frame(source),
        str(path),
        file_label=_file_label(source),
        column_labels=column_labels,
        variable_value_labels=value_labels,
        version=14,
    )


def write_sav(source: ExportSource, path: Path) -> None:
    """SPSS ``.sav``: variable labels, value labels, measure levels, metadata as notes."""
    import pyreadstat

    column_labels, value_labels = _statistical_labels(source)
    info = metadata(source, "sav")
    run = info["aggregation_run"]
    notes = [
        f"Wave: {info['wave']}",
        f"Table: {info['table']}",
        f"Aggregation run: {run['id'] if run else 'none'}",
        f"Estimator: {info['estimator'] or 'none'} {info['estimator_version'] or ''}".strip(),
        f"Generated at: {info['generated_at']}",
    ]
    measures = {
        variable.name: "nominal" if variable.kind in ("category", "boolean", "string") else "scale"
        for variable in source.variables
    }
    pyreadstat.write_sav(
        statistical_frame(source),
        str(path),
        file_label=_file_label(source),
        column_labels=column_labels,
        variable_value_labels=value_labels,
        variable_measure=measures,
        note=notes,
    )


def write_data(source: ExportSource, file_format: str, path: Path) -> None:
    """The data file alone, in ``file_format``."""
    if file_format not in FORMATS:
        raise ExportError(f"Unknown format {file_format!r}; choose one of {', '.join(FORMATS)}.")
    if file_format == "csv":
        with open(path, "wb") as out:
            write_csv(source, out)
    elif file_format == "json":
        _write_stream(iter_json(source), path)
    else:
        {"xlsx": write_xlsx, "parquet": write_parquet, "dta": write_dta, "sav": write_sav}[
            file_format
        ](source, path)


def data_file_name(source: ExportSource, file_format: str) -> str:
    return f"{source.wave.slug}_{source.table}.{file_format}"


def write_bundle(source: ExportSource, file_format: str, path: Path) -> None:
    """A ZIP with the data file, ``codebook.csv``, ``codebook.json`` and ``metadata.json``."""
    compressed = file_format in ("csv", "json", "dta", "sav")
    with (
        tempfile.TemporaryDirectory(prefix="export-") as folder,
        zipfile.ZipFile(path, "w", allowZip64=True) as bundle,
    ):
        name = data_file_name(source, file_format)
        data_path = Path(folder) / name
        write_data(source, file_format, data_path)
        bundle.write(
            data_path,
            name,
            compress_type=zipfile.ZIP_DEFLATED if compressed else zipfile.ZIP_STORED,
        )
        bundle.writestr("codebook.csv", codebook_csv(source), zipfile.ZIP_DEFLATED)
        bundle.writestr(
            "codebook.json",
            json.dumps(codebook(source), ensure_ascii=False, indent=2),
            zipfile.ZIP_DEFLATED,
        )
        bundle.writestr("metadata.json", _metadata_json(source, file_format), zipfile.ZIP_DEFLATED)


def sidecar_paths(path: Path) -> dict[str, Path]:
    """Where the codebook and metadata go beside a data file written alone."""
    stem = path.with_suffix("")
    return {
        "codebook.csv": stem.with_name(stem.name + ".codebook.csv"),
        "codebook.json": stem.with_name(stem.name + ".codebook.json"),
        "metadata.json": stem.with_name(stem.name + ".metadata.json"),
    }


def export_write(*, source: ExportSource, file_format: str, path: Path) -> list[Path]:
    """Write an export to ``path``: a bundle if it ends in ``.zip``, else the data file with
    its codebook and metadata beside it. Returns the files written."""
    path = Path(path)
    if path.suffix.lower() == ".zip":
        write_bundle(source, file_format, path)
        return [path]
    write_data(source, file_format, path)
    sidecars = sidecar_paths(path)
    sidecars["codebook.csv"].write_text(codebook_csv(source), encoding="utf-8")
    sidecars["codebook.json"].write_text(
        json.dumps(codebook(source), ensure_ascii=False, indent=2), encoding="utf-8"
    )
    sidecars["metadata.json"].write_text(_metadata_json(source, file_format), encoding="utf-8")
    return [path, *sidecars.values()]


def export_audit(*, user, source: ExportSource, file_format: str, action: str, **extra) -> None:
    """The audit row of an export: table, format, wave and row count, never contents."""
    audit_record(
        user=user,
        action=action,
        obj=source.wave,
        detail={
            "table": source.table,
            "format": file_format,
            "wave": source.wave.slug,
            "rows": source.rows,
            **extra,
        },
    )


# Jobs ----------------------------------------------------------------------------------------
#
# A job is a folder ``EXPORT_DIR/<job id>/`` holding ``status.json`` and, once done, the
# bundle. The status file is replaced atomically; the task is idempotent (a finished job is
# left alone, an interrupted one is built again), so acks_late is safe.

JOB_STATUSES = ("queued", "running", "done", "failed")
LINK_SALT = "aggregation.exports.download"


def _job_dir(job_id: str) -> Path:
    if not (len(job_id) == 32 and all(c in "0123456789abcdef" for c in job_id)):
        raise ExportError("Not an export job id.")
    return Path(settings.EXPORT_DIR) / job_id


def _status_write(job_id: str, status: dict[str, Any]) -> None:
    folder = _job_dir(job_id)
    temporary = folder / "status.json.tmp"
    temporary.write_text(json.dumps(status, indent=2), encoding="utf-8")
    os.replace(temporary, folder / "status.json")


def export_job_status(*, job_id: str) -> dict[str, Any] | None:
    """The job's status (``queued``, ``running``, ``done``, ``failed``), or None if unknown."""
    try:
        path = _job_dir(job_id) / "status.json"
    except ExportError:
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def _job_update(job_id: str, **changes: Any) -> dict[str, Any]:
    status = export_job_status(job_id=job_id) or {}
    status.update(changes)
    _status_write(job_id, status)
    return status


def export_job_create(*, wave: Wave, table: str, file_format: str, user) -> dict[str, Any]:
    """Check the request, write the job's status and queue its task once the caller commits."""
    if file_format not in FORMATS:
        raise ExportError(f"Unknown format {file_format!r}; choose one of {', '.join(FORMATS)}.")
    source = export_source(wave=wave, table=table)
    if file_format == "xlsx":
        xlsx_check(source)
    job_id = uuid.uuid4().hex
    _job_dir(job_id).mkdir(parents=True)
    status = {
        "id": job_id,
        "user_id": getattr(user, "pk", None),
        "wave_id": wave.pk,
        "wave": wave.slug,
        "table": table,
        "format": file_format,
        "status": "queued",
        "rows": source.rows,
        "created_at": timezone.now().isoformat(),
        "started_at": None,
        "finished_at": None,
        "file": None,
        "size": None,
        "error": "",
    }
    _status_write(job_id, status)
    export_audit(
        user=user, source=source, file_format=file_format, action="export.create", job=job_id
    )
    transaction.on_commit(lambda: export_job_dispatch(job_id=job_id))
    return status


def export_job_dispatch(*, job_id: str) -> bool:
    """Publish the job's task; a broker that is down fails the job at once, with a reason."""
    from aggregation.export_tasks import export_build
    from project.celery import app

    try:
        with app.connection_for_write() as connection:
            connection.ensure_connection(
                max_retries=1, timeout=settings.CELERY_BROKER_CONNECTION_TIMEOUT
            )
            export_build.apply_async(args=[job_id], connection=connection, retry=False)
    except Exception as error:  # any broker failure
        _job_update(
            job_id,
            status="failed",
            finished_at=timezone.now().isoformat(),
            error=f"The task queue is unreachable ({type(error).__name__}); try again later.",
        )
        return False
    return True


def export_job_run(*, job_id: str) -> dict[str, Any]:
    """Build a job's bundle (the task's body). Idempotent: a finished job is left as it is."""
    status = export_job_status(job_id=job_id)
    if status is None:
        raise ExportError("No such export job.")
    folder = _job_dir(job_id)
    if status["status"] == "done" and status.get("file") and (folder / status["file"]).exists():
        return status
    status = _job_update(job_id, status="running", started_at=timezone.now().isoformat())
    try:
        wave = Wave.objects.get(pk=status["wave_id"])
        source = export_source(wave=wave, table=status["table"])
        name = f"{wave.slug}_{status['table']}_{status['format']}.zip"
        partial = folder / (name + ".partial")
        write_bundle(source, status["format"], partial)
        os.replace(partial, folder / name)
    except Exception as error:
        # The reason names the error's kind and, for our own errors, their message: no data.
        reason = str(error) if isinstance(error, ExportError) else type(error).__name__
        return _job_update(
            job_id, status="failed", finished_at=timezone.now().isoformat(), error=reason
        )
    return _job_update(
        job_id,
        status="done",
        rows=source.rows,
        file=name,
        size=(folder / name).stat().st_size,
        finished_at=timezone.now().isoformat(),
        error="",
    )


def export_job_file(*, job_id: str) -> Path | None:
    status = export_job_status(job_id=job_id)
    if not status or status["status"] != "done" or not status.get("file"):
        return None
    path = _job_dir(job_id) / status["file"]
    return path if path.exists() else None


def export_link_sign(*, job_id: str, user_id: int | None) -> str:
    """A signature for the job's download link, valid ``EXPORT_LINK_MAX_AGE_SECONDS``."""
    signed = signing.TimestampSigner(salt=LINK_SALT).sign(f"{job_id}:{user_id}")
    return signed.split(":", 2)[2]


def export_link_valid(*, job_id: str, user_id: int | None, signature: str) -> bool:
    try:
        signing.TimestampSigner(salt=LINK_SALT).unsign(
            f"{job_id}:{user_id}:{signature}", max_age=settings.EXPORT_LINK_MAX_AGE_SECONDS
        )
    except signing.BadSignature:  # includes SignatureExpired
        return False
    return True


def export_jobs_purge(*, older_than_seconds: float | None = None) -> int:
    """Delete job folders older than ``EXPORT_RETENTION_SECONDS``; returns how many."""
    if older_than_seconds is None:
        older_than_seconds = settings.EXPORT_RETENTION_SECONDS
    root = Path(settings.EXPORT_DIR)
    if not root.exists():
        return 0
    deadline = time.time() - older_than_seconds
    removed = 0
    for folder in root.iterdir():
        if folder.is_dir() and folder.stat().st_mtime < deadline:
            shutil.rmtree(folder, ignore_errors=True)
            removed += 1
    return removed
