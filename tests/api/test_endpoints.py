"""What the endpoints return: the newest complete run's results, filters on every dimension,
cursor pages through all rows, anonymised ratings with exactly their fields, trends by wave."""

from datetime import date

import pytest
from django.utils import timezone

from aggregation.models import AggregationRun, CellResult, ComparisonResult, ReliabilityResult
from aggregation.selectors import run_latest_complete
from aggregation.services import aggregation_run_wave
from surveys.models import Item, Rating, Response, Wave
from tests.api.demo import api_client

pytestmark = pytest.mark.django_db

RATING_FIELDS = {
    "source",
    "wave",
    "round",
    "pseudonym",
    "panel",
    "holder",
    "subject",
    "perspective",
    "role",
    "value",
    "cannot_judge",
    "confidence",
    "submitted_on",
}


def every_row(client, url: str, **params) -> list[dict]:
    """All rows of a list endpoint, following its next links."""
    rows = []
    response = client.get(url, params)
    while True:
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        if not body["next"]:
            return rows
        response = client.get(body["next"])


def aggregated_waves():
    """The demo's waves that the API tests aggregate (not the Delphi study's rounds)."""
    return Wave.objects.filter(slug__in=["2021", "2025"])


@pytest.fixture
def client(demo):
    return api_client(demo.researcher)


def test_cells_come_from_the_newest_complete_run_of_each_wave(client):
    rows = every_row(client, "/api/v1/cells/", page_size=10_000)
    runs = {wave.slug: run_latest_complete(wave=wave).pk for wave in aggregated_waves()}
    assert {(row["wave"], row["run"]) for row in rows} == set(runs.items())
    assert (
        len(rows)
        == CellResult.objects.filter(run_id__in=runs.values(), estimator="plain_means").count()
    )
    assert {row["estimator"] for row in rows} == {"plain_means"}


