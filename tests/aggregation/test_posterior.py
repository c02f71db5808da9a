"""The full posterior job: progress stored, results replace the fast mode's, convergence
judged by the R-hat rule and marked, idempotent."""

import pytest

from aggregation.models import ComparisonResult, EstimatorResult, PosteriorJob
from aggregation.posterior import PosteriorNotApplicable, posterior_compute, posterior_request
from aggregation.services import aggregation_run_wave
from aggregation.snapshots import SnapshotChangedError

pytestmark = pytest.mark.django_db


def test_full_posterior_replaces_the_fast_mode_and_records_convergence(vignette_wave):
    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    job = posterior_request(run_id=run.pk, queue=False)
    assert posterior_request(run_id=run.pk, queue=False) == job  # one open job per run
    done = posterior_compute(job_id=job.pk, chains=2, warmup=30, samples=30)
    assert done.status == PosteriorJob.Status.COMPLETE
    assert done.total > 0 and done.done == done.total  # progress was stored to the end
    result = EstimatorResult.objects.get(run=run, estimator="ordinal_irt")
    assert result.mode == "full"
    assert result.rhat_share_above is not None and result.ess_bulk_min is not None
    # the project's rule: not converged when more than 5 % of the R-hats exceed 1.01
    assert result.converged is (result.rhat_share_above <= 0.05)
    rows = ComparisonResult.objects.filter(run=run, estimator="ordinal_irt")
    assert rows.exists() and set(rows.values_list("method", flat=True)) == {"posterior"}
    # a second delivery of the task changes nothing
    assert posterior_compute(job_id=job.pk).status == PosteriorJob.Status.COMPLETE
    assert EstimatorResult.objects.get(run=run, estimator="ordinal_irt").pk == result.pk


def test_full_posterior_needs_vignettes(rated_wave):
    run = aggregation_run_wave(wave_id=rated_wave.pk)
    with pytest.raises(PosteriorNotApplicable, match="no vignettes"):
        posterior_request(run_id=run.pk, queue=False)
    assert not PosteriorJob.objects.exists()


def test_full_posterior_refuses_ratings_changed_since_the_run(vignette_wave):
    from surveys.models import Rating

    run = aggregation_run_wave(wave_id=vignette_wave.pk)
    rating = Rating.objects.filter(response__wave=vignette_wave).order_by("pk").first()
    Rating.objects.filter(pk=rating.pk).update(value=(rating.value + 1) % 11)
    job = posterior_request(run_id=run.pk, queue=False)
    with pytest.raises(SnapshotChangedError):
        posterior_compute(job_id=job.pk, chains=2, warmup=5, samples=5)
    job.refresh_from_db()
    assert job.status == PosteriorJob.Status.FAILED
    assert "changed since" in job.error
    assert EstimatorResult.objects.get(run=run, estimator="ordinal_irt").mode == "fast"
