"""``python manage.py rotate_identity_keys``: re-encrypt experts' identities under the newest key.

Run it after putting a new key first in ``IDENTITY_ENCRYPTION_KEYS`` (the old ones still
listed), and after changing ``IDENTITY_BLIND_INDEX_KEY``; see docs/reliability.md,
"Encryption at rest". Prints counts only, never a name or an e-mail.
"""

from django.core.management.base import BaseCommand, CommandError

from surveys.identity_crypto import IdentityKeyError
from surveys.services import identity_keys_rotate


class Command(BaseCommand):
    help = (
        "Re-encrypt every expert's name, e-mail and affiliation under the first key of "
        "IDENTITY_ENCRYPTION_KEYS and recompute the e-mail blind indexes, in one transaction."
    )

    def handle(self, *args, **options):
        try:
            report = identity_keys_rotate()
        except IdentityKeyError as error:
            raise CommandError(f"{error} Nothing was changed.") from error
        self.stdout.write(
            f"{report.experts} experts re-encrypted under the newest key; "
            f"{report.reindexed} e-mail blind indexes changed."
        )
        self.stdout.write("The older keys can now be removed from IDENTITY_ENCRYPTION_KEYS.")
