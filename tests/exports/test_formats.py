"""Every export format read back gives the database's values and labels.

CSV, XLSX, Parquet and JSON are read with pandas, ``.dta`` and ``.sav`` with pyreadstat; the
expected tables are queried here straight from the ORM, independently of the exporter.
"""

import csv
import io
import json
import zipfile
from datetime import date, datetime
from io import StringIO
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pyreadstat
import pytest
from django.core.management import CommandError, call_command

from aggregation import exports
from aggregation.models import CellResult, ComparisonResult
from aggregation.selectors import run_latest_complete
from surveys.models import Actor, AuditEntry, Panel, Rating, Response, Role, Wave

pytestmark = pytest.mark.django_db

SORT_KEYS = {
    "ratings": ["pseudonym", "holder", "subject", "perspective", "role"],
    "cells": ["panel", "holder", "subject", "perspective", "role"],
    "comparisons": ["preset", "subject", "role"],
}


# What the database holds ---------------------------------------------------------------------


def expected_ratings(wave: Wave) -> pd.DataFrame:
    rows = Rating.objects.filter(
        response__wave=wave, response__status=Response.Status.SUBMITTED
    ).values_list(
        "response__pseudonym",
        "response__panel__code",
        "item__block__holder__code",
        "item__block__subject__code",
        "item__block__perspective",
        "item__role__code",
        "value",
        "cannot_judge",
        "confidence",
        "response__submitted_at",
        "response__source",
    )
    frame = pd.DataFrame(list(rows), columns=[v.name for v in exports.RATINGS_VARIABLES[1:-1]])
    # Month precision by default; every demo group has at least five responses.
    frame["submitted_on"] = [moment.date().replace(day=1) for moment in frame["submitted_on"]]
    frame.insert(0, "wave", wave.slug)
    frame["round"] = pd.array([1] * len(frame), dtype="Int64")  # an ordinary wave: round 1
    return frame


def expected_results(wave: Wave, table: str) -> pd.DataFrame:
    run = run_latest_complete(wave=wave)
    variables = exports.VARIABLES[table]
    fields = {
        "panel": "panel__code",
        "holder": "holder__code",
        "subject": "subject__code",
        "role": "role__code",
    }
    model = CellResult if table == "cells" else ComparisonResult
    rows = model.objects.filter(run=run, estimator="plain_means").values_list(
        *(fields.get(v.name, v.name) for v in variables[1:])
    )
    frame = pd.DataFrame(list(rows), columns=[v.name for v in variables[1:]])
    if "panel" in frame:
        frame["panel"] = frame["panel"].fillna("ALL")
    frame.insert(0, "wave", wave.slug)
    return frame


def expected(wave: Wave, table: str) -> pd.DataFrame:
    return expected_ratings(wave) if table == "ratings" else expected_results(wave, table)


def expected_value_labels(table: str) -> dict[str, dict[int, str]]:
    panels = dict(Panel.objects.values_list("pk", "code"))
    if table == "cells":
        panels[0] = "ALL"
    sets = {
        "panel": panels,
        "actor": dict(Actor.objects.values_list("pk", "code")),
        "role": dict(Role.objects.values_list("pk", "code")),
        "perspective": {1: "conception", 2: "expectation", 3: "performance"},
        "source": {1: "web", 2: "import"},
    }
    return {v.name: sets[v.labels] for v in exports.VARIABLES[table] if v.kind == "category"}


# Reading back --------------------------------------------------------------------------------


def normalised(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    """Types made comparable: text as str, numbers as float, flags as bool, dates as date."""
    frame = frame.copy()
    for variable in exports.VARIABLES[table]:
        column = frame[variable.name]
        if variable.kind in ("string", "category"):
            frame[variable.name] = [
                "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)
                for value in column
            ]
        elif variable.kind in ("integer", "float"):
            frame[variable.name] = pd.to_numeric(column).astype("float64")
        elif variable.kind == "boolean":
            frame[variable.name] = [bool(int(value)) for value in column]
        elif variable.kind == "date":
            frame[variable.name] = [
                value.date()
                if isinstance(value, datetime)
                else value
                if isinstance(value, date)
                else date.fromisoformat(str(value)[:10])
                for value in column
            ]
    frame = frame[[v.name for v in exports.VARIABLES[table]]]
    return frame.sort_values(SORT_KEYS[table]).reset_index(drop=True)


TEXT_COLUMNS = {"wave": str, "pseudonym": str, "preset": str, "method": str}


def read_back(path: Path, file_format: str, table: str) -> tuple[pd.DataFrame, object]:
    """The data of an export file as pandas reads it, and the file's metadata if any."""
    text = {v.name: str for v in exports.VARIABLES[table] if v.kind in ("string", "category")}
    if file_format == "csv":
        return pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""]), None
    if file_format == "json":
        return pd.read_json(path, orient="records", dtype=text), None
    if file_format == "xlsx":
        return pd.read_excel(path, sheet_name="data", dtype=text), None
    if file_format == "parquet":
        return pd.read_parquet(path), pq.read_schema(path).metadata
    reader = pyreadstat.read_dta if file_format == "dta" else pyreadstat.read_sav
    frame, meta = reader(str(path), apply_value_formats=True)
    return frame, meta


