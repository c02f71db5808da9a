"""Project-wide request guards and response headers.

``ContentSecurityPolicyMiddleware`` adds ``settings.CONTENT_SECURITY_POLICY`` to every
response that does not already carry a policy of its own (the questionnaire's pages set a
stricter one). ``settings.CONTENT_SECURITY_POLICY_PATHS`` maps a path prefix to the policy of
the pages under it, for the few third-party pages that need more (Redoc runs an inline
script and a blob worker). The policy is a header only: nothing in the pages changes.
django-csp is not used: it has one policy for all paths (exceptions only per view, by
decorating the third-party API docs views) and leaves DEBUG error pages without a policy,
for about twenty lines saved.

``PermissionsPolicyMiddleware`` adds ``settings.PERMISSIONS_POLICY`` (camera, microphone,
geolocation and the other powerful features turned off) to every response.

``csrf_protect_no_referrer`` is Django's CSRF check for pages sent with
``Referrer-Policy: no-referrer`` (the questionnaire): browsers post their forms with
``Origin: null`` and no ``Referer``, which Django's check refuses. It accepts ``Origin: null``
unless the browser's ``Sec-Fetch-Site`` says the post came from another site; the CSRF
token is checked as always.

``InvitationLinkGuardMiddleware`` answers 429 to a personal link ``/s/<token>/…``
requested more than ``INVITATION_LINK_RATE_LIMIT`` times in a window, before any database
work; it counts per token hash in Django's cache (``CACHES``: Redis in production, so that
all web processes share the count) and never looks at the client's address.
It answers 415 to a post to a link that is not a form.

``ApiJsonErrorsMiddleware`` makes every error under ``/api/`` JSON: Django's own error pages
(404 for a path no route matches, 500, 400 for a bad host, even the DEBUG pages) become
``{"detail": …}``, with the same status and headers. The API's views answer JSON themselves.
"""

import contextlib
import hashlib
import logging
import re
import time
from collections.abc import Callable
from http import HTTPStatus

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.middleware.csrf import CsrfViewMiddleware
from django.template.loader import render_to_string
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import decorator_from_middleware
from django.utils.translation import gettext

HEADER = "Content-Security-Policy"
logger = logging.getLogger(__name__)


def csp_for_path(path: str) -> str:
    """The policy of a path: the longest matching prefix of the exceptions, or the default."""
    matches = [
        prefix
        for prefix in getattr(settings, "CONTENT_SECURITY_POLICY_PATHS", {})
        if path.startswith(prefix)
    ]
    if matches:
        return settings.CONTENT_SECURITY_POLICY_PATHS[max(matches, key=len)]
    return settings.CONTENT_SECURITY_POLICY


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if HEADER not in response.headers:
            response.headers[HEADER] = csp_for_path(request.path)
        return response


class PermissionsPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.PERMISSIONS_POLICY)
        return response


class NoReferrerCsrfViewMiddleware(CsrfViewMiddleware):
    """Django's CSRF check, where ``Origin: null`` from the same site counts as the site's own."""

    def _origin_verified(self, request: HttpRequest) -> bool:
        if request.META.get("HTTP_ORIGIN") == "null":
            return request.META.get("HTTP_SEC_FETCH_SITE", "same-origin") == "same-origin"
        return super()._origin_verified(request)


csrf_protect_no_referrer = decorator_from_middleware(NoReferrerCsrfViewMiddleware)

