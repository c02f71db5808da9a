"""Throttling of password logins (the admin's sign-in form and any other ``authenticate``).

``ThrottledModelBackend`` is Django's ``ModelBackend`` that counts failed logins per user
name in Django's cache. After ``ADMIN_LOGIN_MAX_FAILURES`` failures within
``ADMIN_LOGIN_LOCKOUT_SECONDS`` (counted from the first), every further attempt for that
user name is refused, even with the right password, until the window ends. The refusal is
a ``ValidationError``: the sign-in form shows its message instead of the usual "enter a
correct user name and password". A successful login clears the count. The cache key is a
hash of the user name.

Guessing across many user names is limited too: after ``ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS``
failures from one client address in the same window, that address may not sign in. The
address is the one ``project.client_address`` vouches for (``TRUSTED_PROXY_COUNT``; a forged
``X-Forwarded-For`` changes nothing) and only its keyed hash names the counter: no address is
stored or logged. With ``CACHE_URL`` set to a Redis database every web process shares the
counts; the embedded default counts per process.

While the cache cannot be reached, password sign-ins are refused with a message of their
own: without a count there would be no limit on guessing (the personal links, which must
keep working for experts, go through uncounted instead: ``project.middleware``).

Why not django-axes: its tables (``AccessAttempt``, ``AccessLog``, ``AccessFailureLog``) have
an IP address column and are installed even with its cache handler, its log lines name the
client address, and its lockout is a page of its own rather than the form's message; the
tests of this module (user names compared case- and space-insensitively, sign-in refused
while the cache is down, no address field on any model) would not hold. This module is
about 130 lines.
"""

import hashlib
import logging

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.utils.translation import gettext

from project.client_address import client_key

logger = logging.getLogger(__name__)


def _key(username: str) -> str:
    digest = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
    return f"login-failures:{digest}"


def _address_key(request) -> str:
    return f"login-failures-from:{client_key(request)}"


def login_failures(username: str) -> int:
    return cache.get(_key(username), 0)


def _failure_count(key: str) -> int:
    if cache.add(key, 1, timeout=settings.ADMIN_LOGIN_LOCKOUT_SECONDS):
        return 1
    try:
        return cache.incr(key)
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, timeout=settings.ADMIN_LOGIN_LOCKOUT_SECONDS)
        return 1


def login_failure_record(username: str, request=None) -> int:
    """Count one failed login for ``username`` (and the request's client address); returns
    the failures of the user name in the window."""
    if request is not None:
        _failure_count(_address_key(request))
    return _failure_count(_key(username))


def login_is_locked(username: str) -> bool:
    return login_failures(username) >= settings.ADMIN_LOGIN_MAX_FAILURES


def address_is_locked(request) -> bool:
    if request is None:
        return False
    failures = cache.get(_address_key(request), 0)
    return failures >= settings.ADMIN_LOGIN_MAX_FAILURES_PER_ADDRESS


class ThrottledModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None:
            username = kwargs.get(self._username_field(), "")
        name = str(username or "")
        try:
            locked = bool(name) and login_is_locked(name)
            address_locked = address_is_locked(request)
        except Exception as error:  # the cache is down: no count, so no guessing either
            logger.error("Password sign-in refused: cache unavailable (%s).", type(error).__name__)
            raise ValidationError(
                gettext("Sign-in is unavailable for a moment; please try again in a minute."),
                code="login_throttle_unavailable",
            ) from error
        if locked:
            minutes = max(1, settings.ADMIN_LOGIN_LOCKOUT_SECONDS // 60)
            raise ValidationError(
                gettext(
                    "Too many failed sign-ins for this user name. "
                    "Sign-in is blocked for up to %(minutes)s minutes; please try again later."
                )
                % {"minutes": minutes},
                code="too_many_failed_logins",
            )
        if address_locked:
            raise ValidationError(
                gettext(
                    "Too many failed sign-ins from your network. "
                    "Sign-in is blocked for up to %(minutes)s minutes; please try again later."
                )
                % {"minutes": max(1, settings.ADMIN_LOGIN_LOCKOUT_SECONDS // 60)},
                code="too_many_failed_logins_from_address",
            )
        user = super().authenticate(request, username=username, password=password, **kwargs)
        if name and password is not None:
            try:
                if user is None:
                    login_failure_record(name, request)
                else:
                    cache.delete(_key(name))
            except Exception as error:  # the cache went down in between: the answer stands
                logger.error("Sign-in not counted: cache unavailable (%s).", type(error).__name__)
        return user

    @staticmethod
    def _username_field() -> str:
        from django.contrib.auth import get_user_model

        return get_user_model().USERNAME_FIELD
