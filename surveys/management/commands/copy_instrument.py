"""``python manage.py copy_instrument <wave> <new-slug>``: start the next wave from an instrument.

The new wave is a draft with the same blocks, items, panels and scales; item codes stay the
same, so the two waves' cells line up for trends.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from surveys.models import Wave
from surveys.services import wave_copy_instrument


class Command(BaseCommand):
    help = "Create a draft wave with the instrument (blocks and items) of an existing wave."

    def add_arguments(self, parser):
        parser.add_argument("wave", help="Slug of the wave whose instrument is copied.")
        parser.add_argument("slug", help="Slug of the new wave, e.g. 2027.")
        parser.add_argument("--title", default="", help="Title of the new wave.")

    def handle(self, *args, **options):
        try:
            source = Wave.objects.get(slug=options["wave"])
        except Wave.DoesNotExist as error:
            raise CommandError(f"No wave with the slug “{options['wave']}”.") from error
        title = options["title"] or f"{source.title} (next wave {options['slug']})"
        try:
            target = wave_copy_instrument(source=source, slug=options["slug"], title=title)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        blocks = target.blocks.count()
        items = sum(block.items.count() for block in target.blocks.all())
        self.stdout.write(
            f"Draft wave {target.slug} created from {source.slug}: {blocks} blocks, {items} items."
        )
