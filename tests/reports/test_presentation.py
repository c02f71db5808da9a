"""The presentation modules of reports: number formats, heat-map colours, SVG charts and CSV,
without a database."""

import math
import xml.etree.ElementTree as ET

import pytest

from aggregation.selectors import (
    ActorPlace,
    ComparisonRoleRow,
    PanelProgress,
    StoredComparison,
    TrendPoint,
)
from reports import formats, progress, tables, wording
from reports import svg as svg_charts

SVG = "{http://www.w3.org/2000/svg}"


def role_row(role: str, mean_left, mean_right, **extra) -> ComparisonRoleRow:
    diff = None if mean_left is None or mean_right is None else mean_left - mean_right
    values = {
        "role": role,
        "role_name": role.replace("_", " ").capitalize(),
        "n_left": 12,
        "mean_left": mean_left,
        "sd_left": 1.0,
        "ci_low_left": None if mean_left is None else mean_left - 0.6,
        "ci_high_left": None if mean_left is None else mean_left + 0.6,
        "n_right": 11,
        "mean_right": mean_right,
        "sd_right": 1.2,
        "ci_low_right": None if mean_right is None else mean_right - 0.7,
        "ci_high_right": None if mean_right is None else mean_right + 0.7,
        "diff": diff,
        "diff_ci_low": None if diff is None else diff - 1,
        "diff_ci_high": None if diff is None else diff + 1,
        "se_diff": None if diff is None else 0.5,
        "t": None if diff is None else diff / 0.5,
        "df": None if diff is None else 20.5,
        "hedges_g": None if diff is None else diff / 1.1,
        "p_value": 0.001,
        "p_adjusted": 0.002,
        "family_size": 2,
        "family": "comparison",
    }
    values.update(extra)
    return ComparisonRoleRow(**values)


@pytest.fixture
def armenia() -> StoredComparison:
    return StoredComparison(
        run_id=1,
        preset="ascribed_vs_conceived",
        subject="ARM",
        subject_name="Armenia",
        left_label="expectation RUS→ARM (MOW)",
        right_label="conception ARM→ARM (YER)",
        method="welch",
        dominant_left="protectee",
        dominant_right="independent",
        profile_distance=10.2,
        rows=(
            role_row("protectee", 8.83, 3.08),
            role_row("independent", 3.1, 8.18),
            role_row("bridge", None, 4.0),
        ),
    )


@pytest.fixture
def places() -> dict[str, ActorPlace]:
    return {
        "RUS": ActorPlace("RUS", "Russia", "MOW", "Moscow"),
        "ARM": ActorPlace("ARM", "Armenia", "YER", "Yerevan"),
        "KAZ": ActorPlace("KAZ", "Kazakhstan", "AST", "Astana"),
        "CSTO": ActorPlace("CSTO", "CSTO", None, None),
    }


# Numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1.234, "1.23"),
        (-1.235, "−1.24"),
        (0, "0.00"),
        (-0.001, "0.00"),
        (None, "–"),
        (math.nan, "–"),
        (math.inf, "–"),
    ],
)
def test_fmt_has_two_decimals_a_true_minus_and_a_dash_for_nan(value, text):
    assert formats.fmt(value) == text


def test_ci_and_p_formats():
    assert formats.fmt_ci(1.0, 2.5) == "[1.00, 2.50]"
    assert formats.fmt_ci(None, 2.5) == "–"
    assert formats.fmt_p(0.0004) == "<0.001"
    assert formats.fmt_p(0.0312) == "0.031"
    assert formats.fmt_p(math.nan) == "–"
    assert formats.fmt_rate(0.8) == "80 %"
    assert formats.csv_number(math.nan) == ""
    assert formats.csv_number(0.1) == "0.1"


# Heat map -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "css"),
    [
        (0.1, "heat-0"),
        (-0.2, "heat-0"),
        (0.25, "heat-p1"),
        (1.5, "heat-p2"),
        (-2.5, "heat-n3"),
        (3.9, "heat-p4"),
        (-7.0, "heat-n5"),
        (None, "heat-na"),
        (math.nan, "heat-na"),
    ],
)
def test_heat_class_is_diverging_and_symmetric(value, css):
    assert formats.heat_class(value) == css


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("level", sorted(formats.HEAT_COLOURS))
def test_text_is_readable_on_every_heat_colour(level):
    background, text = formats.HEAT_COLOURS[level]
    assert _contrast(background, text) >= 4.5


