"""The release bundle of a wave: one ZIP a journal's replication editor can take as it is.

Every table of one aggregation run (``tables``) in CSV, Parquet, Stata and SPSS (``files``),
the codebook, a Frictionless ``datapackage.json`` (``datapackage``), R, Stata and SPSS scripts
that load every table with its labels (``scripts``), a README and ``CITATION.cff``
(``readme``), where it comes from and what protects the experts (``provenance``), and
``SHA256SUMS`` over every file. Made by ``manage.py release <wave>`` and by an export job of
table ``release``.

The run is the wave's newest complete run unless one is asked for; its raw ratings are
exactly those it counted (``aggregation.snapshots``), or the release is refused.
"""

import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from aggregation.exports import ExportError, NoCompleteRunError, run_of_wave
from aggregation.exports.jobs import RELEASE_TABLE
from aggregation.exports.sources import SnapshotChangedError
from aggregation.models import AggregationRun
from aggregation.release import datapackage, files, provenance, readme, scripts
from aggregation.release.tables import release_sources
from aggregation.selectors import run_latest_complete
from aggregation.snapshots import SnapshotError, run_snapshot
from surveys.models import Panel, Wave

FORMAT_NOTES = {
    "data/csv": "CSV, UTF-8, header row, empty cell = missing",
    "data/parquet": "Apache Parquet (codebook and metadata in the file's key-value metadata)",
    "data/stata": "Stata .dta (format 118, Stata 14 and later), variable and value labels",
    "data/spss": "SPSS .sav, variable and value labels, measure levels",
}


@dataclass(frozen=True)
class ReleaseSummary:
    """What the audit row and the job status say of a release: wave, run, ratings."""

    wave: Wave
    run: AggregationRun
    rows: int
    table: str = RELEASE_TABLE


def _run(*, wave: Wave, run_id: int | None) -> AggregationRun:
    run = run_of_wave(wave=wave, run_id=run_id) if run_id else run_latest_complete(wave=wave)
    if run is None:
        raise NoCompleteRunError(
            "This wave has no complete aggregation run yet; aggregate it first."
        )
    return run


def release_check(*, wave: Wave, run_id: int | None = None) -> ReleaseSummary:
    """The run a release of ``wave`` would hold, checked: complete, and its ratings unchanged."""
    run = _run(wave=wave, run_id=run_id)
    try:
        snapshot = run_snapshot(run)
    except SnapshotError as error:
        raise SnapshotChangedError(str(error)) from error
    return ReleaseSummary(wave=wave, run=run, rows=snapshot.n_ratings)


def release_name(wave: Wave) -> str:
    return f"rolesurvey-{wave.slug}-release".lower()


def release_write(*, wave: Wave, path: Path, run_id: int | None = None) -> ReleaseSummary:
    """Write the release bundle of ``wave`` (its newest complete run, or ``run_id``) to
    ``path``, a ZIP whose files sit in one folder named after the release."""
    summary = release_check(wave=wave, run_id=run_id)
    run = summary.run
    now = timezone.now()
    sources = release_sources(wave=wave, run=run, generated_at=now)
    tables = list(sources)
    with tempfile.TemporaryDirectory(prefix="release-") as folder:
        root = Path(folder)
        written = files.tables_write(sources, root)
        book = files.release_codebook(sources)
        (root / "codebook.json").write_text(files.json_text(book), encoding="utf-8")
        (root / "codebook.csv").write_text(files.release_codebook_csv(book), encoding="utf-8")
        record = provenance.release_record(run=run, sources=sources, generated_at=now.isoformat())
        report = provenance.deidentification(
            ratings=sources["ratings"],
            response_ids=frozenset(run.input_responses),
            panel_codes=dict(Panel.objects.values_list("pk", "code")),
        )
        (root / "release.json").write_text(files.json_text(record), encoding="utf-8")
        (root / "deidentification.json").write_text(files.json_text(report), encoding="utf-8")
        script_folder = root / "scripts"
        script_folder.mkdir()
        (script_folder / "load_release.R").write_text(scripts.r_script(tables), encoding="utf-8")
        (script_folder / "load_release.do").write_text(
            scripts.stata_script(tables), encoding="utf-8"
        )
        (script_folder / "load_release.sps").write_text(
            scripts.spss_script(tables), encoding="utf-8"
        )
        version = f"{wave.slug}-run{run.pk}"
        title = f"Role survey, wave {wave.slug}: expert ratings of foreign-policy roles"
        (root / "CITATION.cff").write_text(
            readme.citation_cff(
                title=title,
                version=version,
                date_released=now.date().isoformat(),
                authors=settings.RELEASE_AUTHORS,
                licence=settings.RELEASE_LICENSE,
                commit=record["software"]["git_commit"],
                abstract=f"{wave.title}. Raw ratings and statistics of aggregation run {run.pk}.",
            ),
            encoding="utf-8",
        )
        (root / "README.md").write_text(
            readme.readme(
                record=record,
                report=report,
                formats=FORMAT_NOTES,
                licence=settings.RELEASE_LICENSE,
            ),
            encoding="utf-8",
        )
        resources = [
            datapackage.resource(
                sources[table],
                csv_path=paths[0],
                other_paths={Path(p).suffix[1:]: p for p in paths[1:]},
                root=root,
                sha256=files.sha256_of(root / paths[0]),
            )
            for table, paths in written.items()
        ]
        package = datapackage.datapackage(
            name=release_name(wave),
            title=title,
            version=version,
            created=now.isoformat(),
            resources=resources,
            licence=settings.RELEASE_LICENSE,
            authors=settings.RELEASE_AUTHORS,
            description=f"{wave.title}. Aggregation run {run.pk}, input fingerprint "
            f"{run.input_fingerprint}.",
        )
        (root / "datapackage.json").write_text(files.json_text(package), encoding="utf-8")
        (root / files.CHECKSUMS).write_text(files.checksums_text(root), encoding="utf-8")
        files.bundle_zip(root, Path(path), folder=release_name(wave))
    return ReleaseSummary(wave=wave, run=run, rows=sources["ratings"].rows)


__all__ = [
    "RELEASE_TABLE",
    "ExportError",
    "ReleaseSummary",
    "release_check",
    "release_name",
    "release_write",
]
