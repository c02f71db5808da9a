"""The Delphi report page on the demo's two-round study: both rounds, stability, reasons,
no identities, and who may read it."""

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import transaction
from django.urls import reverse

from surveys.models import DelphiStudy, Expert, Panel, RevisionJustification
from tests.conftest import login_with_second_factor
from tests.reports.test_views import researcher

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=StringIO())
        yield
        transaction.set_rollback(True)


@pytest.fixture
def study(demo_data) -> DelphiStudy:
    return DelphiStudy.objects.get()


def test_the_demo_study_has_two_closed_rounds_with_stored_figures(study):
    assert study.ended_at is not None
    rounds = list(study.rounds.order_by("number"))
    assert [r.number for r in rounds] == [1, 2]
    assert rounds[1].results["stability_overall"]["changed"] > 0
    assert RevisionJustification.objects.exists()


def test_report_shows_both_rounds_stability_and_reasons_without_identities(client, study):
    login_with_second_factor(client, User.objects.get(username="admin"))
    page = client.get(reverse("reports:delphi", args=[study.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert "Round 1" in html and "Round 2" in html
    assert "Wilcoxon" in html and "changed" in html
    assert "Synthetic reason" in html
    assert "Kendall" in html
    # One role asked in two blocks is told apart by its block.
    assert "Protectee (expectation RUS→ARM)" in html
    assert "Protectee (conception ARM→ARM)" in html
    for expert in Expert.objects.filter(panel__code="MOW")[:3]:
        assert expert.email not in html and expert.name not in html
    assert "R-" not in html  # no pseudonym


def test_researchers_read_every_panel_and_panel_admins_their_own(client, study):
    user = researcher()
    login_with_second_factor(client, user)
    assert "YER" in client.get(reverse("reports:delphi", args=[study.pk])).content.decode()
    admin = User.objects.create_user("mow-admin", password="pw", is_staff=True)
    Panel.objects.get(code="MOW").admins.add(admin)
    client.logout()
    login_with_second_factor(client, admin)
    html = client.get(reverse("reports:delphi", args=[study.pk])).content.decode()
    assert "<td>MOW</td>" in html and "<td>YER</td>" not in html
    outsider = User.objects.create_user("outsider", password="pw", is_staff=True)
    client.logout()
    login_with_second_factor(client, outsider)
    assert client.get(reverse("reports:delphi", args=[study.pk])).status_code == 403
