"""DRF throttles keyed on the client's real address (``project.client_address``)."""

from rest_framework.throttling import ScopedRateThrottle

from project.client_address import client_key


class ClientAddressScopedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle, counting anonymous requests per hash of the client's address.

    DRF's own ``get_ident`` trusts the whole ``X-Forwarded-For`` header unless ``NUM_PROXIES``
    is set, and puts the address itself into the cache key; this uses the trusted proxy count
    of the settings and a keyed hash.
    """

    def get_ident(self, request) -> str:
        return client_key(request)
