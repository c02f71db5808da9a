"""Shared pieces of the fault tests: waiting, and a throwaway Redis server to stop and start."""

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable

import pytest
from django.conf import settings

# One port per test process (pytest-xdist's gw0, gw1, ...): two processes never share a server.
REDIS_FAULT_PORT = 6390 + int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))

needs_redis = pytest.mark.skipif(
    not settings.CELERY_BROKER_URL.startswith("redis://"),
    reason="needs the Redis broker: runs in CI's PostgreSQL + Redis pass "
    "(the filesystem broker has no redelivery and cannot be stopped)",
)
needs_postgresql = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="needs PostgreSQL: runs in CI's PostgreSQL + Redis pass",
)


def wait_for(condition: Callable[[], bool], timeout: float = 90.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


def _port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


class ThrowawayRedis:
    """A Redis server of the test's own on ``REDIS_FAULT_PORT``, with nothing persisted."""

    def __init__(self, port: int = REDIS_FAULT_PORT):
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"

    def start(self) -> None:
        subprocess.run(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "yes",
            ],
            check=True,
            capture_output=True,
        )
        assert wait_for(lambda: _port_open(self.port), timeout=10), "redis did not start"

    def stop(self) -> None:
        subprocess.run(
            ["redis-cli", "-p", str(self.port), "shutdown", "nosave"], capture_output=True
        )
        assert wait_for(lambda: not _port_open(self.port), timeout=10), "redis did not stop"


@pytest.fixture
def throwaway_redis():
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    if _port_open(REDIS_FAULT_PORT):
        pytest.skip(f"port {REDIS_FAULT_PORT} is taken: cannot run a throwaway Redis there")
    server = ThrowawayRedis()
    server.start()
    yield server
    if _port_open(server.port):
        server.stop()
