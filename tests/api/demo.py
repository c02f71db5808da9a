"""The synthetic demo, aggregated, with one API user per kind: shared by the API and export tests.

``demo_module`` builds it once per test module inside a transaction that is rolled back
after the module; each test still runs in its own savepoint (the ``db`` fixture).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from io import StringIO

from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.db import transaction
from knox.models import AuthToken
from rest_framework.test import APIClient

from surveys.groups import PANEL_ADMINS, RESEARCHERS, groups_sync
from surveys.models import Expert, Invitation, Panel, Role
from tests.factories import reference_data_restore

HOST = "127.0.0.1"


@dataclass(frozen=True)
class ApiUsers:
    researcher: User
    panel_admin: User
    plain: User
    admin: User


def api_client(user: User | None = None, *, token: bool = True) -> APIClient:
    """A client authenticated with the user's API token (or its session), or anonymous."""
    client = APIClient(SERVER_NAME=HOST)
    if user is not None:
        if token:
            _instance, key = AuthToken.objects.create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        else:
            client.force_login(user)
    return client


def users_create() -> ApiUsers:
    groups_sync()
    researcher = User.objects.create_user("researcher", password="researcher-pw")
    researcher.groups.add(Group.objects.get(name=RESEARCHERS))
    panel_admin = User.objects.create_user("panel-admin", password="panel-admin-pw")
    panel_admin.groups.add(Group.objects.get(name=PANEL_ADMINS))
    panel_admin.administered_panels.set(Panel.objects.all())
    plain = User.objects.create_user("plain", password="plain-pw")
    admin = User.objects.get(username="admin")
    return ApiUsers(researcher=researcher, panel_admin=panel_admin, plain=plain, admin=admin)


def demo_build() -> ApiUsers:
    if not Role.objects.exists():  # a transactional test emptied the tables before
        reference_data_restore()
    call_command("seed_demo", stdout=StringIO())
    call_command("aggregate", "2021", "--sync", stdout=StringIO())
    call_command("aggregate", "2025", "--sync", stdout=StringIO())
    return users_create()


@contextmanager
def demo_module(django_db_blocker) -> Iterator[ApiUsers]:
    with django_db_blocker.unblock(), transaction.atomic():
        yield demo_build()
        transaction.set_rollback(True)


def secrets_of_experts() -> list[str]:
    """Every string that identifies an expert: names, e-mails, affiliations, token hashes."""
    values: set[str] = set()
    for name, email, affiliation in Expert.objects.values_list("name", "email", "affiliation"):
        values.update({name, email, email.split("@")[0]})
        if affiliation:
            values.add(affiliation)
    values.update(Invitation.objects.values_list("token_hash", flat=True))
    return sorted(values)
