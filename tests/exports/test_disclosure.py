"""Exports and the API that do not identify: rows by pseudonym, coarse dates, no small group.

The pure functions are tested on literal frames; the exports and the ratings API on the demo.
"""

import csv
import io
import json
import zipfile
from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from django.test import override_settings
from scipy.stats import spearmanr

from aggregation import exports
from aggregation.exports.disclosure import (
    SmallGroupError,
    date_coarsen,
    submission_dates_release,
)
from surveys.models import Response, Wave
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db


# Pure functions --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("precision", "coarse"),
    [
        ("month", date(2025, 3, 1)),
        ("week", date(2025, 3, 17)),  # the Monday of its ISO week
        ("day", date(2025, 3, 19)),
        ("none", None),
    ],
)
def test_a_date_is_coarsened_to_the_first_day_of_its_period(precision, coarse):
    assert date_coarsen(date(2025, 3, 19), precision=precision) == coarse


def _responses(days: list[date], panel: int = 1, wave: int = 1) -> pd.DataFrame:
    return pd.DataFrame(
        {"wave": wave, "panel": panel, "submitted_on": days},
        index=range(100 * panel, 100 * panel + len(days)),
    )


def test_groups_of_at_least_k_keep_their_coarse_dates():
    responses = _responses([date(2025, 3, day) for day in range(1, 13)])
    released, disclosure = submission_dates_release(responses, precision="month", min_group_size=5)
    assert set(released) == {date(2025, 3, 1)}
    assert disclosure.suppressed_responses == disclosure.small_groups == 0
    assert disclosure.warnings == []


def test_a_small_group_is_blanked_with_the_next_smallest_until_k_are_blank():
    days = [date(2025, 3, 2)] * 6 + [date(2025, 4, 2)] * 5 + [date(2025, 5, 2)]
    released, disclosure = submission_dates_release(
        _responses(days), precision="month", min_group_size=5
    )
    # May alone (1) would be "the one without a date": April (5) is blanked with it.
    assert list(released) == [date(2025, 3, 1)] * 6 + [None] * 6
    assert (disclosure.small_groups, disclosure.suppressed_responses) == (1, 6)
    assert "fewer than 5" in disclosure.warnings[0]


def test_a_panel_smaller_than_k_gives_no_date_and_is_named_in_the_warnings():
    responses = pd.concat(
        [_responses([date(2025, 3, 2)] * 3, panel=1), _responses([date(2025, 3, 2)] * 7, panel=2)]
    )
    released, disclosure = submission_dates_release(
        responses, precision="month", min_group_size=5, panel_names={1: "DYU", 2: "MOW"}
    )
    assert list(released) == [None] * 3 + [date(2025, 3, 1)] * 7
    assert disclosure.small_panels == ("DYU",)
    assert "DYU" in disclosure.warnings[-1]


def test_refusing_small_groups_raises_with_counts_only():
    days = [date(2025, 3, 2)] * 6 + [date(2025, 4, 2)]
    with pytest.raises(SmallGroupError, match="1 wave × panel × date groups"):
        submission_dates_release(
            _responses(days), precision="month", min_group_size=5, action="refuse"
        )
    released, _ = submission_dates_release(
        _responses(days), precision="none", min_group_size=5, action="refuse"
    )
    assert set(released) == {None}


# Exports of the demo ---------------------------------------------------------------------------


def _csv_rows(source: exports.ExportSource) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(exports.iter_csv(source)).decode())))


def test_raw_ratings_are_ordered_by_pseudonym_not_by_expert(demo):
    wave = Wave.objects.get(slug="2025")
    rows = _csv_rows(exports.export_source(wave=wave, table="ratings"))
    pseudonyms = [row["pseudonym"] for row in rows]
    assert pseudonyms == sorted(pseudonyms)
    order = list(dict.fromkeys(pseudonyms))
    expert_of = dict(
        Response.objects.filter(wave=wave, status="submitted").values_list(
            "pseudonym", "invitation__expert_id"
        )
    )
    assert len(order) == 60 and None not in expert_of.values()
    rho = spearmanr(range(len(order)), [expert_of[p] for p in order]).statistic
    # Stored order gave rho = 1; 60 random pseudonyms give |rho| > 0.5 once in ~10^4 runs.
    assert abs(rho) < 0.5, rho
    stored = list(
        dict.fromkeys(
            exports.sources._submitted_ratings(wave, datetime.now(UTC), 10**12)
            .order_by("pk")
            .values_list("response__invitation__expert_id", flat=True)
        )
    )
    assert spearmanr(range(len(stored)), stored).statistic > 0.99  # what the fix prevents


def test_every_rating_says_where_it_came_from(demo):
    wave = Wave.objects.get(slug="2025")
    imported = Response.objects.filter(wave=wave, status="submitted", panel__code="YER")
    imported.update(source=Response.Source.IMPORT)
    source = exports.export_source(wave=wave, table="ratings")
    rows = _csv_rows(source)
    assert {row["source"] for row in rows if row["panel"] == "YER"} == {"import"}
    assert {row["source"] for row in rows if row["panel"] != "YER"} == {"web"}
    entry = next(v for v in exports.codebook(source)["variables"] if v["name"] == "source")
    assert [value["label"] for value in entry["values"]] == ["web", "import"]
    assert "imported from a file" in entry["note"]


