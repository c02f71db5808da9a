"""The ordinal IRT's pieces: the tail-safe likelihood, the data layout, the NUTS run."""

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats as sps

from aggregation.estimators import irt, irt_model
from aggregation.estimators.simulation import synthetic_wave


def test_log_probability_between_is_accurate_in_both_tails():
    lower = np.array([-1.0, 0.5, 8.0, -40.0, -3.0, 30.0])
    upper = np.array([1.0, 0.6, 9.0, -38.0, 50.0, 50.0])
    ours = np.asarray(irt_model.log_probability_between(jnp.asarray(lower), jnp.asarray(upper)))
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


def test_single_precision_likelihood_is_close_in_both_tails():
    """What NUTS evaluates: Φ's difference in float32 in the bulk, the asymptotic series
    below −8 (narrow categories, far tails and the edges of the scale included)."""
    lower = np.array([-1.0, 0.5, 8.0, -40.0, -3.0, 30.0, -9.0, -8.05, -7.9, -100.0, 2.0, -0.01])
    upper = np.array([1.0, 0.6, 9.0, -38.0, 50.0, 50.0, -8.5, -7.95, -7.5, -9.0, 2.001, 0.01])
    double = np.asarray(irt_model.log_probability_between(jnp.asarray(lower), jnp.asarray(upper)))
    single = irt_model.log_probability_between_single(jnp.asarray(lower), jnp.asarray(upper))
    assert single.dtype == jnp.float64
    np.testing.assert_allclose(np.asarray(single), double, rtol=1e-5, atol=1e-4)


def test_single_precision_potential_matches_double_around_the_mode(small_wave):
    """The sampler's potential against the exact one at the mode and at points a Laplace SD
    away: values within 10⁻³ (of about 10³) and gradients within 10⁻² of each other."""
    import jax

    ratings, vignettes = small_wave
    data = irt.irt_data(ratings, vignettes)
    double, layout = irt_model.make_potential(data)
    single, _ = irt_model.make_potential(data, single=True)
    mode = irt._posterior_mode(double, irt_model.initial_vector(data, layout)).x
    points = [
        mode,
        *(mode + 0.3 * np.random.default_rng(seed).standard_normal(mode.size) for seed in range(3)),
    ]
    for point in points:
        x = jnp.asarray(point)
        assert abs(float(single(x)) - float(double(x))) < 1e-3
        np.testing.assert_allclose(
            np.asarray(jax.grad(single)(x)), np.asarray(jax.grad(double)(x)), atol=1e-2
        )
