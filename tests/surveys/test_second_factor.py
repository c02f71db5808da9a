"""The second factor of the users who see identities, and the 8-hour sessions
(``surveys.second_factor``, ``manage.py totp_enrol``)."""

import os
import secrets
import subprocess
import sys
from datetime import timedelta
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.contrib.auth.models import Group, Permission, User
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from surveys import services
from surveys.groups import RESEARCHERS, groups_sync
from surveys.models import Panel
from tests.conftest import login_with_second_factor
from tests.worker import ROOT

pytestmark = pytest.mark.django_db

EXPERTS = "/admin/surveys/expert/"
STEP = "/admin/second-factor/"


@pytest.fixture
def expert(panels):
    return services.expert_create(
        panel=panels["MOW"], name="Ivan Petrov", email="ivan@example.org", language="ru"
    )


@pytest.fixture
def identity_user() -> User:
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_expert", "view_expert_identity"])
    )
    user.administered_panels.set(Panel.objects.all())
    return user


def code_of(device: TOTPDevice) -> str:
    token = TOTP(device.bin_key, device.step, device.t0, device.digits).token()
    return str(token).zfill(device.digits)


def test_an_identity_user_without_the_code_is_sent_to_the_second_step(
    client, expert, identity_user
):
    TOTPDevice.objects.create(user=identity_user, confirmed=True)
    client.force_login(identity_user)  # the password step only
    for url in (EXPERTS, f"{EXPERTS}{expert.pk}/change/", "/admin/", "/admin/reports/overview/"):
        page = client.get(url)
        assert page.status_code == 302, url
        assert page["Location"].startswith(f"{STEP}?next="), url
    page = client.get(EXPERTS, follow=True)
    html = page.content.decode()
    assert "authenticator app" in html
    assert "Ivan Petrov" not in html and "ivan@example.org" not in html
    wrong = client.post(STEP, {"token": "000000", "next": EXPERTS})
    assert "This code is not valid" in wrong.content.decode()
    assert client.get(EXPERTS).status_code == 302


def test_with_a_valid_code_the_identity_user_sees_the_identity_pages(client, expert, identity_user):
    device = TOTPDevice.objects.create(user=identity_user, confirmed=True)
    client.force_login(identity_user)
    page = client.post(STEP, {"token": code_of(device), "next": EXPERTS})
    assert page.status_code == 302 and page["Location"] == EXPERTS
    html = client.get(EXPERTS).content.decode()
    assert "Ivan Petrov" in html
    assert client.get(f"{EXPERTS}{expert.pk}/change/").status_code == 200


def test_a_code_is_not_accepted_twice_and_next_stays_on_this_site(client, identity_user):
    device = TOTPDevice.objects.create(user=identity_user, confirmed=True)
    code = code_of(device)
    client.force_login(identity_user)
    page = client.post(STEP, {"token": code, "next": "https://elsewhere.example.org/"})
    assert page["Location"] == "/admin/"
    other = User.objects.get(pk=identity_user.pk)
    second = type(client)()
    second.force_login(other)
    assert "This code is not valid" in second.post(STEP, {"token": code}).content.decode()


def test_a_superuser_without_a_device_cannot_pass(client):
    boss = User.objects.create_superuser("boss", password="pw")
    client.force_login(boss)
    page = client.get("/admin/", follow=True)
    html = page.content.decode()
    assert "no authenticator is enrolled" in html
    assert "manage.py totp_enrol boss" in html
    assert client.get("/admin/auth/user/").status_code == 302


def test_researchers_and_staff_without_identity_access_are_not_asked(client, reference_data):
    groups_sync()
    researcher = User.objects.create_user("researcher", password="pw", is_staff=True)
    researcher.groups.add(Group.objects.get(name=RESEARCHERS))
    client.force_login(researcher)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/reports/overview/").status_code == 200
    assert client.get(STEP).status_code == 200  # the page exists but asks nothing of them
    clerk = User.objects.create_user("viewer", password="pw", is_staff=True)
    clerk.user_permissions.set(Permission.objects.filter(codename="view_expert"))
    client.force_login(clerk)
    assert client.get(EXPERTS).status_code == 200


def test_the_helper_of_the_tests_signs_in_with_a_verified_device(client, identity_user):
    login_with_second_factor(client, identity_user)
    assert client.get(EXPERTS).status_code == 200
    assert TOTPDevice.objects.filter(user=identity_user, confirmed=True).exists()


def test_a_session_ends_eight_hours_after_sign_in_however_busy(client, identity_user, mocker):
    login_with_second_factor(client, identity_user)
    signed_in = timezone.now()
    expires = client.session.get_expiry_date()
    assert timedelta(hours=7, minutes=59) < expires - signed_in <= timedelta(hours=8)
    later = mocker.patch("django.utils.timezone.now", return_value=signed_in + timedelta(hours=7))
    assert client.get(EXPERTS).status_code == 200
    client.session.save()  # a modified session keeps its expiry date
    assert client.session.get_expiry_date() == expires
    later.return_value = signed_in + timedelta(hours=8, minutes=1)
    page = client.get(EXPERTS)
    assert page.status_code == 302 and page["Location"].startswith("/admin/login/")


def test_totp_enrol_prints_the_uri_and_replaces_only_when_asked(identity_user):
    out, err = StringIO(), StringIO()
    call_command("totp_enrol", "clerk", stdout=out, stderr=err)
    assert out.getvalue().startswith("otpauth://totp/")
    assert "Secret (base32)" in err.getvalue()
    first = TOTPDevice.objects.get(user=identity_user)
    with pytest.raises(CommandError, match="already has a TOTP device"):
        call_command("totp_enrol", "clerk", stdout=StringIO(), stderr=StringIO())
    call_command("totp_enrol", "clerk", "--replace", stdout=StringIO(), stderr=StringIO())
    assert TOTPDevice.objects.get(user=identity_user).pk != first.pk


def test_the_second_factor_can_be_turned_off_only_with_debug_on():
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "project.settings.base",
        "ADMIN_REQUIRE_TOTP": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(60),
        "DJANGO_ALLOWED_HOSTS": "survey.example.org",
        "SITE_URL": "https://survey.example.org",
        "IDENTITY_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "IDENTITY_BLIND_INDEX_KEY": secrets.token_urlsafe(32),
    }
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    on = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_DEBUG": "true"},
        capture_output=True,
        text=True,
    )
    assert on.returncode == 0, on.stderr
    off = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_DEBUG": "false"},
        capture_output=True,
        text=True,
    )
    assert off.returncode != 0
    assert "ADMIN_REQUIRE_TOTP may be turned off only with DJANGO_DEBUG on" in off.stderr
