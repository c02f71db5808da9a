"""Running an aggregation: load a wave's ratings, call the engine, store the results whole.

``aggregation_run_wave`` is idempotent: the same ratings (same input fingerprint) under the
same estimator give no new run. A run is created as ``running``, with a lease its worker
renews (``aggregation.leases``), before its input is loaded; once loaded, a run whose input
is already complete, or running under another run, is dropped. It becomes ``complete`` in
the same transaction that inserts its result rows, so readers, who only look at complete
runs, never see half a run; a failure marks it ``failed`` and leaves earlier runs in place.
A run whose lease ran out (its worker died) is marked ``failed`` by the sweep.
"""

import hashlib
import logging
from dataclasses import dataclass
from datetime import timedelta

import pandas as pd
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from aggregation import engine
from aggregation.changes import cell_changes
from aggregation.estimator_services import estimator_outcomes_compute, estimator_results_store
from aggregation.leases import lease_expiry, lease_kept, lease_renew
from aggregation.loaders import WaveCounts, counts_load, paired_sums_load
from aggregation.models import (
    AggregationRun,
    CellResult,
    ComparisonResult,
    PendingAggregation,
    ReliabilityResult,
    WaveChangeResult,
)
from aggregation.result_rows import (
    CELL_FIELDS,
    COMPARISON_FIELDS,
    RELIABILITY_FIELDS,
    CodeMaps,
    cell_rows,
    comparison_rows,
    home_panels,
    nullable,
    reliability_rows,
    rows_insert,
)
from aggregation.snapshots import RatingsIdentity, identity_kept
from surveys.delphi_selectors import waves_primary
from surveys.models import Block, Item, Panel, Rating, Response, Role, Wave

logger = logging.getLogger(__name__)


def _pending_clear(*, wave_id: int, loaded_at) -> None:
    """Drop the wave's pending request unless a newer submission arrived during the run."""
    from aggregation.scheduling import aggregation_dispatch

    done = PendingAggregation.objects.filter(wave_id=wave_id, requested_at__lte=loaded_at)
    if done.delete()[0]:
        return
    # Newer ratings came in while this run computed: send the next run on its way.
    PendingAggregation.objects.filter(wave_id=wave_id).update(dispatched_at=None)
    transaction.on_commit(lambda: aggregation_dispatch(wave_id=wave_id))


def _latest_complete(wave: Wave) -> AggregationRun | None:
    return (
        AggregationRun.objects.filter(
            wave=wave,
            status=AggregationRun.Status.COMPLETE,
            estimator_name=engine.ESTIMATOR_NAME,
            estimator_version=engine.ESTIMATOR_VERSION,
        )
        .order_by("-finished_at")
        .first()
    )


ABANDONED = "abandoned: the worker stopped before the run finished"


def aggregation_runs_abandoned_fail(*, wave_id: int | None = None) -> list[int]:
    """Mark running runs whose worker died as failed; returns the waves of the runs that
    this call marked (sorted, each once).

    A run's worker died when its lease ran out (``aggregation.leases``); a run from before
    leases existed has none and counts as dead once older than the task time limit. Each
    run is marked by a conditional UPDATE, so of several sweeps at once exactly one marks
    it and only that one asks for the wave's aggregation again.
    """
    now = timezone.now()
    expired = Q(lease_expires_at__lt=now) | Q(
        lease_expires_at__isnull=True,
        started_at__lt=now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT),
    )
    running = AggregationRun.objects.filter(expired, status=AggregationRun.Status.RUNNING)
    if wave_id is not None:
        running = running.filter(wave_id=wave_id)
    marked = set()
    for run_id, run_wave_id in running.values_list("pk", "wave_id"):
        if AggregationRun.objects.filter(
            expired, pk=run_id, status=AggregationRun.Status.RUNNING
        ).update(status=AggregationRun.Status.FAILED, finished_at=now, error=ABANDONED):
            logger.warning("Aggregation run %s of wave %s was abandoned.", run_id, run_wave_id)
            marked.add(run_wave_id)
    return sorted(marked)


