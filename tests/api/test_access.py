"""Who may read what: anonymous users nothing, researchers the data, panel admins the
instrument and the import, plain users nothing but the schema; tokens and sessions both work."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken

from tests.api.demo import api_client

pytestmark = pytest.mark.django_db

INSTRUMENT = [
    "/api/v1/actors/",
    "/api/v1/actors/RUS/",
    "/api/v1/roles/",
    "/api/v1/roles/protectee/",
    "/api/v1/panels/",
    "/api/v1/panels/MOW/",
    "/api/v1/waves/",
    "/api/v1/waves/2025/",
    "/api/v1/items/",
]
DATA = [
    "/api/v1/cells/",
    "/api/v1/comparisons/",
    "/api/v1/reliability/",
    "/api/v1/trends/",
    "/api/v1/ratings/",
    "/api/v1/exports/2025/ratings/codebook/",
    "/api/v1/exports/2025/cells/metadata/",
    "/api/v1/exports/2025/comparisons/download/",
]
DOCS = ["/api/v1/schema/", "/api/v1/docs/", "/api/v1/redoc/"]


def test_anonymous_users_get_nothing(demo):
    client = api_client()
    for url in [*INSTRUMENT, *DATA, *DOCS]:
        assert client.get(url).status_code == 401, url
    assert client.post("/api/v1/export-jobs/", {}).status_code == 401
    assert client.post("/api/v1/waves/2025/ratings-import/", {}).status_code == 401


def test_a_wrong_token_is_refused(demo):
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get("/api/v1/actors/").status_code == 401


def test_researchers_read_the_instrument_the_results_and_the_raw_ratings(demo):
    client = api_client(demo.researcher)
    for url in [*INSTRUMENT, *DATA, *DOCS]:
        assert client.get(url).status_code == 200, url


def test_panel_admins_read_the_instrument_but_no_results_or_ratings(demo):
    client = api_client(demo.panel_admin)
    for url in INSTRUMENT:
        assert client.get(url).status_code == 200, url
    for url in DATA:
        assert client.get(url).status_code == 403, url


def test_a_user_without_a_group_reads_only_the_documentation(demo):
    client = api_client(demo.plain)
    for url in [*INSTRUMENT, *DATA]:
        assert client.get(url).status_code == 403, url
    for url in DOCS:
        assert client.get(url).status_code == 200, url


def test_admins_read_everything(demo):
    client = api_client(demo.admin)
    for url in [*INSTRUMENT, *DATA, *DOCS]:
        assert client.get(url).status_code == 200, url


def test_only_the_import_permission_may_import(demo):
    from django.core.files.uploadedfile import SimpleUploadedFile

    for user, allowed in [(demo.researcher, False), (demo.plain, False), (demo.panel_admin, True)]:
        upload = SimpleUploadedFile("ratings.csv", b"expert_ref\n", content_type="text/csv")
        response = api_client(user).post(
            "/api/v1/waves/2025/ratings-import/", {"file": upload}, format="multipart"
        )
        assert response.status_code == (400 if allowed else 403), user


def test_exports_need_the_export_permission_and_the_table_permission(demo):
    from django.contrib.auth.models import Permission, User

    user = User.objects.create_user("cells-only")
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_cellresult", "export_results"])
    )
    client = api_client(user)
    assert client.get("/api/v1/exports/2025/cells/download/").status_code == 200
    assert client.get("/api/v1/exports/2025/ratings/download/").status_code == 403
    assert client.get("/api/v1/ratings/").status_code == 403
    job = {"wave": "2025", "table": "ratings", "file_format": "csv"}
    assert client.post("/api/v1/export-jobs/", job, format="json").status_code == 403

    viewer = User.objects.create_user("cells-viewer")
    viewer.user_permissions.set(Permission.objects.filter(codename="view_cellresult"))
    client = api_client(viewer)
    assert client.get("/api/v1/cells/").status_code == 200
    assert client.get("/api/v1/exports/2025/cells/download/").status_code == 403


def test_a_token_is_had_for_a_username_and_password(demo):
    cache.clear()  # the token endpoint is throttled
    client = api_client()
    response = client.post(
        "/api/v1/auth/token/", {"username": "researcher", "password": "researcher-pw"}
    )
    assert response.status_code == 200
    token = response.json()["token"]
    assert response.json()["expiry"]
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cells/").status_code == 200

    wrong = api_client().post(
        "/api/v1/auth/token/", {"username": "researcher", "password": "not-the-password"}
    )
    assert wrong.status_code == 400
    assert "not-the-password" not in wrong.content.decode()


def test_the_token_endpoint_is_throttled(demo):
    cache.clear()
    client = api_client()
    codes = [
        client.post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code
        for _ in range(25)
    ]
    assert 429 in codes
    cache.clear()


def _token_requests(count: int, **headers) -> list[int]:
    client = api_client()
    return [
        client.post(
            "/api/v1/auth/token/", {"username": "x", "password": "y"}, **headers
        ).status_code
        for _ in range(count)
    ]


def test_a_forged_forwarded_for_does_not_escape_the_token_throttle(demo, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    cache.clear()
    codes = [
        _token_requests(1, REMOTE_ADDR="203.0.113.7", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")[0]
        for n in range(25)
    ]
    assert 429 in codes
    cache.clear()


def test_behind_a_trusted_proxy_the_token_throttle_counts_each_client(demo, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    cache.clear()
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    assert 429 in _token_requests(25, HTTP_X_FORWARDED_FOR="203.0.113.7", **proxy)
    assert 429 not in _token_requests(3, HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy)
    forged = "203.0.113.8, 203.0.113.7"  # a forged first address does not help
    assert _token_requests(1, HTTP_X_FORWARDED_FOR=forged, **proxy) == [429]
    cache.clear()


def test_a_session_works_like_a_token(demo):
    client = api_client(demo.researcher, token=False)
    assert client.get("/api/v1/ratings/").status_code == 200


def test_tokens_are_stored_only_as_digests(demo):
    cache.clear()
    response = api_client().post(
        "/api/v1/auth/token/", {"username": "researcher", "password": "researcher-pw"}
    )
    token = response.json()["token"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        rows = cursor.fetchall()
    assert rows
    assert not any(token in str(value) for row in rows for value in row)
    assert "authtoken_token" not in connection.introspection.table_names()


def test_a_token_expires_after_its_lifetime(demo, settings):
    stored, token = AuthToken.objects.create(user=demo.researcher)
    assert timedelta(days=29) < stored.expiry - timezone.now() <= settings.REST_KNOX["TOKEN_TTL"]
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cells/").status_code == 200
    AuthToken.objects.filter(pk=stored.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert client.get("/api/v1/cells/").status_code == 401
    assert not AuthToken.objects.filter(pk=stored.pk).exists(), "an expired token is deleted"


def test_a_token_is_revoked_by_its_owner(demo):
    _stored, token = AuthToken.objects.create(user=demo.researcher)
    _other, other_token = AuthToken.objects.create(user=demo.researcher)
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.post("/api/v1/auth/token/logout/").status_code == 204
    assert client.get("/api/v1/cells/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {other_token}")
    assert client.get("/api/v1/cells/").status_code == 200, "only the token sent is revoked"
    assert client.post("/api/v1/auth/token/logout-all/").status_code == 204
    assert client.get("/api/v1/cells/").status_code == 401


def test_an_admin_issues_and_revokes_tokens_with_the_command(demo):
    out, err = StringIO(), StringIO()
    call_command("api_token", "researcher", stdout=out, stderr=err)
    token = out.getvalue().strip()
    assert "valid until" in err.getvalue()
    client = api_client()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/v1/cells/").status_code == 200
    call_command("api_token", "researcher", "--revoke", stdout=StringIO())
    assert client.get("/api/v1/cells/").status_code == 401
    assert not AuthToken.objects.filter(user=demo.researcher).exists()


def test_who_sees_identities_reads_no_raw_ratings_whatever_their_permissions(
    demo, django_user_model
):
    """Separation of duties: identities and per-response ratings never meet in one account
    (a superuser excepted)."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    user = django_user_model.objects.create_user("both-hats", password="pw")
    user.user_permissions.set(
        Permission.objects.filter(
            codename__in=["view_anonymised_ratings", "view_expert_identity", "view_wave"]
        )
    )
    client = APIClient()
    client.force_authenticate(user)
    reply = client.get("/api/v1/ratings/", {"wave": "2025"})
    assert reply.status_code == 403
    assert "separation of duties" in reply.json()["detail"]
