"""Split R-hat and bulk ESS against ArviZ's values for the same draws."""

import numpy as np

from aggregation.estimators.diagnostics import bulk_ess, convergence, split_rhat


def draws() -> np.ndarray:
    """4 chains × 100 draws of 3 parameters: mixed, chains apart, a slow random walk."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(4, 100, 3))
    x[:, :, 1] += np.arange(4)[:, None] * 0.5
    x[:, :, 2] = np.cumsum(rng.normal(size=(4, 100)), axis=1) * 0.1
    return x


# arviz 0.23.4: az.rhat(..., method="rank") and az.ess(..., method="bulk") of draws()
ARVIZ_RHAT = [1.013994, 1.197832, 2.210051]
ARVIZ_ESS_BULK = [413.080, 16.241, 5.514]


def test_split_rhat_is_arviz_rank_rhat():
    np.testing.assert_allclose(split_rhat(draws()), ARVIZ_RHAT, atol=1e-6)


def test_bulk_ess_is_close_to_arviz():
    """NumPyro's ESS (Stan's estimator) and ArviZ's differ slightly in the autocorrelation
    sum; on rank-normalised split chains they agree within 10 %."""
    np.testing.assert_allclose(bulk_ess(draws()), ARVIZ_ESS_BULK, rtol=0.10)


def test_convergence_flags_more_than_five_percent_of_rhats_above_limit():
    x = draws()
    assert convergence({"a": x})["converged"] is False
    mixed = np.random.default_rng(1).normal(size=(4, 200, 50))
    summary = convergence({"a": mixed, "constant": np.zeros((4, 200))})
    assert summary["n_parameters"] == 50
    assert summary["converged"] is (summary["share_rhat_above_limit"] <= 0.05)
    assert summary["rhat_max"] < 1.05