def _run_start(*, wave: Wave) -> AggregationRun:
    """Create the wave's run as ``running``, with a lease, before its input is loaded.

    Runs of the wave whose worker died are marked failed first; this run redoes them.
    """
    aggregation_runs_abandoned_fail(wave_id=wave.pk)
    now = timezone.now()
    return AggregationRun.objects.create(
        wave=wave,
        estimator_name=engine.ESTIMATOR_NAME,
        estimator_version=engine.ESTIMATOR_VERSION,
        started_at=now,
        lease_expires_at=lease_expiry(now=now),
    )


def _run_input_claim(
    run: AggregationRun, *, inputs: "WaveInputs", force: bool
) -> AggregationRun | None:
    """Give the run its input; or, when another run already has that input, drop this run
    and return the other one.

    The other run is the newest complete run with the same fingerprint (unless ``force``),
    or a running one with the same fingerprint: a redelivered task whose first delivery is
    still computing, or the new request of a sweep racing a redelivered task. The partial
    unique constraint ``one_running_run_per_input`` decides that race.
    """
    same_input = AggregationRun.objects.filter(
        wave_id=run.wave_id,
        input_fingerprint=inputs.fingerprint,
        estimator_name=run.estimator_name,
        estimator_version=run.estimator_version,
    )
    latest = _latest_complete(run.wave)
    if latest and latest.input_fingerprint == inputs.fingerprint and not force:
        run.delete()
        _pending_clear(wave_id=run.wave_id, loaded_at=run.started_at)
        return latest
    try:
        with transaction.atomic():
            AggregationRun.objects.filter(pk=run.pk).update(
                input_fingerprint=inputs.fingerprint,
                n_ratings=inputs.counts.n_ratings,
                input_responses=list(inputs.ratings.response_ids),
                ratings_fingerprint=inputs.ratings.fingerprint,
            )
    except IntegrityError:
        run.delete()
        other = same_input.exclude(status=AggregationRun.Status.FAILED).order_by("-started_at")
        logger.info("Wave %s: the same input is already being aggregated.", run.wave_id)
        return other.first() or _latest_complete(run.wave)
    run.input_fingerprint = inputs.fingerprint
    run.n_ratings = inputs.counts.n_ratings
    run.input_responses = list(inputs.ratings.response_ids)
    run.ratings_fingerprint = inputs.ratings.fingerprint
    return None


def _run_fail(run: AggregationRun, error: BaseException) -> None:
    AggregationRun.objects.filter(pk=run.pk).exclude(status=AggregationRun.Status.COMPLETE).update(
        status=AggregationRun.Status.FAILED,
        finished_at=timezone.now(),
        error=f"{type(error).__name__}: {error}"[:2000],
    )
    logger.error("Aggregation run %s of wave %s failed", run.pk, run.wave_id)


def _results_store(
    run: AggregationRun,
    *,
    cells: pd.DataFrame,
    comparisons: pd.DataFrame,
    reliability: pd.DataFrame,
) -> None:
    codes = CodeMaps.load()
    rows_insert(CellResult, CELL_FIELDS, cell_rows(run, cells, codes))
    rows_insert(ComparisonResult, COMPARISON_FIELDS, comparison_rows(run, comparisons, codes))
    rows_insert(ReliabilityResult, RELIABILITY_FIELDS, reliability_rows(run, reliability, codes))


def _previous_run(run: AggregationRun) -> AggregationRun | None:
    """The newest complete run of the wave opened before this run's wave.

    Only waves of the primary data form the series (``waves_primary``): a later Delphi
    round has no previous wave here and is never one (its change from round 1 is the
    study's stability, on the Delphi page).
    """
    wave = run.wave
    primary = Wave.objects.filter(waves_primary())
    if wave.opens_at is None or not primary.filter(pk=wave.pk).exists():
        return None
    previous = (
        primary.filter(opens_at__lt=wave.opens_at).exclude(pk=wave.pk).order_by("-opens_at")
    ).first()
    return _latest_complete(previous) if previous else None


