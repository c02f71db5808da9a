"""``datapackage.json``: the release as a Frictionless Tabular Data Package (v1).

One tabular data resource per table, pointing at its CSV, with the table's schema (field
names, types, titles, descriptions, the allowed codes of categorical fields), its size and
SHA-256 hash; the Parquet, Stata and SPSS files of the table are named in the resource's
``formats``. The descriptor is written as plain JSON from the export's own variables: the
``frictionless`` library is needed only to validate it (the tests do), not to write it.
"""

from pathlib import Path
from typing import Any

from aggregation.exports import ExportSource, Variable

PROFILE = "tabular-data-package"
FIELD_TYPES = {
    "string": "string",
    "category": "string",
    "integer": "integer",
    "float": "number",
    "boolean": "boolean",
    "date": "date",
}


def _field(source: ExportSource, variable: Variable) -> dict[str, Any]:
    field: dict[str, Any] = {
        "name": variable.name,
        "type": FIELD_TYPES[variable.kind],
        "title": variable.label,
    }
    if variable.note:
        field["description"] = variable.note
    if variable.kind == "category":
        field["constraints"] = {
            "enum": [value.label for value in source.label_sets[variable.labels]]
        }
    elif variable.kind == "boolean":  # 0/1 in the CSV
        field["trueValues"] = ["1"]
        field["falseValues"] = ["0"]
    elif variable.kind == "date":
        field["format"] = "default"  # ISO 8601, YYYY-MM-DD
    return field


def resource(
    source: ExportSource, *, csv_path: str, other_paths: dict[str, str], root: Path, sha256: str
) -> dict[str, Any]:
    return {
        "name": source.table,
        "title": f"{source.table.replace('_', ' ')} of wave {source.wave.slug}",
        "profile": "tabular-data-resource",
        "path": csv_path,
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "bytes": (root / csv_path).stat().st_size,
        "hash": f"sha256:{sha256}",
        "formats": other_paths,
        "schema": {
            "fields": [_field(source, variable) for variable in source.variables],
            "missingValues": [""],
        },
    }


def datapackage(
    *,
    name: str,
    title: str,
    version: str,
    created: str,
    resources: list[dict[str, Any]],
    licence: str,
    authors: list[str],
    description: str,
) -> dict[str, Any]:
    """The package descriptor; ``licence`` an SPDX id or empty (then none is stated)."""
    package: dict[str, Any] = {
        "profile": PROFILE,
        "name": name,
        "title": title,
        "description": description,
        "version": version,
        "created": created,
        "contributors": [{"title": author, "role": "author"} for author in authors],
        "resources": resources,
    }
    if licence:
        package["licenses"] = [{"name": licence}]
    return package
