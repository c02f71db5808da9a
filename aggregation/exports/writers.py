"""Writing a source as a file: codebook and metadata, CSV, JSON, Parquet, XLSX, Stata
``.dta`` and SPSS ``.sav``, and the bundle (a ZIP of data, codebook and metadata) or the
sidecar files beside a data file written alone.

CSV (Arrow's CSV writer), JSON and Parquet (one row group per chunk) are written chunk by
chunk, so their memory does not grow with the table; XLSX (at most 1,048,575 rows), ``.dta``
and ``.sav`` are written from one frame, because their writers need the whole table.

Categorical variables (panel, holder, subject, perspective, role) hold their codes as text
("MOW", "RUS", "expectation", "protectee") in CSV, JSON, XLSX and Parquet, and as integer
codes with value labels carrying the same text in ``.dta`` and ``.sav``; read either way,
the values are the same.

Every text cell of a CSV or XLSX file (data, codebook, metadata) is neutralised against
formula injection (``formulas``): a text that a spreadsheet would run as a formula starts
with an apostrophe.
"""

import csv
import io
import json
import tempfile
import textwrap
import zipfile
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from aggregation.exports.formulas import (
    formula_neutralise,
    formula_neutralise_array,
    formula_neutralise_cell,
)
from aggregation.exports.sources import (
    FORMATS,
    ExportError,
    ExportSource,
    ValueLabel,
    xlsx_check,
)

GENERATOR = "role-survey exports 1.0"
TEXT_CELLS_NOTE = (
    "In CSV and XLSX files, a text that begins with =, +, -, @, a tab or a carriage return "
    "(and is not a plain number) starts with an added apostrophe ('), so that a spreadsheet "
    "shows it as text instead of running it as a formula."
)

METHODS_NOTE = (
    "How every statistic is computed (formula, reference, edge cases: cell statistics, "
    "comparisons and their Benjamini-Hochberg family, reliability and its intervals) is "
    "described in docs/methods.md of the survey software's repository."
)

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
        if variable.note:
            entry["note"] = variable.note
        variables.append(entry)
    result = source.estimator_result
    return {
        "table": source.table,
        "wave": source.wave.slug,
        "estimator": None if source.table == "ratings" else source.estimator,
        "estimator_version": result.estimator_version if result else None,
        "variables": variables,
        "notes": [TEXT_CELLS_NOTE, METHODS_NOTE],
    }


def codebook_rows(source: ExportSource) -> list[list[Any]]:
    """The codebook as a long table: one row per variable, then one per value label."""
    rows: list[list[Any]] = [
        ["variable", "label", "type", "value_code", "value_label", "value_description", "note"]
    ]
    for entry in codebook(source)["variables"]:
        rows.append(
            [entry["name"], entry["label"], entry["type"], "", "", "", entry.get("note", "")]
        )
        for value in entry.get("values", []):
            rows.append(
                [entry["name"], "", "", value["code"], value["label"], value["description"], ""]
            )
    return rows


def codebook_csv(source: ExportSource) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(
        [formula_neutralise_cell(cell) for cell in row] for row in codebook_rows(source)
    )
    return buffer.getvalue()


def _estimator_name(source: ExportSource) -> str | None:
    """The estimator of the rows; for raw ratings, the run's (as before result sets)."""
    if source.run is None:
        return None
    return source.run.estimator_name if source.table == "ratings" else source.estimator


def _estimator_version(source: ExportSource) -> str | None:
    if source.run is None:
        return None
    result = source.estimator_result
    if source.table == "ratings" or result is None:
        return source.run.estimator_version
    return result.estimator_version


def _estimator_status(source: ExportSource) -> str | None:
    """complete (with the IRT's mode and convergence), not applicable, failed; None for raw
    ratings or a run stored before result sets per estimator."""
    result = source.estimator_result
    if source.table == "ratings" or result is None:
        return None
    if result.status == "not_applicable":
        return result.note or "not applicable"
    if result.status != "complete":
        return f"{result.status}: {result.note}" if result.note else result.status
    text = "complete"
    if result.mode:
        text += f", {result.mode} mode"
    if result.converged is False:
        text += ", not converged (more than 5% of R-hats above 1.01)"
    return text


def _aggregation_note(source: ExportSource) -> str:
    if source.table == "ratings" and source.pinned:
        return (
            "Raw ratings pinned to the aggregation run: exactly the ratings it counted "
            "(its responses, checked against its ratings_fingerprint)."
        )
    if source.table == "ratings":
        return (
            "Raw ratings as of export time; the run is the newest complete aggregation of the "
            "wave then, and may have counted fewer ratings (pin the export to a run with "
            "run=<id> for exactly its ratings)."
        )
    if source.pinned:
        return "Results of the aggregation run asked for."
    return "Results of the newest complete aggregation run of the wave."


def metadata(source: ExportSource, file_format: str) -> dict[str, Any]:
    """Wave, aggregation run, estimator and version, generated at, rows and columns; for raw
    ratings, how their submission dates were coarsened and blanked, with warnings."""
    run = source.run
    disclosure = source.disclosure
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
            "input_fingerprint": run.input_fingerprint,
            "ratings_fingerprint": run.ratings_fingerprint,
        },
        "pinned_to_run": source.pinned,
        "estimator": _estimator_name(source),
        "estimator_version": _estimator_version(source),
        "estimator_status": _estimator_status(source),
        "aggregation_note": _aggregation_note(source),
        "generated_at": source.generated_at.isoformat(),
        "generator": GENERATOR,
        "privacy": "Experts appear only as the pseudonym of their response in this wave; "
        "rows are ordered by pseudonym.",
        "submitted_on": disclosure.as_dict() if disclosure else None,
        "warnings": disclosure.warnings if disclosure else [],
        "text_cells": TEXT_CELLS_NOTE,
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


