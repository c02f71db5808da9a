"""``python manage.py posterior <wave> [--sync]``: the ordinal IRT's full posterior (NUTS) for
the wave's newest complete run, queued for a worker or computed here."""

from django.core.management.base import BaseCommand, CommandError

from aggregation.posterior import PosteriorNotApplicable, posterior_compute, posterior_request
from aggregation.selectors import run_latest_complete
from surveys.models import Wave


class Command(BaseCommand):
    help = "Fit the ordinal IRT's full posterior (NUTS) for a wave's newest complete run."

    def add_arguments(self, parser):
        parser.add_argument("wave", help="The wave's slug.")
        parser.add_argument("--sync", action="store_true", help="Run here instead of queueing.")
        parser.add_argument("--chains", type=int, default=4)
        parser.add_argument("--warmup", type=int, default=500)
        parser.add_argument("--samples", type=int, default=500)

    def handle(self, *args, wave: str, sync: bool, chains: int, warmup: int, samples: int, **_):
        wave_obj = Wave.objects.filter(slug=wave).first()
        if wave_obj is None:
            raise CommandError(f"No wave “{wave}”.")
        run = run_latest_complete(wave=wave_obj)
        if run is None:
            raise CommandError(f"Wave {wave} has no complete aggregation run; aggregate it first.")
        try:
            job = posterior_request(run_id=run.pk, queue=not sync)
        except PosteriorNotApplicable as error:
            raise CommandError(str(error)) from error
        if not sync:
            self.stdout.write(f"Queued the full posterior of run #{run.pk} (job #{job.pk}).")
            return
        job = posterior_compute(job_id=job.pk, chains=chains, warmup=warmup, samples=samples)
        result = run.estimator_results.get(estimator="ordinal_irt")
        verdict = "converged" if result.converged else "NOT CONVERGED"
        self.stdout.write(
            f"Full posterior of run #{run.pk}: {job.status}, {verdict} "
            f"(share of R-hats above 1.01: {result.rhat_share_above:.3f}, "
            f"min bulk ESS: {result.ess_bulk_min:.0f})."
        )
