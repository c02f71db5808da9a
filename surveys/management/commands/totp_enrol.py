"""``python manage.py totp_enrol <username>``: give a user a TOTP device for the second factor.

Prints the ``otpauth://`` URI (to scan as a QR code or paste into an authenticator app) and its
secret. A user who already has a device keeps it unless ``--replace`` is given, which deletes
the old ones first (a lost phone). See docs/admin.md, "Second factor".
"""

from base64 import b32encode

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django_otp.plugins.otp_totp.models import TOTPDevice


class Command(BaseCommand):
    help = "Enrol a TOTP device for a user and print its otpauth:// URI."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--replace", action="store_true", help="Delete the user's TOTP devices first."
        )

    def handle(self, *args, username: str, replace: bool, **options):
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist as error:
            raise CommandError(f"No user named {username!r}.") from error
        devices = TOTPDevice.objects.filter(user=user)
        if devices.exists() and not replace:
            raise CommandError(
                f"{username} already has a TOTP device; --replace deletes it and enrols a new one."
            )
        devices.delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        self.stdout.write(device.config_url)
        self.stderr.write(
            f"Secret (base32): {b32encode(device.bin_key).decode()}\n"
            f"Scan or paste this into {username}'s authenticator app; keep it nowhere else. "
            "Its codes are asked for at the next sign-in."
        )