def _label_lookup(values: list[ValueLabel], *, for_csv: bool) -> tuple[np.ndarray, Any]:
    """An array from code to position among ``values``, and the labels as an Arrow array
    (neutralised against formulas in CSV)."""
    import pyarrow as pa

    lookup = np.full(max((value.code for value in values), default=0) + 1, -1, dtype=np.int32)
    for position, value in enumerate(values):
        lookup[value.code] = position
    labels = [formula_neutralise(value.label) if for_csv else value.label for value in values]
    return lookup, pa.array(labels, pa.string())


def arrow_batches(source: ExportSource, *, for_csv: bool = False) -> Iterator[Any]:
    """The table as Arrow record batches of the text form, one per chunk.

    Categorical codes become their labels through a dictionary (no Python string per row).
    For CSV, flags are 0/1 and every text is neutralised against formulas.
    """
    import pyarrow as pa

    schema = _arrow_schema(source, for_csv=for_csv)
    lookups = {
        name: _label_lookup(values, for_csv=for_csv) for name, values in source.label_sets.items()
    }
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
                if for_csv:
                    array = formula_neutralise_array(array)
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


def _json_scalar(value):
    """numpy integers and booleans as JSON numbers and booleans."""
    if hasattr(value, "item"):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def json_records(chunk: pd.DataFrame) -> str:
    """Rows as a JSON array of objects; missing values as null. Floats are written as
    Python writes them, the shortest text that reads back as the same double (up to 17
    significant digits: p = 3.35e-15 stays 3.35e-15, never 3e-15)."""
    rows = chunk.astype(object).where(chunk.notna(), None).to_dict(orient="records")
    return json.dumps(rows, ensure_ascii=False, default=_json_scalar)


def iter_json(source: ExportSource) -> Iterator[bytes]:
    """The table as one JSON array of objects, one piece per chunk."""
    yield b"["
    first = True
    for chunk in source.text_chunks():
        records = json_records(_json_ready(chunk, source))
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
    """A workbook with the sheets data, codebook and metadata (write-only, row by row).

    Every text cell is neutralised against formulas; numbers, dates and flags keep their type.
    """
    from openpyxl import Workbook

    xlsx_check(source)
    texts = [v.name for v in source.variables if v.kind in ("string", "category")]
    workbook = Workbook(write_only=True)
    data = workbook.create_sheet("data")
    data.append([formula_neutralise(name) for name in source.columns])
    for chunk in source.text_chunks():
        cells = chunk.astype(object).where(chunk.notna(), None)
        for name in texts:
            cells[name] = cells[name].map(formula_neutralise_cell)
        for row in cells.itertuples(index=False, name=None):
            data.append(row)
    book = workbook.create_sheet("codebook")
    for row in codebook_rows(source):
        book.append([formula_neutralise_cell(cell) for cell in row])
    meta = workbook.create_sheet("metadata")
    meta.append(["key", "value"])
    for key, value in metadata(source, "xlsx").items():
        if not (isinstance(value, str | int | float | bool) or value is None):
            value = json.dumps(value, ensure_ascii=False)
        meta.append([formula_neutralise(key), formula_neutralise_cell(value)])
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


STATA_EPOCH = date(1960, 1, 1)
SPSS_EPOCH = date(1582, 10, 14)


def _dates_as_numbers(
    frame: pd.DataFrame, source: ExportSource, *, epoch: date, seconds: bool, date_format: str
) -> tuple[pd.DataFrame, dict[str, str]]:
    """Date columns as the number Stata (days) or SPSS (seconds) stores, missing as NaN, with
    their display format. pyreadstat guesses a column's type from its first values, so a
    column that begins with blanked dates would otherwise be written as text."""
    formats = {}
    for variable in source.variables:
        if variable.kind == "date":
            scale = 86_400.0 if seconds else 1.0
            frame[variable.name] = [
                (value - epoch).days * scale if isinstance(value, date) else np.nan
                for value in frame[variable.name]
            ]
            frame[variable.name] = frame[variable.name].astype("float64")
            formats[variable.name] = date_format
    return frame, formats


def _file_label(source: ExportSource) -> str:
    return f"Role survey, wave {source.wave.slug}, {source.table}"[:80]


def write_dta(source: ExportSource, path: Path) -> None:
    """Stata ``.dta`` (format 118: Stata 14 and later, UTF-8): variable and value labels."""
    import pyreadstat

    column_labels, value_labels = _statistical_labels(source)
    frame, formats = _dates_as_numbers(
        statistical_frame(source), source, epoch=STATA_EPOCH, seconds=False, date_format="%td"
    )
    pyreadstat.write_dta(
        frame,
        str(path),
        file_label=_file_label(source),
        column_labels=column_labels,
        variable_value_labels=value_labels,
        variable_format=formats,
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
        *(line for warning in info["warnings"] for line in textwrap.wrap(warning, 70)),
    ]
    measures = {
        variable.name: "nominal" if variable.kind in ("category", "boolean", "string") else "scale"
        for variable in source.variables
    }
    frame, formats = _dates_as_numbers(
        statistical_frame(source), source, epoch=SPSS_EPOCH, seconds=True, date_format="DATE11"
    )
    pyreadstat.write_sav(
        frame,
        str(path),
        variable_format=formats,
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
