"""The admin's report pages and panel tools on the synthetic demo: they render, read stored
results, say what the seed claims, export CSV, hide identities and keep their queries bounded."""

import csv
import io
from io import StringIO
from unittest import mock

import numpy as np
import pytest
from defusedxml import ElementTree
from django.contrib import admin
from django.contrib.auth.models import Group, Permission, User
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from aggregation.engine import PRESETS
from aggregation.services import aggregation_run_wave
from surveys import demo, tasks
from surveys.groups import RESEARCHERS, groups_sync
from surveys.models import AuditEntry, Expert, Invitation, Wave
from tests.conftest import login_with_second_factor

pytestmark = pytest.mark.django_db

REPORT_PAGES = [
    "/admin/reports/comparison/?wave=2025&preset=ascribed_vs_conceived&subject=ARM",
    "/admin/reports/comparison/?wave=2021&preset=conception_vs_performance&subject=TJK",
    "/admin/reports/overview/?wave=2025&preset=ascribed_vs_conceived",
    "/admin/reports/overview/?wave=2025&preset=ego_vs_perceived_alter",
    "/admin/reports/overview/?wave=2025&preset=ascribed_vs_conceived&family=comparison",
    "/admin/reports/dyad/?wave=2025&subject=ARM",
    "/admin/reports/trends/",
    "/admin/reports/trends/?kind=cell&holder=RUS&subject=RUS&perspective=performance&panel=ALL",
    "/admin/reports/trends/?kind=comparison&preset=ascribed_vs_conceived&subject=ARM"
    "&role=protectee&role=independent",
    "/admin/reports/reliability/?wave=2025",
    "/admin/reports/network/?wave=2025",
    "/admin/reports/network/?wave=2025&compare=2021",
]
PANEL_PAGES = [
    "/admin/surveys/wave/dashboard/?wave=2025",
    "/admin/surveys/wave/dashboard/?wave=2021",
    "/admin/surveys/wave/experts/?wave=2025",
    "/admin/surveys/wave/experts/?wave=2025&panel=YER&status=created",
    "/admin/surveys/expert/import/",
]


def _aggregate(*slugs: str) -> None:
    for slug in slugs:
        aggregation_run_wave(wave_id=Wave.objects.get(slug=slug).pk, force=True)


