"""``python manage.py api_token <username>``: issue an API token, or revoke a user's tokens.

The token is printed once; only its digest is stored (django-rest-knox), so it cannot be shown
again. It expires after ``REST_KNOX["TOKEN_TTL"]`` (``API_TOKEN_TTL_DAYS``, default 30 days).
``--revoke`` deletes every token of the user. See docs/api.md, "Getting a token".
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from knox.models import AuthToken
from knox.settings import knox_settings


class Command(BaseCommand):
    help = "Issue an API token for a user (printed once), or revoke all of the user's tokens."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--revoke", action="store_true", help="Delete every API token of the user."
        )

    def handle(self, *args, username: str, revoke: bool, **options):
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: username})
        except user_model.DoesNotExist as error:
            raise CommandError(f"No user named {username!r}.") from error
        if revoke:
            deleted, _by_model = AuthToken.objects.filter(user=user).delete()
            self.stdout.write(f"{deleted} API token(s) of {username} revoked.")
            return
        if not user.is_active:
            raise CommandError(f"{username} is inactive: no token issued.")
        instance, token = AuthToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL)
        self.stdout.write(token)
        self.stderr.write(
            f"API token of {username}, valid until {instance.expiry:%Y-%m-%d %H:%M} UTC. "
            "It is shown only now; send it as `Authorization: Token <token>`."
        )
