"""seed_demo: the panels, two waves, labelled synthetic, idempotent, with working links."""

from io import StringIO

import pytest
from django.core.management import call_command

from surveys.models import Expert, Invitation, Panel, Rating, Response, Wave
from surveys.services import token_hash

pytestmark = pytest.mark.django_db


def seed() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_demo_builds_panels_waves_and_experts():
    seed()
    assert set(Panel.objects.values_list("code", flat=True)) == {"MOW", "AST", "YER", "BIS", "DYU"}
    assert Wave.objects.get(slug="2021").status == Wave.Status.CLOSED
    assert Wave.objects.get(slug="2025").status == Wave.Status.OPEN
    for panel in Panel.objects.all():
        assert panel.experts.count() == 15


def test_demo_is_labelled_synthetic_everywhere():
    output = seed()
    assert "SYNTHETIC" in output
    for wave in Wave.objects.all():
        assert wave.is_synthetic and "synthetic" in wave.title
    assert all("Synthetic" in name for name in Expert.objects.values_list("name", flat=True))
    assert all(
        email.endswith("@example.org") for email in Expert.objects.values_list("email", flat=True)
    )


def test_running_twice_duplicates_nothing():
    seed()
    counts = [m.objects.count() for m in (Wave, Expert, Invitation, Response, Rating)]
    second = seed()
    assert [m.objects.count() for m in (Wave, Expert, Invitation, Response, Rating)] == counts
    assert "nothing duplicated" in second


def test_printed_links_are_the_unanswered_invitations_and_reissued_each_run():
    first = [line.strip() for line in seed().splitlines() if "/s/" in line]
    second = [line.strip() for line in seed().splitlines() if "/s/" in line]
    unanswered = Invitation.objects.filter(wave__slug="2025", response__isnull=True)
    assert len(second) == unanswered.count() > 0
    assert set(first).isdisjoint(second)
    tokens = [link.rstrip("/").rsplit("/", 1)[1] for link in second]
    assert all(link.startswith("http://127.0.0.1:8000/s/") for link in second)
    assert {token_hash(t) for t in tokens} == set(unanswered.values_list("token_hash", flat=True))


def test_demo_plants_the_seeds_role_profiles():
    """Raw means already show the planted contrasts (the aggregation tests check the stats)."""
    from django.db.models import Avg

    seed()

    def mean(panel, holder, subject, perspective, role):
        return Rating.objects.filter(
            response__wave__slug="2025",
            response__panel__code=panel,
            response__status="submitted",
            item__block__holder__code=holder,
            item__block__subject__code=subject,
            item__block__perspective=perspective,
            item__role__code=role,
        ).aggregate(m=Avg("value"))["m"]

    assert mean("MOW", "RUS", "ARM", "expectation", "protectee") > 8
    assert mean("YER", "ARM", "ARM", "conception", "independent") > 7
    assert mean("YER", "ARM", "ARM", "conception", "protectee") < 4