def _cells_frame(run: AggregationRun) -> pd.DataFrame:
    fields = ["panel_id", "holder_id", "subject_id", "perspective", "role_id", "n", "mean", "sd"]
    frame = pd.DataFrame(
        list(
            CellResult.objects.filter(run=run, estimator=engine.ESTIMATOR_NAME)
            .order_by()
            .values_list(*fields)
        ),
        columns=fields,
    )
    frame["panel_id"] = frame["panel_id"].fillna(0).astype(int)  # 0: all panels
    return frame.rename(
        columns={"panel_id": "panel", "holder_id": "holder", "subject_id": "subject"}
    ).rename(columns={"role_id": "role"})


CHANGE_NUMBERS = ["mean_t", "mean_prev", "diff", "ci_low", "ci_high", "p_value"]
WAVE_CHANGE_FIELDS = [
    "run_id",
    "previous_run_id",
    "panel_id",
    "holder_id",
    "subject_id",
    "perspective",
    "role_id",
    "n_t",
    "n_prev",
    *CHANGE_NUMBERS,
]


def _changes_store(run: AggregationRun) -> None:
    """Store each cell's change since the previous wave (from both runs' stored cells)."""
    previous = _previous_run(run)
    if previous is None:
        return
    changes = nullable(cell_changes(_cells_frame(run), _cells_frame(previous)), CHANGE_NUMBERS)
    rows = [
        (
            run.pk,
            previous.pk,
            int(row.panel) or None,  # 0: all panels
            int(row.holder),
            int(row.subject),
            row.perspective,
            int(row.role),
            int(row.n_t),
            int(row.n_prev),
            *(getattr(row, name) for name in CHANGE_NUMBERS),
        )
        for row in changes.itertuples(index=False)
    ]
    rows_insert(WaveChangeResult, WAVE_CHANGE_FIELDS, rows)


def _run_complete(run: AggregationRun) -> None:
    """Store the changes since the previous wave and the saved comparisons (from the run's
    stored cells), then make the run the one readers see."""
    from aggregation.saved_comparisons import saved_comparisons_store

    _changes_store(run)
    saved_comparisons_store(run=run)
    run.status = AggregationRun.Status.COMPLETE
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "finished_at"])
    _pending_clear(wave_id=run.wave_id, loaded_at=run.started_at)


def paired_sums(*, wave: Wave, homes: dict[str, str]) -> dict:
    """The ``engine.paired_sums`` of every paired preset comparison of a wave, computed by
    the database (``loaders.paired_sums_load``), keyed by its (left, right) selectors."""
    return paired_sums_of_pairs(wave=wave, pairs=engine.paired_presets(homes))


def paired_sums_of_pairs(
    *, wave: Wave, pairs: list[tuple[engine.Selector, engine.Selector]]
) -> dict:
    """The ``engine.paired_sums`` of same-panel (left, right) selector pairs of a wave,
    computed by the database, keyed by the pair; a pair no response rated is missing."""
    blocks = {
        (holder, subject, perspective): block_id
        for block_id, holder, subject, perspective in Block.objects.filter(wave=wave).values_list(
            "id", "holder__code", "subject__code", "perspective"
        )
    }
    panels = dict(Panel.objects.values_list("code", "id"))
    roles = dict(Role.objects.values_list("id", "code"))

    def block_of(side: engine.Selector) -> int | None:
        return blocks.get((side.holder, side.subject, side.perspective))

    wanted = {
        (panels[left.panel], block_of(left), block_of(right)): (left, right)
        for left, right in pairs
        if left.panel in panels and block_of(left) and block_of(right)
    }
    loaded = paired_sums_load(
        wave_id=wave.pk,
        panel_ids=sorted({key[0] for key in wanted}),
        left_block_ids=sorted({key[1] for key in wanted}),
        right_block_ids=sorted({key[2] for key in wanted}),
    )
    sums = {}
    for key, rows in loaded.groupby(["panel_id", "left_block", "right_block"]):
        if key in wanted:
            sums[wanted[key]] = rows.assign(role=rows["role_id"].map(roles))[
                engine.PAIRED_SUM_COLUMNS
            ]
    return sums


