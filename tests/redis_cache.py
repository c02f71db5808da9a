"""The tests' Redis cache (project/settings/test.py, CI's second pass).

Django's ``RedisCache.clear()`` empties the whole Redis database. The test processes that run
at once (pytest-xdist) share that database, each under a key prefix of its own, and a test
that resets the counters with ``cache.clear()`` must not reset another process's counters in
the middle of its test: here ``clear()`` deletes this cache's keys only.
"""

from django.core.cache.backends.redis import RedisCache


class TestProcessRedisCache(RedisCache):
    def clear(self) -> bool:
        client = self._cache.get_client(None, write=True)
        # Django's keys are "<KEY_PREFIX>:<version>:<key>" (django.core.cache.backends.base).
        keys = list(client.scan_iter(match=f"{self.key_prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
        return True
