"""``python manage.py import_texts <wave> <file> [--user NAME]``: a translated file back in.

The file (XLIFF 2.0 or CSV, as ``export_texts`` wrote it) is checked whole first; on any
problem nothing is imported and every problem is listed, each naming its key. Texts are
imported into a draft wave only. ``--user`` records who imported (and, with the review
permission, reviewed) the texts; without it the texts are the system's, and those marked
reviewed in the file are stored as reviewed with no reviewer named.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError

from surveys.models import Wave
from surveys.texts import exchange
from surveys.texts.importing import texts_import


class Command(BaseCommand):
    help = "Import a translated XLIFF 2.0 or CSV file of a wave's texts (all or nothing)."

    def add_arguments(self, parser):
        parser.add_argument("wave", help="Slug of the wave.")
        parser.add_argument("file", help="The translated file.")
        parser.add_argument("--user", default="", help="User name recorded as translator.")

    def handle(self, *args, **options):
        try:
            wave = Wave.objects.get(slug=options["wave"])
        except Wave.DoesNotExist as error:
            raise CommandError(f"No wave with the slug “{options['wave']}”.") from error
        user = None
        if options["user"]:
            user = get_user_model().objects.filter(username=options["user"]).first()
            if user is None:
                raise CommandError(f"No user “{options['user']}”.")
        try:
            with open(options["file"], "rb") as file:
                data = file.read()
        except OSError as error:
            raise CommandError(f"Cannot read {options['file']}: {error.strerror}.") from error
        try:
            document = exchange.document_parse(data)
            report = texts_import(wave=wave, document=document, user=user)
        except (ValidationError, PermissionDenied) as error:
            messages = error.messages if isinstance(error, ValidationError) else [str(error)]
            raise CommandError(
                "Nothing was imported.\n" + "\n".join(f"- {message}" for message in messages)
            ) from error
        self.stdout.write(
            f"Imported {report.language} into wave {report.wave}: {report.created} new, "
            f"{report.changed} changed, {report.unchanged} unchanged, {report.reviewed} marked "
            f"reviewed, {report.untranslated} left untranslated."
        )
        if report.reviews_not_allowed:
            self.stdout.write(
                f"{report.reviews_not_allowed} texts marked reviewed in the file were stored "
                f"as drafts: {user} may not review texts."
            )
