"""Ordinal IRT: the V-Dem measurement model (``aggregation.estimators.irt_model``), fitted.

Two fits of the same posterior:

- ``fit_fast``: the posterior mode on the unconstrained space (L-BFGS) and a Laplace
  approximation there: the cells' covariance is the z block of the inverse Hessian.
- ``fit_full``: NUTS (Hoffman & Gelman 2014), 4 chains by default, warm-started at the mode
  with the Laplace variances as initial diagonal mass matrix, with split R-hat and bulk ESS
  (``aggregation.estimators.diagnostics``).

Both use the model's negative log posterior (``irt_model.make_potential``): L-BFGS and the
Laplace Hessian take it directly, NumPyro's NUTS as ``potential_fn``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from numpyro.infer import MCMC, NUTS
from scipy import linalg, optimize

from aggregation.engine import CELL_KEYS, POOLED_PANEL
from aggregation.estimators import diagnostics
from aggregation.estimators.cells import ESTIMATE_COLUMNS, Estimates, vignette_anchoring
from aggregation.estimators.irt_model import (
    IrtData,
    constrained_parameters,
    initial_vector,
    irt_data,
    make_potential,
    sum_to_zero_basis,
)

__all__ = [
    "IrtData",
    "IrtFit",
    "cells_from_fit",
    "fit_fast",
    "fit_full",
    "irt_data",
    "ordinal_irt_cells",
]

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: called as a fit advances (phase "mode", "laplace",
"warmup" or "sampling")."""


@dataclass(frozen=True)
class IrtFit:
    """A fitted model: the units' latent values and how they were obtained.

    ``draws`` (draws × units) holds posterior draws of z for a full fit; a fast fit has
    ``mean`` and ``covariance`` (units × units) of its Laplace approximation instead.
    ``diagnostics``: for NUTS split R-hat, bulk ESS, divergences and ``converged``; for the
    fast mode the optimiser's status.
    """

    mode: str
    mean: np.ndarray = field(repr=False)
    covariance: np.ndarray | None = field(repr=False)
    draws: np.ndarray | None = field(repr=False)
    diagnostics: dict[str, object]
    seconds: float


# --------------------------------------------------------------------------------------------
# Fast mode: posterior mode and Laplace approximation
# --------------------------------------------------------------------------------------------


def fit_fast(data: IrtData, *, seed: int = 0, progress: Progress | None = None) -> IrtFit:
    """Posterior mode (L-BFGS on the unconstrained space) with a Laplace approximation.

    The flat unconstrained vector has z last, so the z block of the inverse Hessian is
    (L_zz L_zzᵀ)⁻¹ with L the Cholesky factor of the Hessian: no full inverse. The fit is
    deterministic; ``seed`` is accepted for symmetry with ``fit_full``.
    """
    started = time.perf_counter()
    report = progress or (lambda phase, done, total: None)
    report("mode", 0, 1)
    potential, layout = make_potential(data)
    result = _posterior_mode(potential, initial_vector(data, layout))
    report("mode", 1, 1)
    report("laplace", 0, 1)
    hessian = _hessian(potential, jnp.asarray(result.x))
    free = layout.n_units - 1
    factor = linalg.cholesky(hessian + 1e-9 * np.eye(layout.size), lower=True)
    block = factor[-free:, -free:]
    inverse_block = linalg.solve_triangular(block, np.eye(free), lower=True)
    basis = sum_to_zero_basis(layout.n_units)
    covariance = basis @ (inverse_block.T @ inverse_block) @ basis.T
    report("laplace", 1, 1)
    return IrtFit(
        mode="fast",
        mean=basis @ result.x[-free:],
        covariance=covariance,
        draws=None,
        diagnostics={
            "optimizer_converged": bool(result.success),
            "optimizer_message": str(result.message),
            "iterations": int(result.nit),
            "n_parameters": int(layout.size),
        },
        seconds=time.perf_counter() - started,
    )


def _posterior_mode(potential: Callable, start: np.ndarray) -> optimize.OptimizeResult:
    """The minimum of ``potential`` by L-BFGS on its JAX gradient."""
    value_and_grad = jax.jit(jax.value_and_grad(potential))

    def objective(x):
        value, gradient = value_and_grad(x)
        return float(value), np.asarray(gradient, dtype=float)

    return optimize.minimize(
        objective, start, jac=True, method="L-BFGS-B", options={"maxiter": 5000}
    )


