"""Property-based: schemathesis drives every operation of the schema with generated requests
(valid and invalid parameters, bodies, files) against the demo; none may end in a 5xx or
show an expert's identity.

The requests go through Django's WSGI handler in this process, inside the test's transaction.
"""

import json

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import HealthCheck, settings
from knox.models import AuthToken

from surveys.api.pagination import IdCursorPagination, ReferencePagination, TrendPagination
from tests.api.demo import secrets_of_experts

MAX_EXAMPLES = 15
# Generated path parameters rarely name a real wave, actor or role: one in three keeps the
# generated value, the others are replaced by a real one so that the request reaches the
# code behind the lookup.
REAL_PATH_VALUES = {
    "wave": ["2025", "2021"],
    "slug": ["2025", "2021"],
    "table": ["cells", "comparisons"],
}
REAL_CODES = {"actors": ["RUS", "ARM"], "roles": ["protectee", "great_power"], "panels": ["MOW"]}


def _schema() -> schemathesis.schemas.BaseSchema:
    raw = SchemaGenerator().get_schema(request=None, public=True)
    loaded = schemathesis.openapi.from_dict(json.loads(OpenApiJsonRenderer().render(raw)))
    loaded.app = get_wsgi_application()
    return loaded


schema = _schema()


@pytest.fixture
def in_test_transaction(settings, tmp_path, monkeypatch):
    """Keep Django from closing the test's connection at the end of each WSGI request; keep
    pages and exports small (the same code runs, faster) and export files in a temporary
    folder."""
    settings.EXPORT_DIR = tmp_path / "exports"
    settings.EXPORT_SYNC_MAX_ROWS = 1000
    for pagination in (ReferencePagination, TrendPagination, IdCursorPagination):
        monkeypatch.setattr(pagination, "page_size", 20)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(scope="module")
def secrets(demo, django_db_blocker):
    with django_db_blocker.unblock():
        return secrets_of_experts()


def _use_real_path_values(case) -> None:
    parameters = case.path_parameters or {}
    for name, generated in parameters.items():
        choices = REAL_PATH_VALUES.get(name)
        if name == "code":
            choices = REAL_CODES.get(case.path.split("/")[3])
        if choices:
            pick = len(str(generated)) % (len(choices) + 1)
            if pick < len(choices):
                parameters[name] = choices[pick]


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_generated_requests_never_fail_the_server_or_reveal_an_expert(
    case, demo, secrets, in_test_transaction
):
    _instance, token = AuthToken.objects.create(user=demo.admin)
    _use_real_path_values(case)
    response = case.call(headers={"Authorization": f"Token {token}"})
    assert response.status_code < 500, case.as_curl_command()
    body = response.content.decode("utf-8", errors="ignore")
    leaked = [secret for secret in secrets if secret in body]
    assert not leaked, case.as_curl_command()
