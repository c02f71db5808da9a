"""Change between waves: Welch from stored summaries, stored with each run."""

from io import StringIO

import numpy as np
import pandas as pd
import pytest
from django.core.management import call_command
from scipy import stats as sps

from aggregation import selectors
from aggregation.changes import cell_changes
from aggregation.models import WaveChangeResult
from aggregation.selectors import run_latest_complete
from aggregation.stats import welch_from_summaries
from surveys.models import Wave


def test_welch_from_summary_matches_scipy():
    result = welch_from_summaries(
        np.array([12]),
        np.array([6.1]),
        np.array([1.4]),
        np.array([9]),
        np.array([4.8]),
        np.array([2.2]),
    )
    _t, p = sps.ttest_ind_from_stats(6.1, 1.4, 12, 4.8, 2.2, 9, equal_var=False)
    assert result["p_value"][0] == pytest.approx(p)
    assert result["diff"][0] == pytest.approx(1.3)
    v1, v2 = 1.4**2 / 12, 2.2**2 / 9
    df = (v1 + v2) ** 2 / (v1**2 / 11 + v2**2 / 8)
    half = sps.t.ppf(0.975, df) * np.sqrt(v1 + v2)
    assert result["ci_low"][0] == pytest.approx(1.3 - half)
    assert result["ci_high"][0] == pytest.approx(1.3 + half)


def test_welch_from_summary_is_nan_below_two_ratings():
    result = welch_from_summaries([1], [5.0], [0.0], [10], [4.0], [1.0])
    assert all(np.isnan(result[name][0]) for name in ("ci_low", "ci_high", "p_value"))
    assert result["diff"][0] == pytest.approx(1.0)


def test_cell_changes_keep_cells_present_in_both_waves():
    keys = {"panel": 1, "holder": 1, "subject": 2, "perspective": "conception"}
    current = pd.DataFrame([{**keys, "role": 5, "n": 10, "mean": 7.0, "sd": 1.0}])
    previous = pd.DataFrame(
        [
            {**keys, "role": 5, "n": 10, "mean": 5.0, "sd": 1.0},
            {**keys, "role": 6, "n": 10, "mean": 5.0, "sd": 1.0},
        ]
    )
    changes = cell_changes(current, previous)
    assert len(changes) == 1
    assert changes["diff"].iloc[0] == pytest.approx(2.0)


@pytest.mark.django_db
def test_run_stores_changes_since_the_previous_wave():
    call_command("seed_demo", stdout=StringIO())
    call_command("aggregate", "2021", "--sync", stdout=StringIO())
    call_command("aggregate", "2025", "--sync", stdout=StringIO())
    run = run_latest_complete(wave=Wave.objects.get(slug="2025"))
    previous = run_latest_complete(wave=Wave.objects.get(slug="2021"))
    changes = WaveChangeResult.objects.filter(run=run, previous_run=previous)
    assert changes.count() == run.cells.filter(estimator="plain_means").count()
    # The planted change: Russia's "bastion of revolution" self-conception rose 3.0 → 6.5.
    bastion = changes.get(
        panel__code="MOW",
        holder__code="RUS",
        subject__code="RUS",
        perspective="conception",
        role__code="bastion_of_revolution",
    )
    assert bastion.diff > 2 and bastion.ci_low > 0 and bastion.p_value < 0.01


@pytest.mark.django_db
def test_a_later_delphi_round_is_never_a_wave_of_the_series():
    """The demo's Delphi study (round 1 "delphi-2019", round 2 "delphi-2019-r2") opened before
    2021: 2021's change is since round 1, round 2 has none, and trends leave it out."""
    call_command("seed_demo", stdout=StringIO())
    for slug in ("delphi-2019", "delphi-2019-r2", "2021"):
        call_command("aggregate", slug, "--sync", stdout=StringIO())
    first, second, later = (
        run_latest_complete(wave=Wave.objects.get(slug=slug))
        for slug in ("delphi-2019", "delphi-2019-r2", "2021")
    )
    assert set(WaveChangeResult.objects.values_list("run_id", "previous_run_id").distinct()) == {
        (later.pk, first.pk)
    }
    assert not WaveChangeResult.objects.filter(run=second).exists()
    points = selectors.cell_trend(
        holder="RUS", subject="ARM", perspective="expectation", panel="MOW", roles=["protectee"]
    )
    assert {point.wave for point in points} == {"delphi-2019", "2021"}
