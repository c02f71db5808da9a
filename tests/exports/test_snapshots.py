"""Exports and the API pinned to an aggregation run hold exactly the ratings that run counted."""

import io
import zipfile
from io import StringIO

import pandas as pd
import pytest
from django.core.management import call_command

from aggregation import exports
from aggregation.selectors import run_latest_complete
from aggregation.services import aggregation_run_wave
from aggregation.snapshots import identity_kept, ratings_identity_load
from surveys.models import Item, Panel, Rating, Response, Wave
from tests.api.demo import api_client
from tests.factories import RatingFactory, ResponseFactory

pytestmark = pytest.mark.django_db


def _new_responses(wave: Wave, count: int) -> int:
    """Submit ``count`` new responses rating every item of the Moscow panel's blocks; returns
    the ratings added."""
    panel = Panel.objects.get(code="MOW")
    items = list(Item.objects.filter(block__wave=wave, block__panels=panel))
    for _ in range(count):
        response = ResponseFactory(wave=wave, panel=panel, status=Response.Status.SUBMITTED)
        for item in items:
            RatingFactory(response=response, item=item, value=3)
    return count * len(items)


def _pinned_and_newer(wave: Wave):
    older = run_latest_complete(wave=wave)
    added = _new_responses(wave, 2)
    newer = aggregation_run_wave(wave_id=wave.pk)
    return older, newer, added


def test_an_export_pinned_to_an_older_run_holds_that_runs_ratings(demo):
    wave = Wave.objects.get(slug="2025")
    older, newer, added = _pinned_and_newer(wave)
    assert newer.pk != older.pk
    assert newer.n_ratings == older.n_ratings + added

    pinned = exports.export_source(wave=wave, table="ratings", run_id=older.pk)
    frame = pinned.frame()
    assert pinned.rows == len(frame) == older.n_ratings
    assert set(frame["pseudonym"]) == set(
        Response.objects.filter(pk__in=older.input_responses).values_list("pseudonym", flat=True)
    )
    metadata = exports.metadata(pinned, "csv")
    assert metadata["pinned_to_run"] is True
    assert metadata["aggregation_run"]["id"] == older.pk
    assert metadata["aggregation_run"]["input_fingerprint"] == older.input_fingerprint
    assert metadata["aggregation_run"]["input_fingerprint"] != newer.input_fingerprint

    now = exports.export_source(wave=wave, table="ratings")
    assert now.rows == newer.n_ratings
    # Results of any complete run, not only the newest.
    cells = exports.export_source(wave=wave, table="cells", run_id=older.pk)
    assert cells.run.pk == older.pk


def test_a_pinned_export_refuses_when_the_runs_ratings_changed(demo):
    wave = Wave.objects.get(slug="2025")
    run = run_latest_complete(wave=wave)
    rating = Rating.objects.filter(response_id=run.input_responses[0], value__isnull=False).first()
    Rating.objects.filter(pk=rating.pk).update(value=(rating.value + 1) % 11)
    with pytest.raises(exports.SnapshotChangedError):
        exports.export_source(wave=wave, table="ratings", run_id=run.pk)


def test_another_waves_run_is_not_found(demo):
    other = run_latest_complete(wave=Wave.objects.get(slug="2021"))
    with pytest.raises(exports.NoCompleteRunError):
        exports.export_source(wave=Wave.objects.get(slug="2025"), table="ratings", run_id=other.pk)


def test_the_api_pins_ratings_and_downloads_to_a_run(demo):
    wave = Wave.objects.get(slug="2025")
    older, _newer, _added = _pinned_and_newer(wave)
    client = api_client(demo.researcher)

    download = client.get(f"/api/v1/exports/2025/ratings/download/?run={older.pk}")
    assert download.status_code == 200
    frame = pd.read_csv(io.BytesIO(b"".join(download.streaming_content)))
    assert len(frame) == older.n_ratings

    metadata = client.get(f"/api/v1/exports/2025/ratings/metadata/?run={older.pk}").json()
    assert metadata["rows"] == older.n_ratings
    assert metadata["aggregation_run"]["input_fingerprint"] == older.input_fingerprint

    pseudonyms = set()
    url = f"/api/v1/ratings/?run={older.pk}&page_size=1000"
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.content
        pseudonyms |= {row["pseudonym"] for row in page.json()["results"]}
        url = page.json()["next"]
    assert len(pseudonyms) == len(older.input_responses)

    Rating.objects.filter(response_id=older.input_responses[0]).delete()
    conflict = client.get(f"/api/v1/ratings/?run={older.pk}")
    assert conflict.status_code == 409
    assert "changed" in conflict.json()["detail"]
    assert client.get(f"/api/v1/exports/2025/ratings/download/?run={older.pk}").status_code == 409


def test_the_export_command_pins_to_a_run(demo, tmp_path):
    wave = Wave.objects.get(slug="2025")
    older, _newer, _added = _pinned_and_newer(wave)
    out = tmp_path / "r.zip"
    call_command(
        "export", "2025", "--table", "ratings", "--format", "csv", "--out", str(out),
        "--run", str(older.pk), stdout=StringIO(),
    )  # fmt: skip
    with zipfile.ZipFile(out) as bundle:
        frame = pd.read_csv(bundle.open("2025_ratings.csv"))
    assert len(frame) == older.n_ratings


def test_a_run_records_the_responses_and_ratings_it_counted(demo):
    wave = Wave.objects.get(slug="2025")
    run = run_latest_complete(wave=wave)
    submitted = Response.objects.filter(wave=wave, status=Response.Status.SUBMITTED)
    assert sorted(run.input_responses) == sorted(submitted.values_list("pk", flat=True))
    identity = ratings_identity_load(wave_id=wave.pk)
    assert run.ratings_fingerprint == identity.fingerprint
    assert identity.n_ratings == run.n_ratings


def test_a_submission_during_the_load_makes_the_run_read_again(demo):
    wave = Wave.objects.get(slug="2025")
    calls = []

    def load():
        calls.append(len(calls))
        if len(calls) == 1:  # a response arrives while the first load runs
            _new_responses(wave, 1)
        return len(calls)

    loaded, identity = identity_kept(wave_id=wave.pk, load=load)
    assert loaded == 2
    assert identity == ratings_identity_load(wave_id=wave.pk)
    submitted = Response.objects.filter(wave=wave, status=Response.Status.SUBMITTED)
    assert len(identity.response_ids) == submitted.count()
