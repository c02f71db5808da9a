"""The release bundle of the demo wave: a valid Frictionless data package whose checksums hold,
every table readable in every format (and by R with haven), comments only once cleared, and
no identity of an expert anywhere in it."""

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from io import StringIO
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest
from django.core.management import call_command
from django.test import TestCase

from aggregation import export_tasks
from aggregation.estimators import ESTIMATOR_VERSIONS
from aggregation.models import CellResult, EstimatorResult, ReliabilityResult
from aggregation.selectors import run_latest_complete
from surveys.comment_review import comments_review
from surveys.models import AuditEntry, Block, BlockComment, Response, Wave
from tests.api.demo import api_client, demo_module, secrets_of_experts

pytestmark = pytest.mark.django_db

CLEARED = "The ceasefire talks changed how our panel sees the mediator role."
PENDING = "I chaired the 2019 working group myself, so my view is an insider's."
TABLES = (
    "ratings",
    "ratings_wide",
    "cells",
    "comparisons",
    "reliability",
    "wave_changes",
    "trends",
    "instrument",
    "instrument_texts",
    "vignettes",
    "comments",
    "estimators",
)
# The corrected estimators the test settings compute, each with cells, comparisons and (for
# estimators with corrected values) reliability.
CORRECTED_TABLES = tuple(
    f"{table}_{estimator}"
    for estimator in ("aldrich_mckelvey", "vignette_cscores")
    for table in ("cells", "comparisons", "reliability")
)


@pytest.fixture(scope="module")
def release(django_db_setup, django_db_blocker, tmp_path_factory):
    """The demo, two comments on it (one cleared by a panel admin, one not yet reviewed) and
    the release of wave 2025, unpacked; once per module."""
    with demo_module(django_db_blocker) as users:
        wave = Wave.objects.get(slug="2025")
        run = run_latest_complete(wave=wave)
        responses = list(Response.objects.filter(pk__in=run.input_responses).order_by("pk")[:2])
        blocks = list(Block.objects.filter(wave=wave, panels=responses[0].panel).order_by("order"))
        cleared = BlockComment.objects.create(response=responses[0], block=blocks[0], text=CLEARED)
        BlockComment.objects.create(response=responses[1], block=blocks[0], text=PENDING)
        comments_review(
            comments=BlockComment.objects.filter(pk=cleared.pk),
            decision=BlockComment.Review.CLEARED,
            user=users.panel_admin,
        )
        folder = tmp_path_factory.mktemp("release")
        out = StringIO()
        call_command("release", "2025", "--out", str(folder / "release.zip"), stdout=out)
        with zipfile.ZipFile(folder / "release.zip") as bundle:
            bundle.extractall(folder)
        root = folder / "rolesurvey-2025-release"
        yield {
            "root": root,
            "zip": folder / "release.zip",
            "run": run,
            "users": users,
            "secrets": secrets_of_experts(),
            "output": out.getvalue(),
        }


def _json(root: Path, name: str):
    return json.loads((root / name).read_text(encoding="utf-8"))


def test_the_datapackage_validates_with_frictionless(release):
    frictionless = pytest.importorskip("frictionless")
    report = frictionless.validate(str(release["root"] / "datapackage.json"))
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type", "note"])[:10]
    package = _json(release["root"], "datapackage.json")
    assert [resource["name"] for resource in package["resources"]] == [*TABLES, *CORRECTED_TABLES]


def test_every_checksum_matches_every_file(release):
    root = release["root"]
    listed = {}
    for line in (root / "SHA256SUMS").read_text().splitlines():
        digest, name = line.split("  ", 1)
        listed[name] = digest
    files = {
        path.relative_to(root).as_posix()
        for path in root.rglob("*")
        if path.is_file() and path.name != "SHA256SUMS"
    }
    assert set(listed) == files
    for name, digest in listed.items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest, name


def test_every_table_reads_back_in_every_format(release):
    root = release["root"]
    rows = _json(root, "release.json")["tables"]
    assert set(rows) == {*TABLES, *CORRECTED_TABLES}
    for table in rows:
        csv = pd.read_csv(root / f"data/csv/{table}.csv", keep_default_na=False)
        parquet = pd.read_parquet(root / f"data/parquet/{table}.parquet")
        dta = pd.read_stata(root / f"data/stata/{table}.dta", convert_categoricals=False)
        sav, meta = pyreadstat.read_sav(str(root / f"data/spss/{table}.sav"))
        assert len(csv) == len(parquet) == len(dta) == len(sav) == rows[table], table
        assert list(csv.columns) == list(parquet.columns) == list(dta.columns), table
        assert meta.column_names_to_labels  # variable labels travel
    ratings = pd.read_csv(root / "data/csv/ratings.csv")
    wide = pd.read_csv(root / "data/csv/ratings_wide.csv")
    assert len(wide) == ratings["pseudonym"].nunique()
    _data, meta = pyreadstat.read_dta(str(root / "data/stata/ratings.dta"))
    assert "MOW" in meta.variable_value_labels["panel"].values()


def test_the_release_holds_exactly_the_runs_ratings_and_says_where_it_comes_from(release):
    root, run = release["root"], release["run"]
    record = _json(root, "release.json")
    assert record["aggregation_run"]["id"] == run.pk
    assert record["aggregation_run"]["input_fingerprint"] == run.input_fingerprint
    assert record["tables"]["ratings"] == run.n_ratings
    assert record["software"]["version"]
    assert record["software"]["git_commit"]
    assert record["estimators"]["used"] == {
        name: ESTIMATOR_VERSIONS[name]
        for name in ("plain_means", "aldrich_mckelvey", "vignette_cscores")
    }
    report = _json(root, "deidentification.json")
    assert report["min_group_size_k"] >= 1
    assert "submission_date" in report["coarsened"]
    assert report["smallest_panel_responses"] >= 1
    citation = (root / "CITATION.cff").read_text()
    assert "cff-version: 1.2.0" in citation and "type: dataset" in citation
    readme = (root / "README.md").read_text()
    assert run.input_fingerprint in readme
    for script in ("load_release.R", "load_release.do", "load_release.sps"):
        text = (root / "scripts" / script).read_text()
        assert all(table in text for table in (*TABLES, *CORRECTED_TABLES)), script


