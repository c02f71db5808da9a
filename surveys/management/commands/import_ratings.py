"""``python manage.py import_ratings FILE --wave <wave>``: import ratings from a CSV file."""

from django.core.management.base import BaseCommand, CommandError

from surveys.imports import IMPORT_COLUMNS, ratings_import
from surveys.models import Wave


class Command(BaseCommand):
    help = (
        "Import ratings collected outside the web form from a CSV with the columns "
        f"{', '.join(IMPORT_COLUMNS)}. All or nothing: any bad row stores nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path of the UTF-8 CSV file.")
        parser.add_argument("--wave", required=True, help="The wave's slug, e.g. 2025.")
        parser.add_argument(
            "--dry-run", action="store_true", help="Check the file only; store nothing."
        )

    def handle(self, *args, file: str, wave: str, dry_run: bool, **options):
        try:
            wave_obj = Wave.objects.get(slug=wave)
        except Wave.DoesNotExist as error:
            known = ", ".join(Wave.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No wave “{wave}”. Known waves: {known}.") from error
        try:
            with open(file, "rb") as csv_file:
                report = ratings_import(
                    wave=wave_obj, csv_file=csv_file, user=None, dry_run=dry_run
                )
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from error
        if not report.ok:
            for problem in report.errors:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{len(report.errors)} problem(s) in {report.rows} row(s); nothing was imported."
            )
        verb = "would import" if dry_run else "imported"
        self.stdout.write(
            f"Wave {wave_obj.slug}: {verb} {report.ratings_created} ratings of "
            f"{report.responses_created} experts ({report.rows} rows)."
        )
