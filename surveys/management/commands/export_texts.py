"""``python manage.py export_texts <wave> <language> --format xliff|csv``: a translator's file.

Every text of the wave's instrument in ``<language>``, with the source language's text beside
it (English; Russian for an English file), as XLIFF 2.0 or CSV, on standard output or into
``--output``. ``import_texts`` reads the translated file back.
"""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from surveys.models import Wave
from surveys.texts import exchange


class Command(BaseCommand):
    help = "Write a wave's instrument texts in one language as an XLIFF 2.0 or CSV file."

    def add_arguments(self, parser):
        parser.add_argument("wave", help="Slug of the wave.")
        parser.add_argument("language", choices=[code for code, _name in settings.LANGUAGES])
        parser.add_argument("--format", choices=exchange.FORMATS, default="xliff")
        parser.add_argument(
            "--source",
            choices=[code for code, _name in settings.LANGUAGES],
            default="",
            help="The language shown beside each text (default: English; Russian for English).",
        )
        parser.add_argument("--output", default="", help="A file to write (default: stdout).")

    def handle(self, *args, **options):
        try:
            wave = Wave.objects.get(slug=options["wave"])
        except Wave.DoesNotExist as error:
            raise CommandError(f"No wave with the slug “{options['wave']}”.") from error
        document = exchange.document_build(
            wave=wave, language=options["language"], source_language=options["source"]
        )
        data = exchange.document_render(document, options["format"])
        if options["output"]:
            with open(options["output"], "wb") as file:
                file.write(data)
            missing = sum(1 for entry in document.entries if not entry.target)
            self.stderr.write(
                f"{len(document.entries)} texts of wave {wave.slug} in {document.language} "
                f"written to {options['output']} ({missing} still to translate)."
            )
        else:
            self.stdout.write(data.decode("utf-8"), ending="")