def test_corrected_estimators_travel_with_their_status_and_rows(release):
    root, run = release["root"], release["run"]
    estimators = pd.read_csv(root / "data/csv/estimators.csv", dtype=str, keep_default_na=False)
    stored = EstimatorResult.objects.filter(run=run)
    assert sorted(estimators["estimator"]) == sorted(stored.values_list("estimator", flat=True))
    for result in stored:
        row = estimators.loc[estimators["estimator"] == result.estimator].iloc[0]
        assert row["status"] == result.status and row["estimator_version"] == (
            result.estimator_version
        )
    for name in ("aldrich_mckelvey", "vignette_cscores"):
        cells = pd.read_csv(root / f"data/csv/cells_{name}.csv")
        assert len(cells) == CellResult.objects.filter(run=run, estimator=name).count() > 0
        assert set(cells["estimator"]) == {name}
        reliability = pd.read_csv(root / f"data/csv/reliability_{name}.csv")
        assert len(reliability) == ReliabilityResult.objects.filter(run=run, estimator=name).count()
        assert reliability["alpha_interval"].notna().any()
    readme = (root / "README.md").read_text()
    assert "`aldrich_mckelvey` 1.0 (complete)" in readme
    assert "cells_vignette_cscores" in readme


def test_only_cleared_comments_are_released_and_each_decision_is_audited(release):
    comments = pd.read_csv(release["root"] / "data/csv/comments.csv")
    assert list(comments["text"]) == [CLEARED]
    everything = b"".join(path.read_bytes() for path in release["root"].rglob("*.csv"))
    assert PENDING.encode() not in everything
    report = _json(release["root"], "deidentification.json")
    assert report["comments"]["included_cleared"] == 1
    assert report["comments"]["not_yet_reviewed"] == 1


def _all_text(root: Path) -> str:
    """Every file's text: text files as they are, data files read back as tables."""
    texts = []
    for path in root.rglob("*"):
        if path.suffix in {".parquet"}:
            texts.append(pd.read_parquet(path).to_csv())
        elif path.suffix == ".dta":
            data, meta = pyreadstat.read_dta(str(path))
            texts += [data.to_csv(), json.dumps(meta.variable_value_labels, default=str)]
        elif path.suffix == ".sav":
            data, meta = pyreadstat.read_sav(str(path))
            texts += [data.to_csv(), json.dumps(meta.variable_value_labels, default=str)]
        elif path.is_file():
            texts.append(path.read_text(encoding="utf-8"))
    return "\n".join(texts).casefold()


def test_no_name_email_or_token_appears_anywhere_in_the_release(release):
    text = _all_text(release["root"])
    assert release["secrets"]
    found = [secret for secret in release["secrets"] if secret and secret.casefold() in text]
    assert found == []
    with zipfile.ZipFile(release["zip"]) as bundle:  # nothing in the ZIP beyond these files
        assert len(bundle.namelist()) == sum(1 for p in release["root"].rglob("*") if p.is_file())


def _r_with_haven() -> str | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    probe = subprocess.run(
        [rscript, "-e", "library(haven)"], capture_output=True, text=True, timeout=120
    )
    return rscript if probe.returncode == 0 else None


def test_the_r_script_loads_every_table_with_the_csvs_row_counts(release):
    rscript = _r_with_haven()
    if rscript is None:
        pytest.skip("R with haven is not installed (bin/test installs r-base-core r-cran-haven)")
    root = release["root"]
    finished = subprocess.run(
        [rscript, str(root / "scripts" / "load_release.R")],
        capture_output=True,
        text=True,
        timeout=300,
        cwd="/",
    )
    assert finished.returncode == 0, finished.stderr
    counts = dict(line.split("\t") for line in finished.stdout.strip().splitlines())
    assert set(counts) == {*TABLES, *CORRECTED_TABLES}
    for table, count in counts.items():
        csv = pd.read_csv(root / f"data/csv/{table}.csv")
        assert int(count) == len(csv), table


def test_a_release_job_builds_the_same_bundle_through_the_api(release, settings, tmp_path, mocker):
    settings.EXPORT_DIR = tmp_path / "exports"
    mocker.patch(
        "aggregation.exports.jobs.export_job_dispatch",
        side_effect=lambda job_id: export_tasks.export_build(job_id) and True,
    )
    client = api_client(release["users"].researcher)
    with TestCase.captureOnCommitCallbacks(execute=True):
        created = client.post("/api/v1/export-jobs/", {"wave": "2025", "table": "release"})
    assert created.status_code == 202, created.content
    job = client.get(created.json()["status_url"]).json()
    assert job["status"] == "done", job
    download = client.get(job["download_url"])
    with zipfile.ZipFile(io.BytesIO(b"".join(download.streaming_content))) as bundle:
        names = bundle.namelist()
    assert "rolesurvey-2025-release/datapackage.json" in names
    assert "rolesurvey-2025-release/SHA256SUMS" in names
    assert AuditEntry.objects.filter(action="export.create", detail__table="release").exists()
    # Without the permission to read raw ratings, no release.
    plain = api_client(release["users"].panel_admin)
    refused = plain.post("/api/v1/export-jobs/", {"wave": "2025", "table": "release"})
    assert refused.status_code == 403