@dataclass(frozen=True)
class WaveInputs:
    """What a wave's results are computed from, as the database aggregated it, with a
    fingerprint: equal fingerprints mean equal results under one estimator version."""

    counts: WaveCounts
    paired: dict
    fingerprint: str
    ratings: RatingsIdentity

    @classmethod
    def load(
        cls, *, wave: Wave, homes: dict[str, str], item_ids: list[int] | None = None
    ) -> "WaveInputs":
        """The wave's inputs; for the whole wave (no ``item_ids``) with the identity of the
        ratings they came from, which is part of the fingerprint (``aggregation.snapshots``)."""

        from aggregation.saved_comparisons import saved_definitions_fingerprint

        def load():
            return (
                counts_load(wave_id=wave.pk, wave_slug=wave.slug, item_ids=item_ids),
                paired_sums(wave=wave, homes=homes),
            )

        if item_ids is None:
            (counts, paired), ratings = identity_kept(wave_id=wave.pk, load=load)
        else:
            (counts, paired), ratings = load(), RatingsIdentity.unknown()
        digest = hashlib.sha256(counts.fingerprint.encode())
        digest.update(ratings.fingerprint.encode())
        # A run stores the saved comparisons too: saving or revising one is a new input.
        digest.update(saved_definitions_fingerprint().encode())
        for (left, right), sums in sorted(
            paired.items(), key=lambda item: (item[0][0].label(), item[0][1].label())
        ):
            digest.update(f"{left.label()}|{right.label()}|".encode())
            digest.update(pd.util.hash_pandas_object(sums, index=False).to_numpy().tobytes())
        return cls(counts=counts, paired=paired, fingerprint=digest.hexdigest(), ratings=ratings)

    def results(self, homes: dict[str, str]):
        """Cells, comparisons and reliability."""
        cells = engine.cell_statistics_from_counts(self.counts.counts)
        comparisons = engine.preset_comparisons(cells, self.paired, homes)
        reliability = engine.reliability_from_counts(self.counts.counts)
        return cells, comparisons, reliability


def aggregation_run_wave(*, wave_id: int, force: bool = False) -> AggregationRun:
    """Aggregate the submitted ratings of a wave and store the results as one complete run.

    The database reduces the ratings to value counts (cells, Welch comparisons and
    reliability need nothing else) and to the sums of the paired comparisons; no rating
    travels row by row. Returns the run that holds the wave's current input: this call's, or
    the complete or running one that already had it (then nothing is computed twice).
    """
    wave = Wave.objects.get(pk=wave_id)
    run = _run_start(wave=wave)
    with lease_kept(run_id=run.pk, started_at=run.started_at):
        try:
            homes = home_panels()
            inputs = WaveInputs.load(wave=wave, homes=homes)
            current = _run_input_claim(run, inputs=inputs, force=force)
            if current is not None:
                return current
            cells, comparisons, reliability = inputs.results(homes)
            corrected = estimator_outcomes_compute(run=run, homes=homes)
            with transaction.atomic():
                _results_store(run, cells=cells, comparisons=comparisons, reliability=reliability)
                estimator_results_store(run, outcomes=corrected)
                _run_complete(run)
        except Exception as error:
            _run_fail(run, error)
            raise
    logger.info(
        "Aggregation run %s of wave %s complete (%s ratings)",
        run.pk,
        wave.slug,
        inputs.counts.n_ratings,
    )
    return run


# A wave split by subject ------------------------------------------------------------------
# Large waves are aggregated in parts, one per subject actor, by several workers at once (a
# Celery chord). Each part stores its rows under the still-running run; the chord's final
# task marks the run complete. Readers see nothing of it until then.


def wave_rating_count(*, wave_id: int) -> int:
    """Number of submitted ratings of a wave (decides whether to split the aggregation)."""
    return Rating.objects.filter(
        response__wave_id=wave_id, response__status=Response.Status.SUBMITTED
    ).count()


