"""The files of a release: every table in CSV, Parquet, Stata and SPSS, the codebook of all
tables, the checksums, and the ZIP that holds them.

The tables are written with the export writers (``aggregation.exports``), so a table of the
release reads back as the same table exported alone: categorical columns as text codes in CSV
and Parquet, as integer codes with value labels in ``.dta`` and ``.sav``.
"""

import csv
import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

from aggregation.exports import (
    ExportSource,
    codebook,
    write_csv,
    write_dta,
    write_parquet,
    write_sav,
)
from aggregation.exports.formulas import formula_neutralise_cell

# Folder in the bundle and file suffix of each format.
FORMAT_FOLDERS = {
    "csv": ("data/csv", "csv"),
    "parquet": ("data/parquet", "parquet"),
    "dta": ("data/stata", "dta"),
    "sav": ("data/spss", "sav"),
}
CHECKSUMS = "SHA256SUMS"
CODEBOOK_COLUMNS = [
    "table",
    "variable",
    "label",
    "type",
    "value_code",
    "value_label",
    "value_description",
    "note",
]
# Formats stored without compression in the ZIP: already compressed.
STORED = {".parquet"}


def table_path(table: str, file_format: str) -> str:
    folder, suffix = FORMAT_FOLDERS[file_format]
    return f"{folder}/{table}.{suffix}"


def tables_write(sources: dict[str, ExportSource], root: Path) -> dict[str, list[str]]:
    """Every table in every format under ``root``; returns table → its paths in the bundle."""
    written: dict[str, list[str]] = {}
    for table, source in sources.items():
        paths = []
        for file_format in FORMAT_FOLDERS:
            relative = table_path(table, file_format)
            target = root / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if file_format == "csv":
                with open(target, "wb") as out:
                    write_csv(source, out)
            else:
                {"parquet": write_parquet, "dta": write_dta, "sav": write_sav}[file_format](
                    source, target
                )
            paths.append(relative)
        written[table] = paths
    return written


def release_codebook(sources: dict[str, ExportSource]) -> dict[str, Any]:
    """The codebook of every table: variables, labels, types and value labels."""
    first = next(iter(sources.values()))
    return {
        "wave": first.wave.slug,
        "tables": {table: codebook(source) for table, source in sources.items()},
    }


def release_codebook_csv(book: dict[str, Any]) -> str:
    """The codebook as one long table: a row per variable, then one per value label."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CODEBOOK_COLUMNS)
    for table, entry in book["tables"].items():
        for variable in entry["variables"]:
            name = variable["name"]
            row = [table, name, variable["label"], variable["type"], "", "", ""]
            writer.writerow(map(formula_neutralise_cell, [*row, variable.get("note", "")]))
            for value in variable.get("values", []):
                row = [table, name, "", "", value["code"], value["label"], value["description"]]
                writer.writerow(map(formula_neutralise_cell, [*row, ""]))
    return buffer.getvalue()


def json_text(document: Any) -> str:
    return json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksums_text(root: Path) -> str:
    """``SHA256SUMS`` in the format ``sha256sum -c`` reads: every file but itself."""
    lines = [
        f"{sha256_of(path)}  {path.relative_to(root).as_posix()}"
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.name != CHECKSUMS
    ]
    return "\n".join(lines) + "\n"


def bundle_zip(root: Path, path: Path, *, folder: str) -> None:
    """Every file under ``root`` into the ZIP at ``path``, inside ``folder/``, in name order."""
    with zipfile.ZipFile(path, "w", allowZip64=True) as bundle:
        for source in sorted(root.rglob("*")):
            if not source.is_file():
                continue
            compression = zipfile.ZIP_STORED if source.suffix in STORED else zipfile.ZIP_DEFLATED
            bundle.write(
                source, f"{folder}/{source.relative_to(root).as_posix()}", compress_type=compression
            )
