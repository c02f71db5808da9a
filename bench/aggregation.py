"""Aggregation benchmark: ``python -m bench.aggregation --ratings N``.

Creates a synthetic wave of N submitted ratings in the configured database (a child process
does it, so that its memory does not count), then measures in this process, on the same rows:

- ``load_s``: the value counts per (panel, item, value) and the sums of the paired
  comparisons, each from one ``GROUP BY`` in the database;
- ``stats_s``: cell statistics, preset comparisons and reliability (the engine);
- ``store_s``: writing the results of a run;
- ``total_s``: the whole aggregation service, end to end (load + stats + store);
- ``sql_groupby_s``: a bare SQL ``GROUP BY`` computing count, mean and standard deviation
  per cell over the same rows, the baseline.

The last line printed is one JSON object with ``ratings``, ``total_s``, ``sql_groupby_s``,
``ratio`` (total_s / sql_groupby_s), ``peak_rss_mb`` and the parts.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings.base")
# A development benchmark on the embedded database: DEBUG (and the development keys) unless set.
os.environ.setdefault("DJANGO_DEBUG", "true")
BENCH_WAVE = "bench"


def _setup() -> None:
    django.setup()


def create_wave(n_ratings: int) -> None:
    """Build the demo instrument in a wave ``bench`` and fill it with N synthetic ratings."""
    import numpy as np
    from django.db import connection, transaction
    from django.utils import timezone

    from surveys import demo
    from surveys.models import Panel, Rating, Response, Wave
    from surveys.services import pseudonym_new, wave_open

    with transaction.atomic():
        Rating.objects.filter(response__wave__slug=BENCH_WAVE).delete()
        Response.objects.filter(wave__slug=BENCH_WAVE).delete()
        Wave.objects.filter(slug=BENCH_WAVE).delete()
        demo._typology_texts()
        panels = demo._panels()
        wave = demo._build_wave(BENCH_WAVE, panels)
        wave.title = "Benchmark wave (synthetic)"
        wave.save(update_fields=["title"])
        wave = wave_open(wave=wave)

    blocks = list(wave.blocks.prefetch_related("panels", "items"))
    items_by_panel: dict[int, np.ndarray] = {}
    for panel in Panel.objects.all():
        ids = [i.pk for b in blocks if panel in b.panels.all() for i in b.items.all()]
        items_by_panel[panel.pk] = np.array(ids, dtype=np.int64)
    panel_ids = list(items_by_panel)
    rng = np.random.default_rng(7)
    now = timezone.now()
    written = 0
    batch_rows: list[tuple] = []

    def flush() -> None:
        if not batch_rows:
            return
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                copy_sql = (
                    "COPY surveys_rating (response_id, item_id, value, cannot_judge, "
                    "confidence, updated_at) FROM STDIN"
                )
                with cursor.cursor.copy(copy_sql) as copy:
                    for row in batch_rows:
                        copy.write_row(row)
        else:
            with connection.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO surveys_rating (response_id, item_id, value, cannot_judge, "
                    "confidence, updated_at) VALUES (%s, %s, %s, %s, %s, %s)",
                    batch_rows,
                )
        batch_rows.clear()

    position = 0
    while written < n_ratings:
        panel_id = panel_ids[position % len(panel_ids)]
        position += 1
        response = Response.objects.create(
            wave=wave,
            panel_id=panel_id,
            pseudonym=pseudonym_new(),
            status=Response.Status.SUBMITTED,
            submitted_at=now,
        )
        items = items_by_panel[panel_id][: n_ratings - written]
        values = rng.integers(0, 11, size=len(items))
        cannot = rng.random(len(items)) < 0.05
        confidence = rng.integers(1, 6, size=len(items))
        for item_id, value, cj, conf in zip(items, values, cannot, confidence, strict=True):
            batch_rows.append(
                (response.pk, int(item_id), None if cj else int(value), bool(cj), int(conf), now)
            )
        written += len(items)
        if len(batch_rows) >= 100_000:
            with transaction.atomic():
                flush()
    with transaction.atomic():
        flush()


def sql_groupby(wave_id: int) -> float:
    """The baseline: count, mean and SD per cell in one SQL statement; returns seconds.

    Within a wave an item stands for one (holder, subject, perspective, role), so grouping by
    (panel, item) gives exactly the cells of the aggregation, over the same rows, without
    joining the instrument: the fastest honest SQL for the job.
    """
    from django.db import connection

    if connection.vendor == "postgresql":
        sd = "stddev_samp(rt.value)"
    else:  # SQLite has no stddev: the same from sums of squares
        sd = (
            "sqrt((sum(rt.value * rt.value) - sum(rt.value) * avg(rt.value))"
            " / (count(rt.value) - 1))"
        )
    sql = f"""
        SELECT r.panel_id, rt.item_id, count(rt.value), avg(rt.value), {sd}
        FROM surveys_rating rt
        JOIN surveys_response r ON r.id = rt.response_id
        WHERE r.wave_id = %s AND r.status = 'submitted'
        GROUP BY r.panel_id, rt.item_id
    """
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, [wave_id])
        cursor.fetchall()
    return time.perf_counter() - started


def measure() -> dict:
    from aggregation import services
    from surveys.models import Wave

    wave = Wave.objects.get(slug=BENCH_WAVE)
    sql_groupby(wave.pk)  # warm the database's cache for both sides alike
    sql_s = min(sql_groupby(wave.pk) for _ in range(3))

    started = time.perf_counter()
    homes = services.home_panels()
    inputs = services.WaveInputs.load(wave=wave, homes=homes)
    load_s = time.perf_counter() - started

    started = time.perf_counter()
    inputs.results(homes)
    stats_s = time.perf_counter() - started
    n_ratings, n_count_rows = inputs.counts.n_ratings, len(inputs.counts.counts)
    del inputs

    started = time.perf_counter()
    run = services.aggregation_run_wave(wave_id=wave.pk, force=True)
    total_s = time.perf_counter() - started
    store_s = max(0.0, total_s - load_s - stats_s)

    return {
        "ratings": n_ratings,
        "cells": run.cells.count(),
        "count_rows": n_count_rows,
        "load_s": round(load_s, 3),
        "stats_s": round(stats_s, 3),
        "store_s": round(store_s, 3),
        "total_s": round(total_s, 3),
        "sql_groupby_s": round(sql_s, 3),
        "ratio": round(total_s / sql_s, 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "database": __import__("django.db").db.connection.vendor,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ratings", type=int, default=100_000)
    parser.add_argument("--create-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--reuse", action="store_true", help="Measure the existing bench wave.")
    args = parser.parse_args()
    _setup()
    if args.create_only:
        create_wave(args.ratings)
        return
    if not args.reuse:
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "bench.aggregation",
                "--create-only",
                f"--ratings={args.ratings}",
            ],
            check=True,
        )
        print(f"created {args.ratings} ratings in {time.perf_counter() - started:.1f} s")
    figures = measure()
    for key, value in figures.items():
        print(f"{key:>14}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