def test_a_newer_run_replaces_and_a_failed_run_never_shows(client):
    wave = Wave.objects.get(slug="2025")
    old = run_latest_complete(wave=wave)
    AggregationRun.objects.create(
        wave=wave,
        status=AggregationRun.Status.FAILED,
        estimator_name="plain_means",
        estimator_version="1.0",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    assert {row["run"] for row in client.get("/api/v1/cells/?wave=2025").json()["results"]} == {
        old.pk
    }
    from aggregation.services import aggregation_run_wave

    new = aggregation_run_wave(wave_id=wave.pk, force=True)
    latest = client.get("/api/v1/cells/?wave=2025&page_size=5").json()["results"]
    assert {row["run"] for row in latest} == {new.pk}
    older = client.get(f"/api/v1/cells/?run={old.pk}&page_size=5").json()["results"]
    assert {row["run"] for row in older} == {old.pk}


def test_cell_filters_on_every_dimension(client):
    params = {
        "wave": "2025",
        "panel": "YER",
        "holder": "ARM",
        "subject": "ARM",
        "perspective": "conception",
        "role": "independent",
    }
    rows = client.get("/api/v1/cells/", params).json()["results"]
    assert len(rows) == 1
    assert {key: rows[0][key] for key in params} == params
    cell = CellResult.objects.get(
        estimator="plain_means",
        run=run_latest_complete(wave=Wave.objects.get(slug="2025")),
        panel__code="YER",
        holder__code="ARM",
        subject__code="ARM",
        perspective="conception",
        role__code="independent",
    )
    assert rows[0]["mean"] == pytest.approx(cell.mean)
    assert rows[0]["n"] == cell.n

    pooled = client.get("/api/v1/cells/", {**params, "panel": "ALL"}).json()["results"]
    assert [row["panel"] for row in pooled] == ["ALL"]
    several = client.get(
        "/api/v1/cells/", {"wave": "2025", "panel": "MOW,ALL", "subject": "ARM,KAZ"}
    ).json()["results"]
    assert {row["panel"] for row in several} == {"MOW", "ALL"}
    assert {row["subject"] for row in several} == {"ARM", "KAZ"}
    unknown = client.get("/api/v1/cells/", {"holder": "NOWHERE"})
    assert unknown.status_code == 400
    assert "ARM" in unknown.json()["errors"]["holder"]["allowed_values"]


def test_comparisons_and_reliability_filter_by_their_dimensions(client):
    rows = client.get(
        "/api/v1/comparisons/",
        {"wave": "2025", "preset": "ascribed_vs_conceived", "subject": "ARM", "role": "protectee"},
    ).json()["results"]
    assert len(rows) == 1
    stored = ComparisonResult.objects.get(
        estimator="plain_means",
        run=run_latest_complete(wave=Wave.objects.get(slug="2025")),
        preset="ascribed_vs_conceived",
        subject__code="ARM",
        role__code="protectee",
    )
    assert rows[0]["diff"] == pytest.approx(stored.diff)
    assert rows[0]["left_label"] == stored.left_label

    reliability = client.get(
        "/api/v1/reliability/", {"wave": "2021", "panel": "YER", "perspective": "conception"}
    ).json()["results"]
    assert reliability
    assert {(r["panel"], r["perspective"], r["wave"]) for r in reliability} == {
        ("YER", "conception", "2021")
    }
    assert (
        len(reliability)
        == ReliabilityResult.objects.filter(
            estimator="plain_means",
            run=run_latest_complete(wave=Wave.objects.get(slug="2021")),
            panel__code="YER",
            block__perspective="conception",
        ).count()
    )


def test_ratings_are_anonymised_submitted_and_dated_by_month(client):
    rows = every_row(client, "/api/v1/ratings/", wave="2025", page_size=1000)
    submitted = Rating.objects.filter(
        response__wave__slug="2025", response__status=Response.Status.SUBMITTED
    )
    assert len(rows) == submitted.count()
    assert Rating.objects.filter(
        response__wave__slug="2025", response__status=Response.Status.DRAFT
    ).exists(), "the demo has drafts, which must not show"
    assert {frozenset(row) for row in rows} == {frozenset(RATING_FIELDS)}
    pseudonyms = set(
        Response.objects.filter(wave__slug="2025", status="submitted").values_list(
            "pseudonym", flat=True
        )
    )
    assert {row["pseudonym"] for row in rows} == pseudonyms
    assert all(date.fromisoformat(row["submitted_on"]).day == 1 for row in rows)
    assert {row["source"] for row in rows} == {"web"}
    cannot_judge = [row for row in rows if row["cannot_judge"]]
    assert cannot_judge and all(row["value"] is None for row in cannot_judge)


def test_rating_filters_on_every_dimension(client):
    params = {
        "wave": "2021",
        "panel": "MOW",
        "holder": "RUS",
        "subject": "ARM",
        "perspective": "expectation",
        "role": "protectee",
    }
    rows = every_row(client, "/api/v1/ratings/", **params)
    assert rows
    assert all({key: row[key] for key in params} == params for row in rows)
    expected = Rating.objects.filter(
        response__wave__slug="2021",
        response__status="submitted",
        response__panel__code="MOW",
        item__block__holder__code="RUS",
        item__block__subject__code="ARM",
        item__block__perspective="expectation",
        item__role__code="protectee",
    )
    assert sorted((r["pseudonym"], r["value"]) for r in rows) == sorted(
        expected.values_list("response__pseudonym", "value")
    )
    one = rows[0]["pseudonym"]
    assert {r["pseudonym"] for r in every_row(client, "/api/v1/ratings/", pseudonym=one)} == {one}
    high = every_row(client, "/api/v1/ratings/", wave="2021", value_min=9, cannot_judge="false")
    assert high and all(r["value"] >= 9 and not r["cannot_judge"] for r in high)


def test_ratings_carry_the_delphi_round_of_their_wave_and_filter_by_it(client):
    # The demo's Delphi study has two rounds; its ordinary waves count as round 1.
    rounds = {
        wave: {row["round"] for row in every_row(client, "/api/v1/ratings/", wave=wave)}
        for wave in ("2025", "delphi-2019", "delphi-2019-r2")
    }
    assert rounds == {"2025": {1}, "delphi-2019": {1}, "delphi-2019-r2": {2}}
    later = every_row(client, "/api/v1/ratings/", round=2, page_size=10_000)
    assert later and {row["wave"] for row in later} == {"delphi-2019-r2"}
    assert (
        len(later)
        == Rating.objects.filter(
            response__wave__slug="delphi-2019-r2", response__status="submitted"
        ).count()
    )
    primary = every_row(client, "/api/v1/ratings/", round=1, page_size=10_000)
    assert {row["wave"] for row in primary} == {"2021", "2025", "delphi-2019"}
    assert every_row(client, "/api/v1/ratings/", round=3) == []


def test_a_page_of_ratings_costs_a_fixed_number_of_queries(client, django_assert_max_num_queries):
    # Authentication (the token and its user), permissions, the wave and the page itself:
    # a fixed count, whatever the page size.
    with django_assert_max_num_queries(7):
        response = client.get("/api/v1/ratings/", {"page_size": 2000})
    assert len(response.json()["results"]) == 2000


def test_cursor_pages_are_capped_and_bad_cursors_are_404(client):
    body = client.get("/api/v1/ratings/", {"page_size": 999_999}).json()
    assert len(body["results"]) == 10_000 or body["next"] is None
    # Ratings page by pseudonym: a position that cannot be a pseudonym is a 404.
    assert client.get("/api/v1/ratings/", {"cursor": "cD1SLScgT1IgMT0x"}).status_code == 404
    assert (
        client.get(
            "/api/v1/ratings/",
            {"cursor": "cD1BQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"},
        ).status_code
        == 404
    )
    assert client.get("/api/v1/cells/", {"cursor": "cD1hYmM="}).status_code == 404
    assert client.get("/api/v1/cells/", {"cursor": "cD0xZTk5OQ=="}).status_code == 404


def test_trends_give_each_cell_ordered_by_wave(client):
    rows = every_row(
        client,
        "/api/v1/trends/",
        holder="ARM",
        subject="ARM",
        perspective="conception",
        panel="YER",
        role="independent",
    )
    assert [row["wave"] for row in rows] == ["2021", "2025"]
    assert {row["run"] for row in rows} == {
        run_latest_complete(wave=wave).pk for wave in aggregated_waves()
    }
    # The planted change: Armenia's self-conceived independence grew from 2021 to 2025.
    assert rows[1]["mean"] > rows[0]["mean"]
    every = every_row(client, "/api/v1/trends/", subject="KAZ", page_size=10_000)
    keys = [
        (r["holder"], r["subject"], r["perspective"], r["role"], r["panel"], r["wave"])
        for r in every
    ]
    waves_of = {}
    for *cell, wave in keys:
        waves_of.setdefault(tuple(cell), []).append(wave)
    assert all(waves == sorted(waves) for waves in waves_of.values())


def test_a_wave_comes_with_its_instrument_and_the_codebook_lists_its_items(client):
    wave = client.get("/api/v1/waves/2025/").json()
    blocks = wave["instrument"]
    assert len(blocks) == Wave.objects.get(slug="2025").blocks.count()
    first = blocks[0]
    assert {"holder", "subject", "perspective", "scale", "panels", "items"} <= set(first)
    assert first["items"][0]["role_texts"]["en"]["name"]
    listed = client.get("/api/v1/waves/").json()["results"]
    # The demo's two waves and the two rounds of its Delphi study, each with its round.
    rounds = {w["slug"]: w["delphi_round"] for w in listed}
    assert rounds == {"2021": None, "2025": None, "delphi-2019": 1, "delphi-2019-r2": 2}
    assert len({w["delphi_study"] for w in listed if w["delphi_round"]}) == 1
    assert "instrument" not in listed[0]

    items = every_row(client, "/api/v1/items/", wave="2025", panel="YER", perspective="conception")
    expected = Item.objects.filter(
        block__wave__slug="2025", block__panels__code="YER", block__perspective="conception"
    )
    assert sorted(i["code"] for i in items) == sorted(expected.values_list("code", flat=True))
    assert all("YER" in item["panels"] and item["scale_max"] == 10 for item in items)


def test_errors_never_repeat_what_the_client_sent(client):
    name = "Synthetic Expert MOW-01"
    for url, params in [
        ("/api/v1/cells/", {"perspective": name}),
        ("/api/v1/ratings/", {"value_min": name}),
        ("/api/v1/ratings/", {"cannot_judge": name, "confidence_max": name}),
        ("/api/v1/exports/2025/cells/download/", {"file_format": name}),
        ("/api/v1/exports/2025/cells/download/", {"bundle": name}),
    ]:
        response = client.get(url, params)
        assert response.status_code == 400, (url, params)
        assert name not in response.content.decode(), (url, params)
    response = client.post(
        "/api/v1/export-jobs/",
        {"wave": name, "table": name, "file_format": name},
        format="json",
    )
    assert response.status_code == 400
    assert name not in response.content.decode()


def test_results_carry_the_round_of_their_wave(client):
    rows = every_row(client, "/api/v1/cells/", page_size=10_000)
    assert rows and {row["round"] for row in rows} == {1}  # the ordinary waves 2021 and 2025
    aggregation_run_wave(wave_id=Wave.objects.get(slug="delphi-2019-r2").pk)
    later = every_row(client, "/api/v1/cells/", wave="delphi-2019-r2", page_size=10_000)
    assert later and {row["round"] for row in later} == {2}
    # A later round is no wave of a trend.
    trend = every_row(client, "/api/v1/trends/", subject="ARM", page_size=10_000)
    assert trend and "delphi-2019-r2" not in {row["wave"] for row in trend}
