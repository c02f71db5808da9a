"""Export benchmark: ``python -m bench.export --ratings 1000000``.

Creates a synthetic wave ``bench-export`` of N submitted ratings in the configured database
(bulk inserts; ``COPY`` on PostgreSQL) in a child process, then exports its raw ratings as
CSV and as Parquet, each in a fresh child process so that each figure is that export's own:

- ``seconds``: wall time of the export, from the query to the closed file;
- ``peak_rss_mb``: the process's peak resident memory (``getrusage``), Django included;
- ``baseline_rss_mb``: resident memory after start-up, before the export;
- ``bytes`` and ``rows_per_s``.

With ``--tracemalloc`` the child also reports the peak of Python allocations (slower).
The wave is kept for the next run (``--reuse`` measures it again without creating it);
``--drop`` deletes it at the end. The last line printed is one JSON object.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")
# A development benchmark on the embedded database: DEBUG (and the development keys) unless set.
os.environ.setdefault("DJANGO_DEBUG", "true")
BENCH_WAVE = "bench-export"
TARGET_RSS_MB = 500
FORMATS = ("csv", "parquet")


def _rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def wave_delete() -> None:
    from django.db import transaction

    from surveys.models import Rating, Response, Wave

    with transaction.atomic():
        Rating.objects.filter(response__wave__slug=BENCH_WAVE).delete()
        Response.objects.filter(wave__slug=BENCH_WAVE).delete()
        Wave.objects.filter(slug=BENCH_WAVE).delete()


def wave_create(n_ratings: int) -> None:
    """The demo instrument in a wave ``bench-export``, filled with N synthetic ratings."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from surveys import demo
    from surveys.models import Rating, Response
    from surveys.services import pseudonym_new, wave_open

    wave_delete()
    with transaction.atomic():
        demo._typology_texts()
        panels = demo._panels()
        wave = demo._build_wave(BENCH_WAVE, panels)
        wave.title = "Export benchmark (synthetic)"
        wave.save(update_fields=["title"])
        wave = wave_open(wave=wave)

    blocks = list(wave.blocks.prefetch_related("panels", "items"))
    items_by_panel = {
        panel.pk: np.array(
            [i.pk for b in blocks if panel in b.panels.all() for i in b.items.all()], np.int64
        )
        for panel in panels.values()
    }
    panel_ids = list(items_by_panel)
    rng = np.random.default_rng(20260301)
    now = timezone.now()

    # Responses first, in bulk: as many as the ratings need.
    plan = []
    written = 0
    while written < n_ratings:
        panel_id = panel_ids[len(plan) % len(panel_ids)]
        count = min(len(items_by_panel[panel_id]), n_ratings - written)
        plan.append((panel_id, count))
        written += count
    with transaction.atomic():
        responses = Response.objects.bulk_create(
            [
                Response(
                    wave=wave,
                    panel_id=panel_id,
                    pseudonym=pseudonym_new(),
                    status=Response.Status.SUBMITTED,
                    submitted_at=now,
                )
                for panel_id, _ in plan
            ],
            batch_size=2000,
        )
    if any(response.pk is None for response in responses):
        by_pseudonym = dict(Response.objects.filter(wave=wave).values_list("pseudonym", "pk"))
        for response in responses:
            response.pk = by_pseudonym[response.pseudonym]

    columns = "response_id, item_id, value, cannot_judge, confidence, updated_at"
    batch: list[tuple] = []

    def flush() -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                with cursor.cursor.copy(
                    f"COPY {Rating._meta.db_table} ({columns}) FROM STDIN"
                ) as copy:
                    for row in batch:
                        copy.write_row(row)
            else:
                placeholders = ", ".join(["%s"] * 6)
                cursor.executemany(
                    f"INSERT INTO {Rating._meta.db_table} ({columns}) VALUES ({placeholders})",
                    batch,
                )
        batch.clear()

    for response, (panel_id, count) in zip(responses, plan, strict=True):
        items = items_by_panel[panel_id][:count]
        values = rng.integers(0, 11, size=count)
        cannot = rng.random(count) < 0.05
        confidence = rng.integers(1, 6, size=count)
        with_confidence = rng.random(count) < 0.7
        for item, value, cj, conf, has_conf in zip(
            items, values, cannot, confidence, with_confidence, strict=True
        ):
            batch.append(
                (
                    response.pk,
                    int(item),
                    None if cj else int(value),
                    bool(cj),
                    int(conf) if has_conf else None,
                    now,
                )
            )
        if len(batch) >= 100_000:
            flush()
    if batch:
        flush()


def measure(file_format: str, use_tracemalloc: bool) -> dict:
    """Export the bench wave's ratings once in ``file_format``; figures of this process."""
    from aggregation import exports
    from surveys.models import Wave

    if use_tracemalloc:
        import tracemalloc

        tracemalloc.start()
    baseline = _rss_mb()
    wave = Wave.objects.get(slug=BENCH_WAVE)
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        path = Path(folder) / f"ratings.{file_format}"
        started = time.perf_counter()
        source = exports.export_source(wave=wave, table="ratings")
        exports.write_data(source, file_format, path)
        seconds = time.perf_counter() - started
        size = path.stat().st_size
        written = _rows_in(path, file_format)
    figures = {
        "format": file_format,
        "rows": source.rows,
        "rows_written": written,
        "seconds": round(seconds, 2),
        "rows_per_s": round(source.rows / seconds),
        "bytes": size,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": _rss_mb(),
    }
    if use_tracemalloc:
        figures["python_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 1)
    return figures


def _rows_in(path: Path, file_format: str) -> int:
    """Data rows in the file written (a check that nothing was lost), read cheaply."""
    if file_format == "parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    with open(path, "rb") as data:
        return sum(block.count(b"\n") for block in iter(lambda: data.read(2**20), b"")) - 1


def _child(*arguments: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "bench.export", *arguments],
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=1_000_000)
    parser.add_argument("--reuse", action="store_true", help="Measure the existing bench wave.")
    parser.add_argument("--drop", action="store_true", help="Delete the bench wave at the end.")
    parser.add_argument("--tracemalloc", action="store_true", help="Also trace Python memory.")
    parser.add_argument("--create-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", choices=FORMATS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    django.setup()

    if args.create_only:
        wave_create(args.ratings)
        return
    if args.measure:
        print(json.dumps(measure(args.measure, args.tracemalloc)))
        return

    from django.db import connection

    from surveys.models import Rating

    existing = Rating.objects.filter(response__wave__slug=BENCH_WAVE).count()
    if not (args.reuse and existing == args.ratings):
        started = time.perf_counter()
        _child("--create-only", f"--ratings={args.ratings}")
        print(f"created {args.ratings:,} ratings in {time.perf_counter() - started:.1f} s")
    results = {}
    for file_format in FORMATS:
        extra = ["--tracemalloc"] if args.tracemalloc else []
        results[file_format] = json.loads(_child("--measure", file_format, *extra))
        print(
            f"{file_format:>8}: {results[file_format]['seconds']} s, "
            f"peak RSS {results[file_format]['peak_rss_mb']} MB "
            f"(baseline {results[file_format]['baseline_rss_mb']} MB), "
            f"{results[file_format]['bytes'] / 2**20:.1f} MiB"
        )
    if args.drop:
        wave_delete()
    summary = {
        "ratings": args.ratings,
        "database": connection.vendor,
        **results,
        "target_rss_mb": TARGET_RSS_MB,
        "within_target": all(r["peak_rss_mb"] < TARGET_RSS_MB for r in results.values()),
        "complete": all(r["rows_written"] == r["rows"] == args.ratings for r in results.values()),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