def _spread_moscow(wave: Wave) -> None:
    """Five Moscow responses a month earlier, one two months earlier: groups of 6, 5, 1."""
    moscow = list(
        Response.objects.filter(wave=wave, status="submitted", panel__code="MOW").order_by(
            "pseudonym"
        )
    )
    base = moscow[0].submitted_at.replace(day=10)
    for response, shift in zip(moscow, [40] * 5 + [70], strict=False):
        Response.objects.filter(pk=response.pk).update(submitted_at=base - timedelta(days=shift))


def test_small_groups_lose_their_dates_and_the_metadata_says_so(demo, tmp_path):
    wave = Wave.objects.get(slug="2025")
    _spread_moscow(wave)
    source = exports.export_source(wave=wave, table="ratings")
    rows = _csv_rows(source)
    moscow = {row["pseudonym"]: row["submitted_on"] for row in rows if row["panel"] == "MOW"}
    assert sorted(moscow.values()).count("") == 6
    assert len({day for day in moscow.values() if day}) == 1
    assert all(row["submitted_on"].endswith("-01") for row in rows if row["panel"] != "MOW")

    for file_format in exports.FORMATS:  # an empty date is a missing value in every format
        exports.write_data(source, file_format, tmp_path / f"ratings.{file_format}")
    frame = pd.read_parquet(tmp_path / "ratings.parquet")
    assert frame["submitted_on"].isna().sum() == sum(row["submitted_on"] == "" for row in rows)
    path = tmp_path / "ratings.zip"
    exports.write_bundle(source, "xlsx", path)
    with zipfile.ZipFile(path) as bundle:
        metadata = json.loads(bundle.read("metadata.json"))
        codebook = json.loads(bundle.read("codebook.json"))
    assert metadata["submitted_on"] == {
        "precision": "month",
        "min_group_size": 5,
        "small_groups": 1,
        "suppressed_responses": 6,
        "small_panels": [],
    }
    assert "6 responses is left empty" in metadata["warnings"][0]
    entry = next(v for v in codebook["variables"] if v["name"] == "submitted_on")
    assert "k = 5" in entry["note"] and "first day" in entry["label"]


@override_settings(EXPORT_SMALL_GROUPS="refuse")
def test_an_export_with_a_small_group_is_refused_when_the_setting_says_so(demo):
    wave = Wave.objects.get(slug="2025")
    assert exports.export_source(wave=wave, table="ratings").disclosure.small_groups == 0
    _spread_moscow(wave)
    with pytest.raises(exports.ExportError, match="Refused: 1 wave × panel × date groups"):
        exports.export_source(wave=wave, table="ratings")
    client = api_client(demo.researcher)
    response = client.get("/api/v1/exports/2025/ratings/download/")
    assert response.status_code == 400 and "EXPORT_DATE_PRECISION" in response.json()["detail"]
    job = {"wave": "2025", "table": "ratings", "file_format": "csv"}
    assert client.post("/api/v1/export-jobs/", job, format="json").status_code == 400
    assert client.get("/api/v1/ratings/", {"wave": "2025"}).status_code == 409


@pytest.mark.parametrize(("precision", "day"), [("week", 0), ("day", None), ("none", "")])
def test_the_date_precision_is_a_setting(demo, precision, day):
    wave = Wave.objects.get(slug="2021")  # every response on 15 April 2021, a Thursday
    with override_settings(EXPORT_DATE_PRECISION=precision):
        rows = _csv_rows(exports.export_source(wave=wave, table="ratings"))
    dates = {row["submitted_on"] for row in rows}
    if precision == "week":
        assert dates == {"2021-04-12"}
    elif precision == "day":
        assert dates == {"2021-04-15"}
    else:
        assert dates == {day}


# The ratings API -------------------------------------------------------------------------------


def _every_row(client, **params) -> list[dict]:
    rows, url = [], "/api/v1/ratings/"
    while url:
        body = client.get(url, params).json()
        rows += body["results"]
        url, params = body["next"], None
    return rows


def test_the_ratings_api_pages_by_pseudonym_with_coarse_dates(demo):
    wave = Wave.objects.get(slug="2025")
    _spread_moscow(wave)
    rows = _every_row(api_client(demo.researcher), wave="2025", page_size=700)
    keys = [row["pseudonym"] for row in rows]
    assert keys == sorted(keys) and len(rows) == len(
        _csv_rows(exports.export_source(wave=wave, table="ratings"))
    )
    moscow = {row["pseudonym"]: row["submitted_on"] for row in rows if row["panel"] == "MOW"}
    assert list(moscow.values()).count(None) == 6
    dated = [row["submitted_on"] for row in rows if row["submitted_on"]]
    assert dated and all(day.endswith("-01") for day in dated)
    assert {row["source"] for row in rows} == {"web"}
