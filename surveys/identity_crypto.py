"""Experts' names, e-mails and affiliations encrypted at rest, and the e-mail blind index.

* ``encrypt`` / ``decrypt``: Fernet (AES-128-CBC + HMAC-SHA256, from ``cryptography``) under
  ``settings.IDENTITY_ENCRYPTION_KEYS``, newest key first: the first key encrypts, every key
  decrypts (``MultiFernet``), so a new key can be put in front and old rows re-encrypted
  later with ``manage.py rotate_identity_keys``.
* ``blind_index``: HMAC-SHA256 of the normalised (trimmed, lower-cased) e-mail under
  ``settings.IDENTITY_BLIND_INDEX_KEY``. Equal e-mails give equal indexes, so the index carries
  the unique (panel, e-mail) constraint and every lookup by e-mail; without the key it reveals
  nothing about the address.
* The model fields: ``EncryptedCharField`` and ``EncryptedEmailField`` hold plaintext on the
  instance and ciphertext in the column; ``BlindIndexField`` recomputes the index from its
  source field whenever the row is saved.

See docs/reliability.md, "Encryption at rest", for the keys and the rotation procedure.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


class IdentityKeyError(ImproperlyConfigured):
    """A stored identity cannot be decrypted with any of the configured keys."""


@lru_cache(maxsize=4)
def _multi_fernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def _fernet() -> MultiFernet:
    return _multi_fernet(tuple(settings.IDENTITY_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    """The Fernet token (URL-safe base64 text) of ``plaintext`` under the newest key."""
    return _fernet().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    """The plaintext of a token made by ``encrypt`` under any of the configured keys.

    Raises ``IdentityKeyError`` (never returns garbage) when no key fits or the token was
    altered.
    """
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeEncodeError) as error:
        raise IdentityKeyError(
            "An expert's identity cannot be decrypted with the keys in "
            "IDENTITY_ENCRYPTION_KEYS: the key it was encrypted under is missing, or the stored "
            'value is not encrypted (docs/reliability.md, "Encryption at rest").'
        ) from error


def email_normalise(email: str) -> str:
    """The form of an e-mail that the blind index hashes: trimmed and lower-cased."""
    return email.strip().lower()


def blind_index(email: str) -> str:
    """HMAC-SHA256 (hex) of the normalised e-mail under ``IDENTITY_BLIND_INDEX_KEY``."""
    key = settings.IDENTITY_BLIND_INDEX_KEY.encode("utf-8")
    return hmac.new(key, email_normalise(email).encode("utf-8"), hashlib.sha256).hexdigest()


class EncryptedFieldMixin:
    """Plaintext on the instance, a Fernet token in a ``text`` column.

    Ciphertexts are random, so the database cannot compare, search or sort them: the only
    lookup is ``isnull``, and any other (``email=...``, ``name__icontains=...``) raises
    ``FieldError`` instead of silently matching nothing. Look experts up by e-mail through
    the blind index (``Expert.objects.with_email``). Form validation (``max_length``, the
    e-mail validator) still applies to the plaintext.
    """

    def get_internal_type(self) -> str:
        return "TextField"

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        return None if value is None else encrypt(value)

    def from_db_value(self, value, expression, connection):
        return None if value is None else decrypt(value)

    def get_lookup(self, lookup_name):
        return super().get_lookup(lookup_name) if lookup_name == "isnull" else None


class EncryptedCharField(EncryptedFieldMixin, models.CharField):
    pass


class EncryptedEmailField(EncryptedFieldMixin, models.EmailField):
    pass


class BlindIndexField(models.CharField):
    """The blind index of the e-mail in field ``source``, recomputed on every save.

    ``save()``, ``create()`` and ``bulk_create()`` call ``pre_save``; ``update()`` and
    ``bulk_update()`` do not, so code that changes an e-mail that way must set the index too.
    """

    def __init__(self, *args, source: str, **kwargs):
        self.source = source
        kwargs.setdefault("max_length", 64)
        kwargs["editable"] = False
        super().__init__(*args, **kwargs)

    def deconstruct(self):
        name, path, args, kwargs = super().deconstruct()
        kwargs["source"] = self.source
        del kwargs["editable"]
        return name, path, args, kwargs

    def pre_save(self, model_instance, add):
        value = blind_index(getattr(model_instance, self.source))
        setattr(model_instance, self.attname, value)
        return value
