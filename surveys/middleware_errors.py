"""A database that is down or restarting answers with a clear 503 page, not a traceback.

When PostgreSQL restarts, every open connection dies and requests fail with
``OperationalError`` or ``InterfaceError`` until Django opens a new connection (which it does
on the next request: ``close_old_connections`` drops a connection that had errors). The
expert's draft is safe in the database: every block page is saved in its own transaction,
so nothing half-written survives a lost connection. This middleware turns those errors into
a page (or, for the autosave and API requests, JSON) that says so, with ``Retry-After``.

The page is rendered without a request context: no context processor, session or user
lookup may touch the database that just failed. Nothing about the request (path, token,
address) is logged, only the error's class.
"""

import logging
from collections.abc import Callable

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30


def _wants_json(request: HttpRequest) -> bool:
    return (
        request.path.startswith("/api/")
        or request.path.endswith("/autosave/")
        or "application/json" in request.headers.get("Accept", "")
    )


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer while the database cannot be reached."""
    message = gettext(
        "The survey is briefly unavailable. Your saved answers are safe; "
        "please try again in a minute."
    )
    if _wants_json(request):
        # "detail" as in every error of the API; "ok" and "errors" as the autosave reads them.
        response = JsonResponse({"ok": False, "errors": [message], "detail": message}, status=503)
    else:
        response = HttpResponse(
            render_to_string("surveys/unavailable.html", {"message": message}), status=503
        )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    add_never_cache_headers(response)
    # Logged above without the path: keep django.request from logging the link's token.
    response._has_been_logged = True
    return response


class DatabaseUnavailableMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not isinstance(exception, OperationalError | InterfaceError):
            return None
        logger.warning("Database unavailable (%s): answered 503.", type(exception).__name__)
        return database_unavailable(request)