def wave_subjects(*, wave_id: int) -> list[str]:
    """The subject actors of a wave's blocks: the parts of a split aggregation."""
    return sorted(
        set(Block.objects.filter(wave_id=wave_id).values_list("subject__code", flat=True))
    )


def aggregation_split_start(*, wave_id: int, force: bool = False) -> AggregationRun | None:
    """Create the running run of a split aggregation; None if a complete or running run
    already has the wave's current input."""
    wave = Wave.objects.get(pk=wave_id)
    run = _run_start(wave=wave)
    with lease_kept(run_id=run.pk, started_at=run.started_at):
        try:
            inputs = WaveInputs.load(wave=wave, homes=home_panels())
            current = _run_input_claim(run, inputs=inputs, force=force)
        except Exception as error:
            _run_fail(run, error)
            raise
    return None if current is not None else run


def _part_item_ids(*, wave_id: int, subject: str) -> list[int]:
    """Items a part needs: the subject's blocks, plus the anchor's blocks that the presets of
    this subject compare with (conception of Russia, the subject's expectations of Russia)."""
    anchor = engine.ANCHOR_ACTOR
    return list(
        Item.objects.filter(block__wave_id=wave_id)
        .filter(
            Q(block__subject__code=subject)
            | Q(block__subject__code=anchor, block__holder__code__in=[anchor, subject])
        )
        .values_list("id", flat=True)
    )


def aggregation_split_part(*, run_id: int, subject: str) -> None:
    """Compute and store one subject's cells, comparisons and reliability under a run.

    Idempotent: a redelivered part replaces the rows it wrote before.
    """
    if not lease_renew(run_id=run_id):
        return  # complete, failed, or given up by the sweep and redone as a new run
    run = AggregationRun.objects.select_related("wave").get(pk=run_id)
    with lease_kept(run_id=run.pk, started_at=run.started_at):
        _split_part_store(run, subject=subject)


def _split_part_store(run: AggregationRun, *, subject: str) -> None:
    item_ids = _part_item_ids(wave_id=run.wave_id, subject=subject)
    homes = home_panels()
    part_homes = {
        actor: panel for actor, panel in homes.items() if actor in (engine.ANCHOR_ACTOR, subject)
    }
    inputs = WaveInputs.load(wave=run.wave, homes=part_homes, item_ids=item_ids)
    # Comparisons see the anchor's cells too; the part stores only its own subject's rows.
    cells, comparisons, _ = inputs.results(part_homes)
    cells = cells.loc[cells["subject"] == subject]
    counts = inputs.counts.counts
    reliability = engine.reliability_from_counts(counts.loc[counts["subject"] == subject])
    if subject == engine.ANCHOR_ACTOR:
        comparisons = comparisons.iloc[0:0]
    with transaction.atomic():
        plain = {"run": run, "estimator": engine.ESTIMATOR_NAME}
        CellResult.objects.filter(**plain, subject__code=subject).delete()
        ComparisonResult.objects.filter(**plain, subject__code=subject).delete()
        ReliabilityResult.objects.filter(**plain, block__subject__code=subject).delete()
        _results_store(run, cells=cells, comparisons=comparisons, reliability=reliability)


def aggregation_split_finish(*, run_id: int) -> AggregationRun:
    """All parts are stored: the corrected estimators (which need the whole wave) are
    computed, and the run becomes the one readers see."""
    run = AggregationRun.objects.select_related("wave").get(pk=run_id)
    corrected = []
    if run.status == AggregationRun.Status.RUNNING:
        with lease_kept(run_id=run.pk, started_at=run.started_at):
            corrected = estimator_outcomes_compute(run=run, homes=home_panels())
    with transaction.atomic():
        run = AggregationRun.objects.select_for_update().get(pk=run_id)
        if run.status == AggregationRun.Status.RUNNING:
            estimator_results_store(run, outcomes=corrected)
            _run_complete(run)
    logger.info("Split aggregation run %s complete", run_id)
    return run


def aggregation_split_fail(*, run_id: int, reason: str) -> None:
    run = AggregationRun.objects.get(pk=run_id)
    _run_fail(run, RuntimeError(reason))