# Tests ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("table", exports.TABLES)
@pytest.mark.parametrize("file_format", exports.FORMATS)
def test_every_format_reads_back_as_the_database(demo, tmp_path, table, file_format):
    wave = Wave.objects.get(slug="2021")
    source = exports.export_source(wave=wave, table=table)
    path = tmp_path / f"data.{file_format}"
    exports.write_data(source, file_format, path)

    frame, meta = read_back(path, file_format, table)
    want = normalised(expected(wave, table), table)
    assert len(want) == source.rows > 0
    pd.testing.assert_frame_equal(normalised(frame, table), want, check_exact=False, rtol=1e-12)

    if file_format in ("dta", "sav"):
        assert meta.variable_value_labels == expected_value_labels(table)
        assert meta.column_names_to_labels == {v.name: v.label for v in source.variables}
        codes, _ = (pyreadstat.read_dta if file_format == "dta" else pyreadstat.read_sav)(str(path))
        assert set(codes["role"].astype(int)) <= set(Role.objects.values_list("pk", flat=True))
    if file_format == "parquet":
        embedded = json.loads(meta[b"rolesurvey.metadata"])
        assert embedded["aggregation_run"]["id"] == run_latest_complete(wave=wave).pk
        assert json.loads(meta[b"rolesurvey.codebook"])["variables"][0]["name"] == "wave"
    if file_format == "xlsx":
        sheets = pd.read_excel(path, sheet_name=None)
        assert set(sheets) == {"data", "codebook", "metadata"}


@pytest.mark.parametrize("table", exports.TABLES)
def test_a_bundle_holds_data_codebook_and_metadata(demo, tmp_path, table):
    wave = Wave.objects.get(slug="2025")
    run = run_latest_complete(wave=wave)
    source = exports.export_source(wave=wave, table=table)
    path = tmp_path / "bundle.zip"
    exports.export_write(source=source, file_format="sav", path=path)
    with zipfile.ZipFile(path) as bundle:
        assert set(bundle.namelist()) == {
            f"2025_{table}.sav",
            "codebook.csv",
            "codebook.json",
            "metadata.json",
        }
        metadata = json.loads(bundle.read("metadata.json"))
        codebook = json.loads(bundle.read("codebook.json"))
        codebook_csv = pd.read_csv(StringIO(bundle.read("codebook.csv").decode()), dtype=str)
    assert metadata["wave"] == "2025"
    assert metadata["table"] == table
    assert metadata["format"] == "sav"
    assert metadata["rows"] == source.rows
    assert metadata["aggregation_run"]["id"] == run.pk
    assert metadata["estimator"] == run.estimator_name == "plain_means"
    assert metadata["estimator_version"] == run.estimator_version
    assert datetime.fromisoformat(metadata["generated_at"])
    assert [v["name"] for v in codebook["variables"]] == source.columns
    labels = expected_value_labels(table)
    for variable in codebook["variables"]:
        if variable["name"] in labels:
            assert {v["code"]: v["label"] for v in variable["values"]} == labels[variable["name"]]
    assert set(codebook_csv["variable"]) == set(source.columns)
    role_rows = codebook_csv[
        (codebook_csv["variable"] == "role") & codebook_csv["value_label"].notna()
    ]
    assert "protectee" in set(role_rows["value_label"])


