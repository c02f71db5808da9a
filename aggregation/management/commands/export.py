"""``python manage.py export <wave> --table T --format F --out PATH``: export a wave's data."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from aggregation.exports import (
    FORMATS,
    TABLES,
    ExportError,
    export_audit,
    export_source,
    export_write,
)
from surveys.models import Wave


class Command(BaseCommand):
    help = (
        "Export a wave's raw ratings, cells or comparisons. PATH ending in .zip gives a bundle "
        "(data, codebook.csv, codebook.json, metadata.json); any other PATH gets the data "
        "file with <name>.codebook.csv, <name>.codebook.json and <name>.metadata.json beside it."
    )

    def add_arguments(self, parser):
        parser.add_argument("wave", help="The wave's slug, e.g. 2025.")
        parser.add_argument("--table", required=True, choices=TABLES)
        parser.add_argument("--format", required=True, choices=FORMATS, dest="file_format")
        parser.add_argument("--out", required=True, help="Output path (.zip for a bundle).")
        parser.add_argument(
            "--run",
            type=int,
            help="Pin to this complete aggregation run of the wave: its results and exactly "
            "the raw ratings it counted (refused if they have changed since).",
        )

    def handle(self, *args, wave: str, table: str, file_format: str, out: str, run=None, **options):
        try:
            wave_obj = Wave.objects.get(slug=wave)
        except Wave.DoesNotExist as error:
            known = ", ".join(Wave.objects.values_list("slug", flat=True)) or "none"
            raise CommandError(f"No wave “{wave}”. Known waves: {known}.") from error
        path = Path(out)
        if not path.parent.is_dir():
            raise CommandError(f"The folder {path.parent} does not exist.")
        try:
            source = export_source(wave=wave_obj, table=table, run_id=run)
            written = export_write(source=source, file_format=file_format, path=path)
        except ExportError as error:
            raise CommandError(str(error)) from error
        export_audit(user=None, source=source, file_format=file_format, action="export.create")
        self.stdout.write(
            f"Wave {wave_obj.slug}, {table}: {source.rows} rows as {file_format} → "
            + ", ".join(str(p) for p in written)
        )