LINK_PATH = re.compile(r"^/s/(?P<token>[^/]+)/")
FORM_CONTENT_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def link_rate_exceeded(token: str) -> bool:
    """Count one request of an invitation link; True when the link is over its limit.

    Counted per hash of the token (the token itself never becomes a cache key) in a fixed
    window of ``INVITATION_LINK_RATE_WINDOW_SECONDS``, in Django's cache: shared by every
    web process when ``CACHE_URL`` names a Redis database, else per process. Most requests
    of a link come within a window it has already opened, so the count is increased first
    and created only when it is missing. A cache that cannot be reached counts nothing: the
    request goes through (logged), since a personal link must keep working for its expert.
    """
    window = settings.INVITATION_LINK_RATE_WINDOW_SECONDS
    bucket = int(time.time() // window)
    key = f"link-rate:{hashlib.sha256(token.encode()).hexdigest()}:{bucket}"
    try:
        count = _count(key, timeout=window + 1)
    except Exception as error:  # the cache is down: experts must still reach their answers
        logger.warning("Link rate limit not counted: cache unavailable (%s).", type(error).__name__)
        return False
    return count > settings.INVITATION_LINK_RATE_LIMIT


def _count(key: str, *, timeout: int) -> int:
    try:
        return cache.incr(key)
    except ValueError:  # the window's first request
        if cache.add(key, 1, timeout=timeout):
            return 1
        try:  # another request created it meanwhile
            return cache.incr(key)
        except ValueError:  # and it expired at once: count this one alone
            return 1


class InvitationLinkGuardMiddleware:
    """Refuse, before any database work, what a personal link must never process.

    A link requested too often (guessing, scripts) gets 429; a post whose body is not a
    form (JSON, plain text, bytes) gets 415 instead of being read as an empty form.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        match = LINK_PATH.match(request.path)
        if match is None:
            return self.get_response(request)
        if link_rate_exceeded(match["token"]):
            return too_many_requests(request)
        if request.method == "POST" and request.content_type not in FORM_CONTENT_TYPES:
            return unsupported_media_type(request)
        return self.get_response(request)


def too_many_requests(request: HttpRequest) -> HttpResponse:
    message = gettext("Too many requests for this link. Please wait a minute and try again.")
    if request.path.endswith("/autosave/"):
        response = JsonResponse({"ok": False, "errors": [message]}, status=429)
    else:
        response = HttpResponse(
            render_to_string("surveys/too_many_requests.html", {"message": message}), status=429
        )
    response.headers["Retry-After"] = str(settings.INVITATION_LINK_RATE_WINDOW_SECONDS)
    add_never_cache_headers(response)
    return response


def unsupported_media_type(request: HttpRequest) -> HttpResponse:
    message = gettext("Your answers could not be read: they were not sent as a form.")
    if request.path.endswith("/autosave/"):
        response = JsonResponse({"ok": False, "errors": [message]}, status=415)
    else:
        context = {"errors": [message], "back_url": request.path, "status": 415}
        response = HttpResponse(render_to_string("surveys/bad_request.html", context), status=415)
    add_never_cache_headers(response)
    return response


API_PREFIX = "/api/"


class ApiJsonErrorsMiddleware:
    """Errors under ``/api/`` that a view of the API did not render become JSON."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (
            not request.path.startswith(API_PREFIX)
            or response.status_code < 400
            or response.streaming
            or getattr(response, "accepted_renderer", None) is not None  # rendered by DRF
            or "json" in response.get("Content-Type", "")
        ):
            return response
        return api_error_json(response)


def api_error_json(response: HttpResponse) -> JsonResponse:
    """``response``'s status and headers, with ``{"detail": …}`` as its body."""
    try:
        detail = HTTPStatus(response.status_code).phrase + "."
    except ValueError:
        detail = "Error."
    body = {"detail": detail}
    if response.status_code == 404:
        body["detail"] = "Not found: no endpoint has this address."
        with contextlib.suppress(NoReverseMatch):  # a URLconf without the API
            body["api_root"] = reverse("api-root")
    replacement = JsonResponse(body, status=response.status_code)
    for header, value in response.items():
        if header.lower() not in ("content-type", "content-length"):
            replacement[header] = value
    replacement.cookies = response.cookies
    # Django logs an error response once: keep its note that this one was logged already.
    replacement._has_been_logged = getattr(response, "_has_been_logged", False)
    return replacement
