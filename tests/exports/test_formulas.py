"""Text written to CSV and XLSX files is never a live formula; numbers stay numbers.

The files are read back with ``csv`` and openpyxl, as a spreadsheet would open them.
"""

import csv
import io
import zipfile

import pytest
from openpyxl import load_workbook

from aggregation import exports
from aggregation.exports.formulas import formula_neutralise
from surveys.models import InstrumentText, Panel, Wave

pytestmark = pytest.mark.django_db

TITLE = '=HYPERLINK("http://x","y")'


@pytest.mark.parametrize(
    ("text", "written"),
    [
        (TITLE, "'" + TITLE),
        ("+1+2", "'+1+2"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-3", "-3"),
        ("+1.5e3", "+1.5e3"),
        ("Moscow", "Moscow"),
        ("", ""),
    ],
)
def test_a_text_a_spreadsheet_would_run_gets_a_leading_apostrophe(text, written):
    assert formula_neutralise(text) == written


def _cells_are_text(values) -> None:
    for value in values:
        if isinstance(value, str) and value:
            assert value[0] not in "=@\t\r", value
            if value[0] in "+-":
                float(value)  # only a plain number may start with a sign


@pytest.fixture
def hostile_wave(demo):
    """The closed demo wave with a formula as its title and a formula as a panel code."""
    wave = Wave.objects.get(slug="2021")
    wave.title = TITLE
    wave.save(update_fields=["title"])
    Panel.objects.filter(code="MOW").update(code="=1+1")
    InstrumentText.objects.filter(panel__code="=1+1", field="city", language="en").update(
        text="@SUM(1)"
    )
    return wave


def test_a_formula_title_is_text_in_every_xlsx_sheet(hostile_wave, tmp_path):
    source = exports.export_source(wave=hostile_wave, table="ratings")
    path = tmp_path / "ratings.xlsx"
    exports.write_data(source, "xlsx", path)

    book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
                _cells_are_text([cell.value])
    metadata = dict(book["metadata"].iter_rows(min_row=2, values_only=True))
    assert metadata["wave_title"] == "'" + TITLE
    header, *rows = book["data"].iter_rows(values_only=True)
    assert "'=1+1" in {row[header.index("panel")] for row in rows}
    values = [row[header.index("value")] for row in rows]
    assert all(value is None or isinstance(value, int) for value in values)  # numbers stay
    codebook = [cell for row in book["codebook"].iter_rows(values_only=True) for cell in row]
    assert "'@SUM(1)" in codebook


def test_a_formula_is_text_in_the_csv_data_and_codebook(hostile_wave, tmp_path):
    source = exports.export_source(wave=hostile_wave, table="ratings")
    path = tmp_path / "ratings.zip"
    exports.write_bundle(source, "csv", path)
    with zipfile.ZipFile(path) as bundle:
        data = list(csv.reader(io.StringIO(bundle.read("2021_ratings.csv").decode())))
        codebook = list(csv.reader(io.StringIO(bundle.read("codebook.csv").decode())))
    header, rows = data[0], data[1:]
    panel = header.index("panel")
    assert "'=1+1" in {row[panel] for row in rows}
    for row in [*rows, *codebook]:
        _cells_are_text(row)
    assert "'@SUM(1)" in {cell for row in codebook for cell in row}
    value = header.index("value")
    assert all(row[value] == "" or row[value].isdigit() for row in rows)

    streamed = b"".join(exports.iter_csv(source)).decode()
    assert list(csv.reader(io.StringIO(streamed))) == data


def test_the_report_csv_of_a_wave_dashboard_is_neutralised_too():
    from reports import formats

    text = formats.csv_text(["wave"], [[TITLE], ["-3"]])
    assert list(csv.reader(io.StringIO(text))) == [["wave"], ["'" + TITLE], ["-3"]]