def test_large_tables_stream_in_chunks_and_row_groups(demo, tmp_path, monkeypatch):
    monkeypatch.setattr(exports.sources, "CHUNK_ROWS", 1000)
    wave = Wave.objects.get(slug="2025")
    source = exports.export_source(wave=wave, table="ratings")
    assert source.rows > 3000
    pieces = list(exports.iter_csv(source))
    assert len(pieces) == -(-source.rows // 1000)
    assert sum(piece.count(b"\n") for piece in pieces) == source.rows + 1
    path = tmp_path / "ratings.parquet"
    exports.write_parquet(source, path)
    parquet = pq.ParquetFile(path)
    assert parquet.metadata.num_row_groups == len(pieces)
    assert parquet.metadata.num_rows == source.rows
    records = json.loads(b"".join(exports.iter_json(source)))
    assert len(records) == source.rows


def test_an_empty_table_still_exports_its_columns(demo, tmp_path):
    wave = Wave.objects.create(slug="empty", title="No answers yet")
    source = exports.export_source(wave=wave, table="ratings")
    assert source.rows == 0
    for file_format in exports.FORMATS:
        path = tmp_path / f"empty.{file_format}"
        exports.write_data(source, file_format, path)
        frame, _ = read_back(path, file_format, "ratings")
        assert len(frame) == 0
        if file_format != "json":  # an empty JSON array has no keys to name columns
            assert list(frame.columns) == source.columns


def test_results_need_a_complete_run_and_xlsx_has_a_row_limit(demo, monkeypatch, tmp_path):
    wave = Wave.objects.create(slug="not-aggregated", title="Not aggregated")
    with pytest.raises(exports.ExportError, match="no complete aggregation run"):
        exports.export_source(wave=wave, table="cells")
    with pytest.raises(exports.ExportError, match="Unknown table"):
        exports.export_source(wave=wave, table="experts")
    monkeypatch.setattr(exports.sources, "XLSX_MAX_ROWS", 10)
    source = exports.export_source(wave=Wave.objects.get(slug="2025"), table="cells")
    with pytest.raises(exports.ExportError, match="Excel sheet holds at most"):
        exports.write_data(source, "xlsx", tmp_path / "cells.xlsx")


def test_the_export_command_writes_a_bundle_or_a_file_with_sidecars(demo, tmp_path):
    out = StringIO()
    call_command(
        "export",
        "2025",
        "--table",
        "cells",
        "--format",
        "dta",
        "--out",
        str(tmp_path / "c.zip"),
        stdout=out,
    )
    assert "556 rows" in out.getvalue() or "rows" in out.getvalue()
    with zipfile.ZipFile(tmp_path / "c.zip") as bundle:
        assert "2025_cells.dta" in bundle.namelist()

    call_command(
        "export",
        "2021",
        "--table",
        "ratings",
        "--format",
        "csv",
        "--out",
        str(tmp_path / "ratings.csv"),
        stdout=StringIO(),
    )
    for name in (
        "ratings.csv",
        "ratings.codebook.csv",
        "ratings.codebook.json",
        "ratings.metadata.json",
    ):
        assert (tmp_path / name).exists(), name
    metadata = json.loads((tmp_path / "ratings.metadata.json").read_text())
    assert metadata["rows"] == len(pd.read_csv(tmp_path / "ratings.csv"))

    audit = AuditEntry.objects.filter(action="export.create").order_by("id")
    assert [(a.detail["table"], a.detail["format"], a.detail["wave"]) for a in audit] == [
        ("cells", "dta", "2025"),
        ("ratings", "csv", "2021"),
    ]
    assert audit.last().detail["rows"] == metadata["rows"]

    with pytest.raises(CommandError, match="No wave"):
        call_command(
            "export",
            "1999",
            "--table",
            "cells",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "x.csv"),
        )
    Wave.objects.create(slug="fresh", title="Fresh")
    with pytest.raises(CommandError, match="no complete aggregation run"):
        call_command(
            "export",
            "fresh",
            "--table",
            "cells",
            "--format",
            "csv",
            "--out",
            str(tmp_path / "x.csv"),
        )


def test_json_writes_every_double_so_that_it_reads_back_the_same():
    import json

    import pandas as pd

    from aggregation.exports.writers import json_records

    values = [3.35e-15, 0.1 + 0.2, 1 / 3, 123456789.12345678]
    frame = pd.DataFrame(
        {
            "p": values,
            "n": pd.array([1, None, 3, 4], dtype="Int64"),
            "flag": [True, False, True, False],
            "code": ["MOW", None, "YER", "AST"],
        }
    )
    text = json_records(frame)
    assert '"p": 3.35e-15' in text and '"p": 0.30000000000000004' in text
    back = json.loads(text)
    assert [row["p"] for row in back] == values
    assert [row["n"] for row in back] == [1, None, 3, 4]
    assert [row["flag"] for row in back] == [True, False, True, False]
    assert back[1]["code"] is None


def test_a_delphi_round_carries_its_round_number_in_every_rating_row(demo):
    # An ordinary wave is round 1, as round 1 of a Delphi study: both are the primary data.
    for slug, number in (("delphi-2019", "1"), ("delphi-2019-r2", "2"), ("2025", "1")):
        source = exports.export_source(wave=Wave.objects.get(slug=slug), table="ratings")
        rows = list(csv.DictReader(io.StringIO(b"".join(exports.iter_csv(source)).decode())))
        assert rows and {row["round"] for row in rows} == {number}, slug


@pytest.mark.parametrize("file_format", ["dta", "sav", "json"])
def test_the_round_reads_back_from_stata_spss_and_json(demo, tmp_path, file_format):
    for slug, number in (("delphi-2019-r2", 2), ("2021", 1)):
        source = exports.export_source(wave=Wave.objects.get(slug=slug), table="ratings")
        path = tmp_path / f"{slug}.{file_format}"
        exports.write_data(source, file_format, path)
        frame, meta = read_back(path, file_format, "ratings")
        assert len(frame) == source.rows > 0
        assert set(frame["round"]) == {number}, (slug, file_format)
        if meta is not None:
            assert meta.column_names_to_labels["round"].startswith("Delphi round")


def test_the_codebook_says_how_later_rounds_are_treated(demo):
    source = exports.export_source(wave=Wave.objects.get(slug="delphi-2019-r2"), table="ratings")
    entry = next(v for v in exports.codebook(source)["variables"] if v["name"] == "round")
    assert entry["type"] == "integer"
    assert "primary data" in entry["note"]
    assert "never pooled with it" in entry["note"]
    rows = {row[0]: row for row in exports.codebook_rows(source)[1:]}
    assert rows["round"][6] == entry["note"]