@pytest.fixture(scope="module")
def demo_data(django_db_setup, django_db_blocker):
    """The synthetic demo with both waves aggregated, built once for this module inside a
    transaction that is rolled back at its end (each test runs in a savepoint of it)."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", stdout=StringIO())
        _aggregate("2025", "2021")
        yield
        transaction.set_rollback(True)


@pytest.fixture
def superuser(demo_data) -> User:
    return User.objects.get(username="admin")


def researcher() -> User:
    if not Group.objects.filter(name=RESEARCHERS).exists():
        groups_sync()
    user = User.objects.create_user("researcher", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=RESEARCHERS))
    return user


def body(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def test_every_page_renders_with_the_synthetic_banner(client, superuser):
    login_with_second_factor(client, superuser)
    for url in [*REPORT_PAGES, *PANEL_PAGES, "/admin/", "/admin/surveys/auditentry/"]:
        page = body(client, url)
        assert "Synthetic demo data." in page, url
        assert "Traceback" not in page


def test_comparison_for_armenia_names_protectee_against_independent(client, superuser):
    login_with_second_factor(client, superuser)
    response = client.get(REPORT_PAGES[0])
    view = response.context["comparison"]
    assert view.dominant_left.role_name == "Protectee"
    assert view.dominant_right.role_name == "Independent"
    assert view.left.short == "Ascribed (Moscow)"
    assert view.right.short == "Self-conceived (Yerevan)"
    page = response.content.decode()
    left = page.split('data-side="left"')[1].split("</div>\n  </div>")[0]
    right = page.split('data-side="right"')[1].split("</div>\n  </div>")[0]
    assert "ascribed to Armenia by Russia (Moscow panel)" in left and "Protectee" in left
    assert "self-conceived by Armenia (Yerevan panel)" in right and "Independent" in right
    # the table: protectee first (largest positive difference), independent last, coloured
    rows = [row.role for row in view.rows]
    assert rows[0] in ("protectee", "faithful_ally") and rows[-1] == "independent"
    independent = view.rows[-1]
    assert independent.diff.css.startswith("heat-n") and independent.p_adjusted.text
    assert "<svg" in page and "Mean rating (0–10) with 95 % CI" in page


def test_reports_read_the_newest_complete_run_only(client, superuser):
    login_with_second_factor(client, superuser)
    wave = Wave.objects.get(slug="2025")
    from aggregation.models import AggregationRun

    complete = AggregationRun.objects.filter(wave=wave, status="complete").latest("finished_at")
    AggregationRun.objects.create(
        wave=wave,
        status=AggregationRun.Status.FAILED,
        estimator_name="plain_means",
        estimator_version="1.0",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    page = body(client, REPORT_PAGES[0])
    assert f"aggregation run #{complete.pk}, the newest complete run" in page


def test_overview_matrix_has_every_ally_and_readable_values(client, superuser):
    login_with_second_factor(client, superuser)
    response = client.get(REPORT_PAGES[2])
    matrix = response.context["matrix"]
    assert [row.subject for row in matrix.rows] == ["KAZ", "ARM", "KGZ", "TJK"]
    armenia = dict(zip((code for code, _ in matrix.roles), matrix.rows[1].cells, strict=True))
    assert armenia["protectee"].css in ("heat-p4 sig", "heat-p5 sig")
    assert armenia["independent"].css in ("heat-n4 sig", "heat-n5 sig")
    assert all(
        cell.text == "–" or len(cell.text.split(".")[1]) == 2
        for row in matrix.rows
        for cell in row.cells
    )
    page = response.content.decode()
    assert 'class="heat heat-p5 sig"' in page and ".heat-p5{background:#67001f" in page


def test_overview_adjusts_over_the_whole_matrix_and_says_so(client, superuser):
    from aggregation.models import ComparisonResult
    from aggregation.stats import benjamini_hochberg

    login_with_second_factor(client, superuser)
    wave = Wave.objects.get(slug="2025")
    stored = ComparisonResult.objects.filter(
        run__wave=wave,
        run__status="complete",
        preset="ascribed_vs_conceived",
        estimator="plain_means",
    ).order_by("pk")
    p_values = [np.nan if p is None else p for p in stored.values_list("p_value", flat=True)]
    expected = dict(
        zip(stored.values_list("pk", flat=True), benjamini_hochberg(p_values), strict=True)
    )
    m = int(np.count_nonzero(~np.isnan(p_values)))
    assert m > 20  # every actor and role of the preset: one family

    response = client.get("/admin/reports/overview/?wave=2025&preset=ascribed_vs_conceived")
    page = response.content.decode()
    assert f"every test of this wave and comparison (every actor and role): {m} tests" in page
    csv_rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(
                    "/admin/reports/overview/?wave=2025&preset=ascribed_vs_conceived&format=csv"
                ).content.decode("utf-8-sig")
            )
        )
    )
    assert {row["family"] for row in csv_rows} == {"wave_preset"}
    assert {row["family_size"] for row in csv_rows} == {str(m)}
    by_key = {(row["subject"], row["role"]): row["p_adjusted"] for row in csv_rows}
    for pk, subject, role in stored.values_list("pk", "subject__code", "role__code"):
        if not np.isnan(expected[pk]):
            assert float(by_key[(subject, role)]) == pytest.approx(expected[pk], rel=1e-9)

    # the comparison family, as stored: each comparison's roles
    per_comparison = client.get(
        "/admin/reports/overview/?wave=2025&preset=ascribed_vs_conceived&family=comparison"
    ).content.decode()
    assert "across the roles of each comparison" in per_comparison
    comparison = client.get(
        "/admin/reports/comparison/?wave=2025&preset=ascribed_vs_conceived&subject=ARM"
    ).content.decode()
    assert "across the roles of each comparison" in comparison


def test_conception_vs_performance_uses_the_overlapping_test_and_paired_n_says_pairs(
    client, superuser
):
    login_with_second_factor(client, superuser)
    sections = client.get("/admin/reports/dyad/?wave=2025&subject=ARM").context["sections"]
    by_preset = {section.preset: section.comparison for section in sections}
    assert by_preset["conception_vs_performance"].method.startswith("partially overlapping")
    assert by_preset["conception_vs_performance"].n_label == "n"
    assert by_preset["ego_vs_perceived_alter"].n_label == "pairs"
    page = client.get("/admin/reports/dyad/?wave=2025&subject=ARM").content.decode()
    assert "· pairs " in page


def test_reliability_report_shows_each_coefficient_with_its_interval(client, superuser):
    login_with_second_factor(client, superuser)
    response = client.get("/admin/reports/reliability/?wave=2025")
    rows = response.context["rows"]
    assert rows and {row.panel for row in rows} >= {"MOW", "YER"}
    with_interval = [row for row in rows if row.coefficients[0].ci != "–"]
    assert with_interval, "the demo's blocks have enough items for an interval"
    low, high = (
        float(x.replace("−", "-")) for x in with_interval[0].coefficients[0].ci[1:-1].split(", ")
    )
    assert low <= float(with_interval[0].coefficients[0].value.replace("−", "-")) <= high
    assert "1,000 replicates" in response.content.decode()


def test_dyad_page_shows_every_preset_for_the_ally(client, superuser):
    login_with_second_factor(client, superuser)
    sections = client.get("/admin/reports/dyad/?wave=2025&subject=ARM").context["sections"]
    assert [section.preset for section in sections] == [
        "ego_vs_perceived_alter",
        "ascribed_vs_conceived",
        "conception_vs_performance",
        "perceived_vs_actual_expectation",
    ]
    ego = sections[0].comparison
    assert ego.dominant_left.role_name == "Great power"  # Russia's ego (demo truth)
    assert ego.method.startswith("paired")
    assert set(PRESETS) == {section.preset for section in sections}


def test_trends_show_the_change_between_waves(client, superuser):
    login_with_second_factor(client, superuser)
    response = client.get(
        "/admin/reports/trends/?kind=cell&holder=ARM&subject=ARM&perspective=conception"
        "&panel=YER&role=independent&role=protectee"
    )
    trend = response.context["trend"]
    assert trend.waves == ["2021", "2025"]
    assert [row.label for row in trend.rows] == ["Independent", "Protectee"]
    independent_2021, independent_2025 = (float(c.split()[0]) for c in trend.rows[0].cells)
    assert independent_2025 > independent_2021 + 1  # the demo's planted rise
    assert "<polygon" in response.content.decode()  # the CI bands


def test_role_network_shows_both_waves_side_by_side_with_a_table_alternative(client, superuser):
    login_with_second_factor(client, superuser)
    response = client.get("/admin/reports/network/?wave=2025&compare=2021")
    maps = response.context["maps"]
    assert [view.wave for view in maps] == ["2025", "2021"]
    for view in maps:
        assert "<title>Role network, wave" in view.chart and "<desc>" in view.chart
        ascribed = {(row.holder, row.subject): row.ascribed for row in view.edges}
        assert ascribed[("Russia", "Armenia")] == "Protectee"
        assert ascribed[("Russia", "Kazakhstan")] == "Faithful ally"
    own = {row.code: row.self_role for row in maps[0].nodes}
    assert own["ARM"] == "Independent" and own["KAZ"] == "Active independent"
    text = response.content.decode()
    assert text.count("<table") >= 4 and "Self-conceived roles, wave 2021" in text


def test_role_network_downloads_as_svg_and_png(client, superuser):
    login_with_second_factor(client, superuser)
    svg = client.get("/admin/reports/network/?wave=2021&format=svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert svg["Content-Disposition"] == 'attachment; filename="role-network-2021.svg"'
    root = ElementTree.fromstring(svg.content)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    png = client.get("/admin/reports/network/?wave=2021&format=png")
    assert png["Content-Type"] == "image/png"
    with Image.open(io.BytesIO(png.content)) as image:
        assert image.format == "PNG" and image.width == 1640
    downloads = AuditEntry.objects.filter(action="export.download").order_by("pk")
    assert [entry.detail["format"] for entry in downloads] == ["svg", "png"]


def test_every_table_downloads_as_csv_and_is_audited(client, superuser):
    login_with_second_factor(client, superuser)
    for url in [*REPORT_PAGES, PANEL_PAGES[0], PANEL_PAGES[2]]:
        response = client.get(url + ("&" if "?" in url else "?") + "format=csv")
        assert response.status_code == 200, url
        assert response["Content-Type"].startswith("text/csv")
        assert response["Content-Disposition"].startswith("attachment; filename=")
        rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
        assert len(rows) > 1, url
        entry = AuditEntry.objects.filter(action="export.download").latest("pk")
        assert entry.user == superuser and entry.detail["rows"] == len(rows) - 1
        text = response.content.decode()
        assert "@example.org" not in text and "Synthetic Expert" not in text, url
    assert AuditEntry.objects.filter(action="export.download").count() == len(REPORT_PAGES) + 2


def test_researcher_sees_reports_but_never_a_name_or_email(client, demo_data):
    user = researcher()
    client.force_login(user)
    expert = Expert.objects.first()
    pages = [*REPORT_PAGES, "/admin/", "/admin/surveys/wave/dashboard/?wave=2025"]
    for model in admin.site._registry:
        opts = model._meta
        pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        obj = model.objects.first()
        if obj is not None:
            pages.append(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    opened = 0
    for url in pages:
        response = client.get(url)
        if response.status_code != 200:
            assert response.status_code in (302, 403), url
            continue
        opened += 1
        page = response.content.decode()
        assert expert.name not in page and expert.email not in page, url
        assert "Synthetic Expert" not in page and "@example.org" not in page, url
    assert opened >= len(REPORT_PAGES) + 2
    # CSV downloads are allowed to researchers and carry no identity either
    assert client.get(REPORT_PAGES[0] + "&format=csv").status_code == 200
    for url in PANEL_PAGES[2:]:
        assert client.get(url).status_code == 403, url


def test_staff_without_the_results_permission_gets_403_and_anonymous_a_login(client, demo_data):
    assert client.get(REPORT_PAGES[0]).status_code == 302
    user = User.objects.create_user("clerk", password="pw", is_staff=True)
    client.force_login(user)
    assert client.get(REPORT_PAGES[0]).status_code == 403
    assert client.get(PANEL_PAGES[0]).status_code == 403
    user.user_permissions.add(Permission.objects.get(codename="view_aggregationrun"))
    client.force_login(User.objects.get(pk=user.pk))
    assert client.get(REPORT_PAGES[0]).status_code == 200
    assert client.get(REPORT_PAGES[0] + "&format=csv").status_code == 403  # no export right


def test_banner_follows_the_wave_shown(client, superuser):
    login_with_second_factor(client, superuser)
    Wave.objects.filter(slug="2021").update(is_synthetic=False)
    assert "Synthetic demo data." not in body(client, "/admin/surveys/wave/dashboard/?wave=2021")
    assert "Synthetic demo data." in body(client, "/admin/surveys/wave/dashboard/?wave=2025")
    Wave.objects.update(is_synthetic=False)
    assert "Synthetic demo data." not in body(client, "/admin/")


def test_dashboard_counts_and_actions(client, superuser, django_capture_on_commit_callbacks):
    login_with_second_factor(client, superuser)
    response = client.get(PANEL_PAGES[0])
    rows = {row.panel: row for row in response.context["rows"]}
    per_panel = demo.EXPERTS_PER_PANEL
    unanswered = demo.UNANSWERED_PER_PANEL_OPEN_WAVE
    assert rows["YER"].invited == per_panel and rows["YER"].started == 1
    assert rows["YER"].submitted == per_panel - unanswered - 1
    assert rows["all"].invited == 5 * per_panel
    assert response.context["latest_run"].status == "complete"

    with mock.patch("surveys.panel_admin.aggregation_queue_now", return_value=True) as queue:
        client.post(PANEL_PAGES[0], {"wave": "2025", "action": "aggregate"})
    queue.assert_called_once()
    with (
        mock.patch.object(tasks.send_invitation, "apply_async") as publish,
        django_capture_on_commit_callbacks(execute=True),
    ):
        followed = client.post(
            PANEL_PAGES[0],
            {"wave": "2025", "action": "send_invitations", "confirm": "yes"},
            follow=True,
        )
    assert publish.call_count == 5 * unanswered
    assert f"{5 * unanswered} e-mails queued." in followed.content.decode()
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"wave.aggregate", "invitation.send"} <= actions


def test_dashboard_invites_every_expert_not_yet_invited(client, superuser):
    login_with_second_factor(client, superuser)
    wave = Wave.objects.get(slug="2025")
    new = Expert.objects.create(
        panel=Expert.objects.first().panel, name="New Person", email="new@example.org"
    )
    client.post(PANEL_PAGES[0], {"wave": "2025", "action": "invite_all", "confirm": "yes"})
    assert Invitation.objects.filter(wave=wave, expert=new).exists()
    entry = AuditEntry.objects.get(action="invitation.create_bulk")
    assert entry.detail["created"] == 1


def _grow_demo_to(experts_per_panel: int) -> None:
    """Add experts to every panel of the demo, each with a submitted response in 2025."""
    with mock.patch.object(demo, "EXPERTS_PER_PANEL", experts_per_panel):
        panels = demo._panels()
        experts = demo._experts(panels)
        fresh = {code: members[15:] for code, members in experts.items()}
        demo._fill_wave(
            Wave.objects.get(slug="2025"),
            fresh,
            np.random.default_rng(1),
            open_wave=False,
            now=timezone.now(),
        )
    _aggregate("2025")


def _query_counts(client, urls: list[str]) -> dict[str, int]:
    counts = {}
    for url in urls:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[url] = len(queries)
    return counts


MAX_QUERIES_PER_PAGE = 20


def test_queries_per_page_do_not_grow_with_the_panels(client, superuser):
    login_with_second_factor(client, superuser)
    urls = [
        *REPORT_PAGES,
        *PANEL_PAGES,
        *(url + ("&" if "?" in url else "?") + "format=csv" for url in REPORT_PAGES[:3]),
        PANEL_PAGES[2] + "&format=csv",
    ]
    with_15 = _query_counts(client, urls)
    assert Expert.objects.filter(panel__code="MOW").count() == 15
    _grow_demo_to(30)
    assert Expert.objects.filter(panel__code="MOW").count() == 30
    with_30 = _query_counts(client, urls)
    assert with_30 == with_15
    assert max(with_15.values()) <= MAX_QUERIES_PER_PAGE, with_15
