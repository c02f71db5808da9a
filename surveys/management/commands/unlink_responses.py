"""``python manage.py unlink_responses <wave>``: cut a closed wave's responses from their experts.

Closing a wave does this by itself; the command is for a wave closed before it did (or to
check that nothing is left: it reports 0). Prints counts only.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from surveys.linkage import responses_unlink
from surveys.models import Wave


class Command(BaseCommand):
    help = (
        "Cut every response of a closed wave from its invitation and clear the invitations' "
        "times, so that no row joins a response to an expert again."
    )

    def add_arguments(self, parser):
        parser.add_argument("wave", help="The wave's slug.")

    def handle(self, *args, **options):
        try:
            wave = Wave.objects.get(slug=options["wave"])
        except Wave.DoesNotExist as error:
            raise CommandError(f"No wave with the slug “{options['wave']}”.") from error
        try:
            with transaction.atomic():
                unlinked = responses_unlink(wave=wave)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        self.stdout.write(f"Wave {wave.slug}: {unlinked} responses cut from their invitations.")