def _hessian(function, x, chunk: int = 128) -> np.ndarray:
    """The dense Hessian of ``function`` at x, by Hessian-vector products in chunks."""
    gradient = jax.grad(function)

    @jax.jit
    def columns(basis):
        return jax.vmap(lambda v: jax.jvp(gradient, (x,), (v,))[1])(basis)

    size = x.shape[0]
    blocks = []
    for start in range(0, size, chunk):
        stop = min(start + chunk, size)
        basis = np.zeros((chunk, size))
        basis[np.arange(stop - start), np.arange(start, stop)] = 1.0
        blocks.append(np.asarray(columns(jnp.asarray(basis)))[: stop - start])
    hessian = np.concatenate(blocks, axis=0)
    return (hessian + hessian.T) / 2


# --------------------------------------------------------------------------------------------
# Full posterior: NUTS
# --------------------------------------------------------------------------------------------


def fit_full(
    data: IrtData,
    *,
    seed: int = 0,
    chains: int = 4,
    warmup: int = 300,
    samples: int = 500,
    chunk: int = 250,
    max_tree_depth: int = 10,
    single_precision: bool = True,
    progress: Progress | None = None,
) -> IrtFit:
    """NUTS with ``chains`` chains, as many at a time as there are CPU devices.

    Warm start: the posterior mode (as in ``fit_fast``) and the diagonal of the inverse
    Hessian there (the Laplace variances) as the initial inverse mass matrix, which the
    warm-up adapts further; each chain starts at the mode plus a draw from that diagonal
    normal, so that R-hat can see chains that disagree. Sampling runs in chunks of ``chunk``
    draws; ``progress`` is called after each warm-up and each chunk. The diagnostics cover
    every parameter. NUTS evaluates the likelihood's Φ in single precision
    (``irt_model.log_probability_between_single``) unless ``single_precision`` is false, the
    mode and its Hessian in double.
    """
    started = time.perf_counter()
    report = progress or (lambda phase, done, total: None)
    potential, layout = make_potential(data)
    mode = _posterior_mode(potential, initial_vector(data, layout)).x
    hessian = _hessian(potential, jnp.asarray(mode))
    sampled_potential, _ = make_potential(data, single=single_precision)
    variances = np.diag(linalg.cho_solve(linalg.cho_factor(hessian), np.eye(layout.size)))
    x0 = jnp.asarray(mode)
    spread = jnp.sqrt(jnp.asarray(variances))
    at_once = max(1, min(jax.local_device_count(), chains))
    batches = [at_once] * (chains // at_once) + ([chains % at_once] if chains % at_once else [])
    total = (warmup + samples) * len(batches)
    runs, divergences, steps = [], 0, 0
    for batch, size in enumerate(batches):
        key, jitter_key = jax.random.split(jax.random.PRNGKey(seed * 1000 + batch))
        jitter = spread * jax.random.normal(jitter_key, (size, x0.size))
        kernel = NUTS(
            potential_fn=sampled_potential,
            inverse_mass_matrix=jnp.asarray(variances),
            target_accept_prob=0.85,
            max_tree_depth=max_tree_depth,
        )
        mcmc = MCMC(
            kernel,
            num_warmup=warmup,
            num_samples=chunk,
            num_chains=size,
            chain_method="parallel" if size > 1 else "sequential",
            progress_bar=False,
        )
        init = x0[None, :] + jitter if size > 1 else x0 + jitter[0]
        mcmc.warmup(key, init_params=init)
        done = batch * (warmup + samples) + warmup
        report("warmup", done, total)
        parts = []
        for start in range(0, samples, chunk):
            mcmc.num_samples = min(chunk, samples - start)
            mcmc.run(mcmc.post_warmup_state.rng_key, extra_fields=("diverging", "num_steps"))
            mcmc.post_warmup_state = mcmc.last_state
            parts.append(np.asarray(mcmc.get_samples(group_by_chain=True)))
            extra = mcmc.get_extra_fields()
            divergences += int(np.asarray(extra["diverging"]).sum())
            steps += int(np.asarray(extra["num_steps"]).sum())
            report("sampling", done + start + mcmc.num_samples, total)
        runs.append(np.concatenate(parts, axis=1))
    flat = jnp.asarray(np.concatenate(runs, axis=0))  # chains × draws × unconstrained
    constrained = jax.vmap(jax.vmap(lambda x: constrained_parameters(layout, x)))(flat)
    by_chain = {name: np.asarray(value) for name, value in constrained.items()}
    summary = diagnostics.convergence(by_chain)
    summary.update(
        divergences=divergences,
        chains=chains,
        warmup=warmup,
        samples=samples,
        leapfrog_steps_per_draw=round(steps / (chains * samples), 1),
    )
    z = by_chain["z"].reshape(-1, by_chain["z"].shape[-1])
    return IrtFit(
        mode="full",
        mean=z.mean(axis=0),
        covariance=None,
        draws=z,
        diagnostics=summary,
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------------
# Cells
# --------------------------------------------------------------------------------------------


def ordinal_irt_cells(
    ratings: pd.DataFrame,
    vignettes: Sequence[str],
    *,
    seed: int = 0,
    full_posterior: bool = False,
    progress: Progress | None = None,
) -> Estimates:
    """Per-cell estimates of the ordinal IRT: the fast fit, or NUTS if ``full_posterior``.

    A panel's cell is its unit's z; the pooled cell (``panel = "ALL"``) is the panels' z
    averaged with weights n, the ratings each has (as the pooled mean weighs the panels'
    means). Intervals: 95 % normal intervals of the Laplace approximation, or the 2.5 and
    97.5 % quantiles of the posterior draws. Everything is then put on the vignette-anchored
    scale (``cells.vignette_anchoring``; without vignettes, anchored on all cells).
    ``details``: the mode, the seconds, and the fit's diagnostics.
    """
    data = irt_data(ratings, vignettes)
    fit = (fit_full if full_posterior else fit_fast)(data, seed=seed, progress=progress)
    return cells_from_fit(data, fit)


def cells_from_fit(data: IrtData, fit: IrtFit) -> Estimates:
    """The cells of ``ordinal_irt_cells`` from a model already fitted to ``data``."""
    units = data.units
    substantive = units.index[~units["vignette"].to_numpy()]
    weights, table = _pooling(units.loc[substantive])
    if fit.draws is not None:
        draws = fit.draws[:, substantive] @ weights.T
        table["estimate"] = draws.mean(axis=0)
        table["ci_low"], table["ci_high"] = np.quantile(draws, [0.025, 0.975], axis=0)
    else:
        covariance = fit.covariance[np.ix_(substantive, substantive)]
        table["estimate"] = weights @ fit.mean[substantive]
        half = 1.959963984540054 * np.sqrt(np.einsum("ij,jk,ik->i", weights, covariance, weights))
        table["ci_low"] = table["estimate"] - half
        table["ci_high"] = table["estimate"] + half
    anchors = units["vignette"].to_numpy() if units["vignette"].any() else np.ones(len(units), bool)
    offset, slope = vignette_anchoring(fit.mean[anchors], units["raw_mean"].to_numpy()[anchors])
    for column in ("estimate", "ci_low", "ci_high"):
        table[column] = offset + slope * table[column]
    details = {"mode": fit.mode, "seconds": round(fit.seconds, 3), **fit.diagnostics}
    return Estimates(cells=table[ESTIMATE_COLUMNS], details=details)


def _pooling(units: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
    """Weights (cells × units) that give each per-panel cell its unit and each pooled cell the
    n-weighted mean of its panels' units, and the cells' keys and n."""
    per_panel = units[[*CELL_KEYS, "n"]].reset_index(drop=True)
    pooled_keys = [key for key in CELL_KEYS if key != "panel"]
    group = per_panel.groupby(pooled_keys, sort=True).ngroup().to_numpy()
    pooled = per_panel.groupby(pooled_keys, sort=True)["n"].sum().reset_index()
    pooled["panel"] = POOLED_PANEL
    weights = np.zeros((len(per_panel) + len(pooled), len(per_panel)))
    weights[np.arange(len(per_panel)), np.arange(len(per_panel))] = 1.0
    n = per_panel["n"].to_numpy(dtype=float)
    weights[len(per_panel) + group, np.arange(len(per_panel))] = n / pooled["n"].to_numpy()[group]
    table = pd.concat([per_panel, pooled[[*CELL_KEYS, "n"]]], ignore_index=True)
    return weights, table
