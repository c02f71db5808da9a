"""``python manage.py delphi_round <wave>``: start a Delphi study, open its next round, end it.

``<wave>`` is any round's wave. ``--start`` runs the wave as round 1 of a new study;
otherwise the study's next round opens from the latest round's closed figures (``--new-links``
gives the experts new links, sent from the wave's expert page); ``--end`` ends the study.
No identity and no token is printed.
"""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from surveys import delphi
from surveys.models import DelphiRound, Wave


class Command(BaseCommand):
    help = "Start a Delphi study from a wave, open its next round, or end it."

    def add_arguments(self, parser):
        parser.add_argument("wave", help="Slug of a wave of the study (or of round 1 to start).")
        action = parser.add_mutually_exclusive_group()
        action.add_argument("--start", action="store_true", help="Run the wave as round 1.")
        action.add_argument("--end", action="store_true", help="End the study now.")
        parser.add_argument("--new-links", action="store_true", help="Give experts new links.")
        parser.add_argument("--last-round", type=int, default=None, help="With --start.")

    def handle(self, *args, **options):
        try:
            wave = Wave.objects.get(slug=options["wave"])
        except Wave.DoesNotExist as error:
            raise CommandError(f"No wave with the slug “{options['wave']}”.") from error
        try:
            if options["start"]:
                settings = {}
                if options["last_round"]:
                    settings["last_round"] = options["last_round"]
                study = delphi.delphi_study_start(wave=wave, **settings)
                self.stdout.write(f"Wave {wave.slug} is round 1 of Delphi study #{study.pk}.")
                return
            round_ = DelphiRound.objects.select_related("study").filter(wave=wave).first()
            if round_ is None:
                raise CommandError(f"Wave {wave.slug} is no round of a Delphi study.")
            if options["end"]:
                delphi.delphi_study_end(study=round_.study)
                self.stdout.write(f"Delphi study #{round_.study.pk} ended; its rounds are cut.")
                return
            opened, tokens = delphi.delphi_round_open(
                study=round_.study, new_links=options["new_links"]
            )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from error
        invited = opened.wave.invitations.count()
        self.stdout.write(
            f"Round {opened.number} is open as wave {opened.wave.slug}: {invited} experts invited"
            + (", new links to send from the wave's expert page." if tokens else " (same links).")
        )
