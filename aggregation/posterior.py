"""The full posterior (NUTS) of the ordinal IRT for one aggregation run, as a background job.

Every run fits the ordinal IRT in its fast mode. The full posterior takes minutes, so it is
asked for separately (the run's admin action or ``manage.py posterior``): ``posterior_request``
writes a ``PosteriorJob`` and queues the task after the transaction commits; the task calls
``posterior_compute``, which fits NUTS on the run's wave, storing its progress (phase, draws
done of total) on the job as it goes, and then, in one transaction, replaces the run's
``ordinal_irt`` rows and result set with the posterior's: mode ``full``, split R-hat and bulk
ESS, and ``converged`` by the project's rule (not converged when more than 5 % of the R-hats
exceed 1.01). A not-converged result set is marked so wherever it is shown.

Idempotent: a job already complete or failed is left alone; a run has at most one queued or
running job (``one_open_posterior_job_per_run``), and asking again returns that one.
"""

from __future__ import annotations

import logging
import time

from django.db import IntegrityError, transaction
from django.utils import timezone

from aggregation.estimator_runs import irt_outcome
from aggregation.estimator_services import estimator_result_replace
from aggregation.loaders import ratings_frame
from aggregation.models import AggregationRun, PosteriorJob
from aggregation.snapshots import run_input_load
from surveys.vignette_selectors import vignette_subject_codes

logger = logging.getLogger(__name__)

PROGRESS_EVERY_SECONDS = 2.0
OPEN = (PosteriorJob.Status.QUEUED, PosteriorJob.Status.RUNNING)


class PosteriorNotApplicable(ValueError):
    """The run's wave has no vignettes, or the run is not complete."""


def posterior_request(*, run_id: int, queue: bool = True) -> PosteriorJob:
    """A queued job for the run's full posterior (the open one if there is one); the task is
    sent after the transaction commits unless ``queue`` is False."""
    run = AggregationRun.objects.select_related("wave").get(pk=run_id)
    if run.status != AggregationRun.Status.COMPLETE:
        raise PosteriorNotApplicable(f"run #{run.pk} is {run.status}, not complete")
    if not vignette_subject_codes(wave_id=run.wave_id):
        raise PosteriorNotApplicable("not applicable: no vignettes")
    open_job = PosteriorJob.objects.filter(run=run, status__in=OPEN).first()
    if open_job is not None:
        return open_job
    try:
        with transaction.atomic():
            job = PosteriorJob.objects.create(run=run, requested_at=timezone.now())
    except IntegrityError:  # another request won the race
        return PosteriorJob.objects.get(run=run, status__in=OPEN)
    if queue:
        from aggregation.tasks import ordinal_irt_full_posterior

        transaction.on_commit(lambda: ordinal_irt_full_posterior.delay(job.pk))
    return job


def _progress_writer(job_id: int):
    last = [0.0]

    def progress(phase: str, done: int, total: int) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_EVERY_SECONDS and done < total:
            return
        last[0] = now
        PosteriorJob.objects.filter(pk=job_id).update(phase=phase, done=done, total=total)

    return progress


def posterior_compute(
    *, job_id: int, chains: int = 4, warmup: int = 500, samples: int = 500
) -> PosteriorJob:
    """Fit the full posterior of a job's run and store it over the fast mode's results."""
    from aggregation.estimators import irt
    from aggregation.services import home_panels

    claimed = PosteriorJob.objects.filter(pk=job_id, status__in=OPEN).update(
        status=PosteriorJob.Status.RUNNING, started_at=timezone.now(), error=""
    )
    job = PosteriorJob.objects.select_related("run__wave").get(pk=job_id)
    if not claimed:
        return job  # complete or failed already: nothing to redo
    run = job.run
    try:
        vignettes = vignette_subject_codes(wave_id=run.wave_id)
        ratings = run_input_load(  # the ratings the run counted, or SnapshotChangedError
            run,
            lambda response_ids: ratings_frame(
                wave_id=run.wave_id, wave_slug=run.wave.slug, response_ids=response_ids
            ),
        )
        data = irt.irt_data(ratings, vignettes)
        fit = irt.fit_full(
            data,
            seed=run.pk,
            chains=chains,
            warmup=warmup,
            samples=samples,
            progress=_progress_writer(job_id),
        )
        outcome = irt_outcome(data, fit, home_panels(), ratings)
        with transaction.atomic():
            estimator_result_replace(run, outcome)
            PosteriorJob.objects.filter(pk=job_id).update(
                status=PosteriorJob.Status.COMPLETE, finished_at=timezone.now()
            )
    except Exception as error:
        PosteriorJob.objects.filter(pk=job_id).update(
            status=PosteriorJob.Status.FAILED,
            finished_at=timezone.now(),
            error=f"{type(error).__name__}: {error}"[:2000],
        )
        logger.error("Full posterior job %s of run %s failed", job_id, run.pk)
        raise
    logger.info("Full posterior job %s of run %s complete", job_id, run.pk)
    job.refresh_from_db()
    return job