def test_heat_scale_runs_blue_white_red():
    blue, white, red = (formats.HEAT_COLOURS[level][0] for level in (-5, 0, 5))
    assert int(blue[5:7], 16) > int(blue[1:3], 16)  # more blue than red
    assert int(red[1:3], 16) > int(red[5:7], 16)
    assert _luminance(white) > 0.9
    css = formats.heat_css()
    assert ".heat-p5{background:#67001f;color:#ffffff}" in css
    assert ".heat-na" in css


def test_heat_legend_covers_the_scale_in_order():
    legend = formats.heat_legend()
    assert [step.css for step in legend] == [
        "heat-n5",
        "heat-n4",
        "heat-n3",
        "heat-n2",
        "heat-n1",
        "heat-0",
        "heat-p1",
        "heat-p2",
        "heat-p3",
        "heat-p4",
        "heat-p5",
    ]
    assert legend[0].label == "≤ −4" and legend[-1].label == "≥ 4"


# Comparisons ----------------------------------------------------------------------------------


def test_preset_sides_name_the_cities(armenia, places):
    left, right = wording.preset_sides(armenia, places)
    assert left.short == "Ascribed (Moscow)"
    assert right.short == "Self-conceived (Yerevan)"
    assert "ascribed to Armenia by Russia" in left.long
    assert "self-conceived by Armenia" in right.long


def test_comparison_view_names_dominant_roles_and_sorts_by_difference(armenia, places):
    view = tables.comparison_view(armenia, places)
    assert view.dominant_left.role_name == "Protectee"
    assert view.dominant_left.mean == "8.83"
    assert view.dominant_right.role_name == "Independent"
    assert view.profile_distance == "10.20"
    assert [row.role for row in view.rows] == ["protectee", "independent", "bridge"]
    protectee, independent, bridge = view.rows
    assert protectee.diff.text == "5.75" and protectee.diff.css == "heat-p5"
    assert independent.diff.css == "heat-n5"
    assert bridge.diff.text == "–" and bridge.diff.css == "heat-na" and bridge.left == "–"
    assert protectee.p_adjusted.css == "sig"


def test_overview_matrix_marks_roles_a_subject_was_not_asked(armenia):
    other = StoredComparison(
        **{
            **armenia.__dict__,
            "subject": "KAZ",
            "subject_name": "Kazakhstan",
            "right_label": "conception KAZ→KAZ (AST)",
            "rows": (role_row("faithful_ally", 8.7, 4.0),),
        }
    )
    matrix = tables.overview_matrix([armenia, other])
    assert [code for code, _ in matrix.roles] == [
        "protectee",
        "independent",
        "bridge",
        "faithful_ally",
    ]
    kazakhstan = matrix.rows[1]
    assert [cell.text for cell in kazakhstan.cells] == ["–", "–", "–", "4.70"]
    assert "adjusted p 0.002" in kazakhstan.cells[3].title
    assert kazakhstan.cells[3].css == "heat-p5 sig" and kazakhstan.cells[0].css == "heat-na"


def test_overview_sides_generalise_the_subject(armenia, places):
    other = StoredComparison(
        **{**armenia.__dict__, "subject": "KAZ", "right_label": "conception KAZ→KAZ (AST)"}
    )
    left, right = wording.overview_sides([armenia, other], places)
    assert left.short == "Ascribed (Moscow)"
    assert "the actor" in right.long and "home" in right.long


def test_comparison_csv_has_full_precision_and_empty_missing(armenia):
    rows = tables.comparison_csv_rows("2025", [armenia])
    header = tables.COMPARISON_CSV_HEADER
    protectee = dict(zip(header, rows[0], strict=True))
    assert protectee["wave"] == "2025" and protectee["role"] == "protectee"
    assert float(protectee["diff"]) == pytest.approx(8.83 - 3.08)
    assert dict(zip(header, rows[2], strict=True))["mean_left"] == ""
    assert (protectee["t"], protectee["df"], protectee["family_size"]) == ("11.5", "20.5", "2")


# SVG ------------------------------------------------------------------------------------------


def _parse(svg: str) -> ET.Element:
    return ET.fromstring(str(svg))


def _texts(root: ET.Element) -> str:
    return " ".join("".join(element.itertext()) for element in root.iter(f"{SVG}text"))


