"""The ordinal IRT's pieces: the tail-safe likelihood, the data layout, the NUTS run."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as sps

from aggregation.estimators import irt
from aggregation.estimators.simulation import synthetic_wave


def test_log_probability_between_is_accurate_in_both_tails():
    lower = np.array([-1.0, 0.5, 8.0, -40.0, -3.0, 30.0])
    upper = np.array([1.0, 0.6, 9.0, -38.0, 50.0, 50.0])
    ours = np.asarray(irt._log_probability_between(jnp.asarray(lower), jnp.asarray(upper)))
    reference = [
        np.log(sps.norm.cdf(1.0) - sps.norm.cdf(-1.0)),
        np.log(sps.norm.cdf(0.6) - sps.norm.cdf(0.5)),
        np.log(sps.norm.sf(8.0) - sps.norm.sf(9.0)),
        sps.norm.logcdf(-38.0) + np.log1p(-np.exp(sps.norm.logcdf(-40.0) - sps.norm.logcdf(-38.0))),
        np.log(sps.norm.sf(-3.0)),
        sps.norm.logsf(30.0),
    ]
    np.testing.assert_allclose(ours, reference, rtol=1e-9)


@pytest.fixture(scope="module")
def small_wave():
    wave = synthetic_wave(seed=2)
    ratings = wave.ratings
    keep = ratings["panel"].isin(["MOW", "YER"]) & ratings["role"].isin(["role_01", "role_02"])
    return ratings[keep], wave.vignettes


def test_vignettes_share_one_unit_across_panels(small_wave):
    ratings, vignettes = small_wave
    data = irt.irt_data(ratings, vignettes)
    units = data.units
    assert units.loc[units["vignette"], "panel"].isna().all()
    assert len(units[units["vignette"]]) == len(vignettes) * 2  # 4 vignettes × 2 roles
    assert data.n_experts == 30 and data.n_panels == 2 and data.categories == 11
    assert data.y.size == int(units["n"].sum())


def test_full_posterior_reports_progress_and_diagnostics(small_wave):
    ratings, vignettes = small_wave
    data = irt.irt_data(ratings, vignettes)
    calls = []
    fit = irt.fit_full(
        data,
        chains=2,
        warmup=10,
        samples=10,
        chunk=5,  # two chunks: progress after each
        max_tree_depth=4,
        progress=lambda *call: calls.append(call),
    )
    assert fit.draws.shape == (20, len(data.units))
    batches = len(calls) // 3  # chains run as many at a time as JAX has CPU devices
    assert [phase for phase, _, _ in calls] == ["warmup", "sampling", "sampling"] * batches
    assert calls[-1][1] == calls[-1][2] == 20 * batches
    assert {"rhat_max", "ess_bulk_min", "share_rhat_above_limit", "converged"} <= set(
        fit.diagnostics
    )
    assert fit.diagnostics["chains"] == 2
