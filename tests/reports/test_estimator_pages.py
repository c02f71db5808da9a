"""The comparison page with every estimator: ``?estimator=``, plain and corrected side by
side, the disagreement flags and the not-converged mark."""

import pytest
from django.contrib.auth.models import User

from aggregation.estimator_selectors import comparison_across_estimators
from aggregation.models import ComparisonResult, EstimatorResult
from aggregation.services import aggregation_run_wave
from tests.conftest import login_with_second_factor

pytestmark = pytest.mark.django_db
PAGE = "/admin/reports/comparison/?wave=test-wave&preset=ascribed_vs_conceived&subject=ARM"


@pytest.fixture
def staff(client):
    login_with_second_factor(
        client, User.objects.create_superuser("reports-admin", password="pw-reports")
    )
    return client


@pytest.fixture
def run(vignette_wave):
    return aggregation_run_wave(wave_id=vignette_wave.pk)


def test_page_shows_plain_and_corrected_side_by_side(staff, run):
    page = staff.get(PAGE).content.decode()
    assert "Plain and corrected estimators side by side" in page
    for label in ("Aldrich–McKelvey", "Ordinal IRT", "Vignette C-scores"):
        assert label in page
    assert "P(sign)" in page  # the IRT's probability of the sign


@pytest.mark.parametrize("estimator", ["aldrich_mckelvey", "ordinal_irt", "vignette_cscores"])
def test_estimator_parameter_chooses_the_main_table(staff, run, estimator):
    response = staff.get(PAGE + f"&estimator={estimator}")
    assert response.status_code == 200
    version = EstimatorResult.objects.get(run=run, estimator=estimator).estimator_version
    assert "Estimator: " in response.content.decode()
    assert version in response.content.decode()


def test_not_converged_fit_is_marked(staff, run):
    EstimatorResult.objects.filter(run=run, estimator="ordinal_irt").update(
        mode="full", converged=False, rhat_share_above=0.12
    )
    page = staff.get(PAGE + "&estimator=ordinal_irt").content.decode()
    assert "not converged (12 % of R-hats above 1.01)" in page
    assert "Not converged: more than 5 %" in page
    assert "not converged" in staff.get(PAGE).content.decode()  # in the side-by-side header


def test_disagreement_in_sign_and_significance_is_flagged(staff, run):
    plain = ComparisonResult.objects.get(
        run=run,
        estimator="plain_means",
        preset="ascribed_vs_conceived",
        subject__code="ARM",
        role__code="protectee",
    )
    # Plant an AM result of the opposite sign that is not significant.
    ComparisonResult.objects.filter(
        run=run,
        estimator="aldrich_mckelvey",
        preset="ascribed_vs_conceived",
        subject__code="ARM",
        role__code="protectee",
    ).update(diff=-plain.diff, diff_ci_low=-plain.diff - 1, diff_ci_high=1.0, p_adjusted=0.4)
    assert plain.diff > 0 and plain.p_adjusted < 0.05
    across = comparison_across_estimators(
        run_id=run.pk, preset="ascribed_vs_conceived", subject="ARM"
    )
    role = next(role for role in across.roles if role.role == "protectee")
    am = next(d for d in role.corrected if d.estimator == "aldrich_mckelvey")
    assert am.sign_differs and am.significance_differs and role.disagrees
    page = staff.get(PAGE).content.decode()
    assert "sign differs; significance differs" in page


def test_wave_without_vignettes_says_not_applicable(staff, rated_wave):
    aggregation_run_wave(wave_id=rated_wave.pk)
    page = staff.get(PAGE).content.decode()
    assert "Aldrich–McKelvey: not applicable: no vignettes" in page
    page = staff.get(PAGE + "&estimator=ordinal_irt").content.decode()
    assert "not applicable: no vignettes" in page


@pytest.mark.parametrize(
    "page",
    [
        "/admin/reports/overview/?wave=test-wave&preset=ascribed_vs_conceived",
        "/admin/reports/dyad/?wave=test-wave&subject=ARM",
    ],
)
def test_overview_and_dyad_take_the_estimator(staff, run, page):
    EstimatorResult.objects.filter(run=run, estimator="ordinal_irt").update(converged=False)
    plain = staff.get(page).content.decode()
    assert "Estimator: Plain means" in plain
    irt = staff.get(page + "&estimator=ordinal_irt").content.decode()
    assert "Estimator: Ordinal IRT" in irt and "not converged" in irt
    csv_text = staff.get(page + "&estimator=ordinal_irt&format=csv").content.decode()
    assert "ordinal_irt" in csv_text
