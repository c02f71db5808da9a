"""The client's address, as far as the deployment can vouch for it, for rate limits only.

``TRUSTED_PROXY_COUNT`` says how many reverse proxies of our own stand in front of the web
server. With 0 (the default) the address is ``REMOTE_ADDR``, what the socket saw; any
``X-Forwarded-For`` header is ignored, since a client can write whatever it likes there. With
N, each of our proxies has appended the address it received the request from, so the Nth
address from the right of ``X-Forwarded-For`` is the one the outermost proxy saw: everything
left of it came from the client and is ignored. A header with fewer than N addresses did
not pass all our proxies, and ``REMOTE_ADDR`` is used.

The address is never stored or logged: callers get ``client_key``, a keyed hash, which only
names a counter in Django's cache for the counter's short window.
"""

from django.conf import settings
from django.http import HttpRequest
from django.utils.crypto import salted_hmac


def client_address(request: HttpRequest) -> str:
    """The address of the client as seen by the outermost trusted proxy (or the socket)."""
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [
        address.strip()
        for address in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if address.strip()
    ]
    if len(forwarded) < count:
        return remote
    return forwarded[-count]


def client_key(request: HttpRequest) -> str:
    """A keyed hash of the client's address: a cache key part that reveals no address."""
    return salted_hmac("project.client_address", client_address(request)).hexdigest()
