"""``python manage.py seed_demo``: build the synthetic demo (idempotent) and print its links."""

import os

from django.conf import settings
from django.core.management.base import BaseCommand

from surveys.demo import demo_seed


class Command(BaseCommand):
    help = "Build the synthetic demo panels, instrument and waves; print the admin login and links."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", default=settings.SITE_URL)
        parser.add_argument("--admin-username", default="admin")
        parser.add_argument(
            "--admin-password", default=os.environ.get("DEMO_ADMIN_PASSWORD", "admin")
        )

    def handle(self, *args, **options):
        result = demo_seed(
            base_url=options["base_url"],
            admin_username=options["admin_username"],
            admin_password=options["admin_password"],
        )
        if result.created:
            self.stdout.write("Built the SYNTHETIC demo: waves 2021 (closed) and 2025 (open).")
        else:
            self.stdout.write("The SYNTHETIC demo is already there; nothing duplicated.")
        self.stdout.write(
            f"Admin: {options['base_url'].rstrip('/')}/admin/  "
            f"login {result.admin_username} / {result.admin_password}"
        )
        if settings.ADMIN_REQUIRE_TOTP:
            self.stdout.write(
                f"Second factor: run `manage.py totp_enrol {result.admin_username}` and scan "
                "the URI it prints; the admin asks for a code after the password."
            )
        else:
            self.stdout.write(
                "Second factor: off for this local demo (ADMIN_REQUIRE_TOTP=false, DEBUG on); "
                "with DEBUG off it is always required."
            )
        self.stdout.write("Unanswered invitations of wave 2025 (new links, old ones revoked):")
        for link in result.open_wave_links:
            self.stdout.write(f"  {link}")