def test_dot_whisker_is_well_formed_with_axis_legend_and_escaped_labels():
    svg = svg_charts.dot_whisker_svg(
        [
            svg_charts.DotRow("Protectee", (8.8, 8.0, 9.6), (3.1, 2.1, 4.1)),
            svg_charts.DotRow("<script>alert(1)</script> & co", (None, None, None), (5, 4, 6)),
        ],
        left_label="Ascribed (Moscow)",
        right_label='Self "conceived"',
        title="Armenia & Russia",
    )
    assert "<script>" not in svg
    root = _parse(svg)
    text = _texts(root)
    assert "Ascribed (Moscow)" in text and 'Self "conceived"' in text
    assert "Mean rating (0–10) with 95 % CI" in text
    titles = " ".join(element.text or "" for element in root.iter(f"{SVG}title"))
    assert "<script>alert(1)</script> & co" in titles  # shown as text, never run
    circles = list(root.iter(f"{SVG}circle"))
    assert len(circles) == 2 + 3  # two legend dots, three data dots (one mean is missing)


def test_label_lines_wrap_long_role_names():
    assert svg_charts.label_lines("Protectee") == ["Protectee"]
    assert svg_charts.label_lines("Regional-subsystem collaborator") == [
        "Regional-subsystem",
        "collaborator",
    ]
    assert svg_charts.label_lines("Bastion of revolution – liberator") == [
        "Bastion of revolution",
        "– liberator",
    ]


def test_line_chart_draws_bands_breaks_gaps_and_handles_one_wave():
    series = [
        svg_charts.Series("Independent", [(5.7, 4.9, 6.5), (8.2, 6.9, 9.5)]),
        svg_charts.Series("Protectee", [None, (3.1, 2.1, 4.1)]),
    ]
    root = _parse(
        svg_charts.line_chart_svg(
            x_labels=["2021", "2025"],
            series=series,
            y_label="Mean rating (0–10)",
            x_label="Wave",
            title="Trend",
            y_domain=(0, 10),
        )
    )
    assert len(list(root.iter(f"{SVG}polygon"))) == 1  # one band: the complete series
    assert len(list(root.iter(f"{SVG}polyline"))) == 1  # the gap breaks the other line
    text = _texts(root)
    assert "Wave" in text and "Mean rating (0–10)" in text and "Protectee" in text
    single = _parse(
        svg_charts.line_chart_svg(
            x_labels=["2025"],
            series=[svg_charts.Series("Independent", [(8.2, 6.9, 9.5)])],
            y_label="d",
            x_label="Wave",
            title="One wave",
            zero_line=True,
        )
    )
    assert len(list(single.iter(f"{SVG}circle"))) == 2  # legend dot and the point


def test_trend_view_picks_the_largest_roles_and_tabulates_every_wave():
    points = [
        TrendPoint("2021", "independent", "Independent", 5.7, 4.9, 6.5, 13),
        TrendPoint("2025", "independent", "Independent", 8.2, 6.9, 9.5, 11),
        TrendPoint("2021", "bridge", "Bridge", 4.4, 3.9, 4.9, 15),
        TrendPoint("2021", "isolate", "Isolate", math.nan, None, None, 0),
    ]
    roles = tables.trend_default_roles(points, limit=2)
    assert roles == ["independent", "bridge"]
    view = tables.trend_view(
        points, waves=["2021", "2025"], roles=roles, y_label="m", title="t", differences=False
    )
    assert view.rows[1].cells == ["4.40 [3.90, 4.90] n=15", "–"]
    assert len(tables.trend_csv_rows(points, roles)) == 3


def test_progress_rows_add_a_total_and_the_chart_is_well_formed():
    panels = [
        PanelProgress("MOW", "Moscow", invited=15, sent=10, started=1, submitted=12),
        PanelProgress("YER", "Yerevan", invited=0, sent=0, started=0, submitted=0),
    ]
    rows = progress.progress_rows(panels)
    assert rows[0].response_rate == "80 %" and rows[0].not_started == 2
    assert rows[1].response_rate == "–"
    assert rows[-1].city == "All panels" and rows[-1].invited == 15
    root = _parse(progress.progress_svg(panels, title="Response"))
    assert "Share of invited experts" in _texts(root)


def test_csv_text_quotes_and_defuses_formulas():
    text = formats.csv_text(["a", "b"], [["=HYPERLINK(1)", "-1.5"], ["x,y", "@me"]])
    lines = text.splitlines()
    assert lines[0] == "a,b"
    assert lines[1] == "'=HYPERLINK(1),-1.5"
    assert lines[2] == '"x,y",\'@me'
