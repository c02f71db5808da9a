"""``python manage.py release <wave> [--run ID] [--out PATH]``: write a wave's release bundle."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aggregation.exports import ExportError, export_audit
from aggregation.release import release_name, release_write
from surveys.models import Wave


class Command(BaseCommand):
    help = (
        "Write the release bundle of a wave: every table (ratings long and wide, cells, "
        "comparisons, reliability, wave changes, trends, instrument and its texts, vignettes, "
        "cleared comments) as CSV, Parquet, .dta and .sav, with codebook, datapackage.json, "
        "R/Stata/SPSS scripts, README, CITATION.cff and SHA256SUMS, in one ZIP."
    )

    def add_arguments(self, parser):
        parser.add_argument("wave", help="The wave's slug, e.g. 2025.")
        parser.add_argument(
            "--run",
            type=int,
            help="A complete aggregation run of the wave; default: its newest complete run.",
        )
        parser.add_argument(
            "--out", help="Path of the ZIP; default: rolesurvey-<wave>-release.zip here."
        )

    def handle(self, *args, wave: str, run=None, out=None, **options):
        try:
            wave_obj = Wave.objects.get(slug=wave)
        except Wave.DoesNotExist as error:
            known = ", ".join(Wave.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No wave “{wave}”. Known waves: {known}.") from error
        path = Path(out) if out else Path(f"{release_name(wave_obj)}.zip")
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            summary = release_write(wave=wave_obj, run_id=run, path=path)
        except ExportError as error:
            raise CommandError(str(error)) from error
        export_audit(user=None, source=summary, file_format="zip", action="release.create")
        self.stdout.write(
            f"Wave {wave_obj.slug}, aggregation run {summary.run.pk}: release with "
            f"{summary.rows} ratings → {path}"
        )
