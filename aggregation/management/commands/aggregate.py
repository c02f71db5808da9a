"""``python manage.py aggregate <wave> [--sync]``: aggregate a wave now or through Celery."""

from django.core.management.base import BaseCommand, CommandError

from aggregation.scheduling import aggregation_queue_now
from aggregation.services import aggregation_run_wave
from surveys.models import Wave


class Command(BaseCommand):
    help = "Aggregate a wave's submitted ratings (queued for a worker, or here with --sync)."

    def add_arguments(self, parser):
        parser.add_argument("wave", help="The wave's slug, e.g. 2025.")
        parser.add_argument("--sync", action="store_true", help="Run here instead of queueing.")
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --sync: store a new run even if nothing changed.",
        )

    def handle(self, *args, wave: str, sync: bool, force: bool, **options):
        try:
            wave_obj = Wave.objects.get(slug=wave)
        except Wave.DoesNotExist as error:
            known = ", ".join(Wave.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No wave “{wave}”. Known waves: {known}.") from error
        if sync:
            run = aggregation_run_wave(wave_id=wave_obj.pk, force=force)
            self.stdout.write(
                f"Run #{run.pk} of wave {wave_obj.slug}: {run.status}, {run.n_ratings} ratings, "
                f"{run.cells.count()} cells, {run.comparisons.count()} comparison rows."
            )
            for result in run.estimator_results.all():
                verdict = {True: ", converged", False: ", NOT CONVERGED"}.get(result.converged, "")
                mode = f" ({result.mode})" if result.mode else ""
                state = result.note or result.get_status_display()
                if result.status == result.Status.COMPLETE:
                    state = f"complete{verdict}"
                elif result.status == result.Status.FAILED:
                    state = f"failed: {result.note}"
                self.stdout.write(f"  {result.estimator} {result.estimator_version}{mode}: {state}")
            return
        if aggregation_queue_now(wave_id=wave_obj.pk):
            self.stdout.write(f"Queued aggregation of wave {wave_obj.slug} for a worker.")
        else:
            raise CommandError(
                "The broker is unreachable; the request is kept and is sent when it is back."
            )
