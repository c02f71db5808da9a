import pytest

from tests.api.demo import demo_module


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The aggregated synthetic demo and the API users, once per module (rolled back)."""
    with demo_module(django_db_blocker) as users:
        yield users
