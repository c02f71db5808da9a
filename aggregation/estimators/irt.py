"""Ordinal IRT: the V-Dem measurement model, fitted with NumPyro (JAX).

Model (Pemstein, Marquardt, Tzelgov, Wang, Krusell & Miri 2015, "The V-Dem Measurement
Model: Latent Variable Analysis for Cross-National and Cross-Temporal Expert-Coded Data",
V-Dem Working Paper 21; the ordinal IRT of Johnson & Albert 1999, "Ordinal Data Modeling",
ch. 6): expert r, rating cell u on a K-point scale (categories 0 … K − 1),

    y*_ru = z_u + e_ru,                 e_ru ~ N(0, σ_r²)      (σ_r: the expert's reliability)
    y_ru  = k  iff  τ_r,k−1 < y*_ru ≤ τ_r,k,   τ_r,−1 = −∞, τ_r,K−1 = +∞
    P(y_ru = k) = Φ((τ_r,k − z_u) / σ_r) − Φ((τ_r,k−1 − z_u) / σ_r)

with priors

    z_u ~ N(0, 1)
    u_r ~ N(u_panel(r), 0.5²)   expert thresholds shrunk towards their panel's,
    u_p ~ N(u_all, 1)           the panel's towards the overall,
    u_all ~ N((log 0.4, …, 0, …, log 0.4), 1.5²),
    σ_r ~ LogNormal(log 0.5, 0.5²),

where u is a threshold vector's unconstrained form, its middle threshold m = (K − 1) // 2 and
the logs of the gaps outwards from it (τ_m = u_m, τ_m+j = τ_m+j−1 + exp u_m+j above,
τ_m−j = τ_m−j+1 − exp u_m−j below: ordered by construction; ``_ordered``). Shrinking u shrinks
the scale's location and its stretch, the two forms of differential item functioning.

Identification: shifting all z and thresholds together, or stretching all z, thresholds and σ
together, leaves the likelihood unchanged; rather than leave these two directions to the
priors (a long thin ridge for NUTS), the z sum to zero and the log σ_r average log 0.5 (the
priors above conditioned on those sums, through the isometric sum-to-zero transform of Stan's
``sum_to_zero_vector``; ``_sum_to_zero``). The cells are reported on the vignette-anchored
scale, which these choices do not change. Each threshold is sampled centred where the expert's
(or panel's) ratings pin it down and non-centred where the prior does (``_centred``): the same
model in coordinates NUTS crosses quickly.

A cell u is one (wave, panel, holder, subject, perspective, role): panels may perceive the same
item differently, so each panel's view has its own latent value. A vignette is the exception:
its true level is the same for everyone, so all panels' ratings of one (vignette, role) share
one z. The vignettes are the bridging cases that put the panels' thresholds on one scale.

Assumptions: the latent trait is one-dimensional per role; an expert's thresholds and
reliability are the same for every item they rate (differential item functioning is a property
of the expert, not of the item); vignette equivalence (everybody reads a vignette as the same
level) and response consistency (experts use the scale for vignettes as for real states), the
two assumptions of King, Murray, Salomon & Tandon (2004, APSR 98(1) 191–207). The shrinkage
scales are fixed, which keeps the posterior mode proper (a free hierarchical scale collapses to
zero at the joint mode).

Two fits of the same posterior:

- ``fit_fast``: the posterior mode on the unconstrained space (L-BFGS) and a Laplace
  approximation there: the cells' covariance is the z block of the inverse Hessian.
- ``fit_full``: NUTS (Hoffman & Gelman 2014), 4 chains by default, warm-started at the mode
  with the Laplace variances as initial diagonal mass matrix, with split R-hat and bulk ESS
  (``aggregation.estimators.diagnostics``).

Both use one negative log posterior written here in JAX on a flat unconstrained vector (z last):
L-BFGS and the Laplace Hessian take it directly, NumPyro's NUTS as ``potential_fn``. Importing
this module switches JAX to float64 (the tails of Φ need it) and, when JAX is not imported yet,
gives it one CPU device per core (at most 4), so that chains run in parallel.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

if "jax" not in sys.modules:  # one XLA CPU device per core, so that chains run in parallel
    os.environ.setdefault(
        "XLA_FLAGS", f"--xla_force_host_platform_device_count={min(os.cpu_count() or 1, 4)}"
    )

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.special import log_ndtr
from numpyro.infer import MCMC, NUTS
from scipy import linalg, optimize

from aggregation.engine import CELL_KEYS, POOLED_PANEL
from aggregation.estimators import diagnostics
from aggregation.estimators.cells import ESTIMATE_COLUMNS, Estimates, vignette_anchoring

jax.config.update("jax_enable_x64", True)

EXPERT_THRESHOLD_SD = 0.5
PANEL_THRESHOLD_SD = 1.0
OVERALL_PRIOR_SD = 1.5
SIGMA_PRIOR = (float(np.log(0.5)), 0.5)
"""LogNormal(location, scale) of each expert's error SD σ_r."""
OVERALL_PRIOR_MIDDLE, OVERALL_PRIOR_GAP = 0.0, 0.4
"""Prior means of the overall unconstrained thresholds: the middle one at 0, the others log
gaps of log 0.4 (thresholds from about −2 to 2 in steps of 0.4 latent SDs), each with SD
``OVERALL_PRIOR_SD``."""
_EDGE = 50.0
"""Stand-in for ±∞ at the ends of the thresholds (50 latent SDs: probability exactly 0 or 1)."""

Progress = Callable[[str, int, int], None]
"""``progress(phase, done, total)``: called as a fit advances (phase "mode", "laplace",
"warmup" or "sampling")."""


@dataclass(frozen=True)
class IrtData:
    """The ratings as index arrays: rating i is ``y[i]`` by ``expert[i]`` on ``unit[i]``."""

    y: np.ndarray = field(repr=False)
    expert: np.ndarray = field(repr=False)
    unit: np.ndarray = field(repr=False)
    panel_of_expert: np.ndarray = field(repr=False)
    categories: int
    units: pd.DataFrame = field(repr=False)
    """One row per unit: ``CELL_KEYS`` (``panel`` None for a vignette unit), ``vignette``,
    ``n`` and ``raw_mean`` (the mean rating)."""
    n_experts: int
    n_panels: int


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
# Data
# --------------------------------------------------------------------------------------------


def irt_data(ratings: pd.DataFrame, vignettes: Sequence[str]) -> IrtData:
    """Index arrays of the observed ratings (cannot-judge and skipped ratings left out).

    Experts are (wave, panel, respondent); units are per-panel cells, except that the
    ratings of a vignette (subject in ``vignettes``) from all panels share one unit per
    (wave, perspective, role). Values must be the categories 0 … scale_points − 1.
    """
    values = pd.to_numeric(ratings["value"], errors="coerce").astype(float)
    observed = values.notna() & ~ratings["cannot_judge"].fillna(False).astype(bool)
    frame = ratings.loc[observed].copy()
    frame["value"] = values[observed].to_numpy()
    if frame.empty:
        raise ValueError("no observed ratings")
    categories = int(pd.to_numeric(frame["scale_points"]).max())
    if frame["value"].min() < 0 or frame["value"].max() > categories - 1:
        raise ValueError(f"values must lie in 0 … {categories - 1}")
    for column in ("wave", "panel", "holder", "subject", "perspective", "role", "respondent"):
        frame[column] = frame[column].astype(str)
    is_vignette = frame["subject"].isin(list(vignettes)).to_numpy()
    frame["unit_panel"] = frame["panel"].where(~is_vignette, "")
    unit_keys = ["wave", "unit_panel", "holder", "subject", "perspective", "role"]
    unit_codes, unit_index = _factorize(frame, unit_keys)
    expert_codes, expert_index = _factorize(frame, ["wave", "panel", "respondent"])
    panel_codes, panel_index = pd.factorize(expert_index["panel"])
    units = unit_index.rename(columns={"unit_panel": "panel"})
    units["panel"] = units["panel"].replace("", None)
    units["vignette"] = units["subject"].isin(list(vignettes))
    grouped = frame.groupby(unit_codes)["value"]
    units["n"] = grouped.size().to_numpy()
    units["raw_mean"] = grouped.mean().to_numpy()
    return IrtData(
        y=frame["value"].to_numpy(dtype=np.int32),
        expert=expert_codes,
        unit=unit_codes,
        panel_of_expert=panel_codes.astype(np.int32),
        categories=categories,
        units=units,
        n_experts=len(expert_index),
        n_panels=len(panel_index),
    )


def _factorize(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Integer codes 0 … n − 1 of the rows' key tuples (in sorted order) and the key table."""
    table = frame[keys].drop_duplicates().sort_values(keys, ignore_index=True)
    index = pd.MultiIndex.from_frame(table)
    codes = index.get_indexer(pd.MultiIndex.from_frame(frame[keys]))
    return codes.astype(np.int32), table


# --------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------


def _log_probability_between(lower, upper):
    """log(Φ(upper) − Φ(lower)) for lower < upper, accurate in both tails.

    Above the median the difference is taken as Φ(−lower) − Φ(−upper); then
    log(Φ(a) − Φ(b)) = log Φ(a) + log(1 − exp(log Φ(b) − log Φ(a))), the last term by
    ``log(−expm1(d))`` near 0 and ``log1p(−exp(d))`` below −log 2 (Mächler 2012,
    "Accurately computing log(1 − exp(−|a|))").
    """
    flip = lower > 0
    a = jnp.where(flip, -lower, upper)
    b = jnp.where(flip, -upper, lower)
    log_a = log_ndtr(a)
    d = jnp.minimum(log_ndtr(b) - log_a, -1e-300)
    near_zero = d > -0.6931
    # Each branch gets an argument that is safe for it, so that the unused branch's
    # gradient is finite (jnp.where differentiates both).
    from_expm1 = jnp.log(-jnp.expm1(jnp.where(near_zero, d, -1.0)))
    from_log1p = jnp.log1p(-jnp.exp(jnp.where(near_zero, -1.0, d)))
    return log_a + jnp.where(near_zero, from_expm1, from_log1p)


@dataclass(frozen=True)
class _Layout:
    """Where each parameter sits in the flat unconstrained vector (z last), and which
    threshold vectors are sampled centred (see ``_centred``)."""

    n_experts: int
    n_panels: int
    n_units: int
    thresholds: int
    panel_of_expert: np.ndarray = field(repr=False, compare=False)
    panel_centred: np.ndarray = field(repr=False, compare=False)
    expert_centred: np.ndarray = field(repr=False, compare=False)

    def slices(self) -> dict[str, tuple[int, int]]:
        sizes = [
            ("log_sigma", self.n_experts - 1),
            ("u_all", self.thresholds),
            ("u_panel", self.n_panels * self.thresholds),
            ("u_expert", self.n_experts * self.thresholds),
            ("z", self.n_units - 1),
        ]
        bounds, start = {}, 0
        for name, size in sizes:
            bounds[name] = (start, start + size)
            start += size
        return bounds

    @property
    def size(self) -> int:
        return self.slices()["z"][1]


def _ordered(unconstrained):
    """Ordered thresholds from (…, K − 1) unconstrained values, anchored at the middle one:
    τ_m = u_m (m = (K − 1) // 2), τ_m+j = τ_m + Σ exp(u_m+1 … u_m+j) above it and
    τ_m−j = τ_m − Σ exp(u_m−j … u_m−1) below it. The middle threshold is the best
    determined by the data, so a rarely used end category moves only its own gap (anchored
    at the first threshold instead, every threshold depends on the least determined one)."""
    middle = unconstrained.shape[-1] // 2
    centre = unconstrained[..., middle : middle + 1]
    gaps = jnp.exp(unconstrained)
    above = centre + jnp.cumsum(gaps[..., middle + 1 :], axis=-1)
    below = centre - jnp.cumsum(gaps[..., :middle][..., ::-1], axis=-1)[..., ::-1]
    return jnp.concatenate([below, centre, above], axis=-1)


def _sum_to_zero(free):
    """n − 1 free values → n values summing to zero, by the isometric transform of Stan's
    ``sum_to_zero_vector`` (orthonormal Helmert-like basis, O(n)): free values ~ N(0, 1)
    give the N(0, 1) prior conditioned on a zero sum. It fixes the latent scale's location,
    which the thresholds and all z could otherwise shift together."""
    i = jnp.arange(1, free.shape[-1] + 1, dtype=free.dtype)
    w = free / jnp.sqrt(i * (i + 1))
    tail_sums = jnp.cumsum(w[..., ::-1], axis=-1)[..., ::-1]
    zero = jnp.zeros_like(free[..., :1])
    return jnp.concatenate([tail_sums, zero], axis=-1) - jnp.concatenate([zero, w * i], axis=-1)


def _sum_to_zero_basis(n: int) -> np.ndarray:
    """The n × (n − 1) matrix of ``_sum_to_zero`` (orthonormal columns)."""
    return np.asarray(jax.vmap(_sum_to_zero, out_axes=1)(jnp.eye(n - 1)))


def _normal(x, location, scale):
    return -0.5 * (((x - location) / scale) ** 2).sum() - x.size * jnp.log(scale)


CENTRED_MIN_RATINGS = 5
"""An expert's threshold is sampled centred when the expert has at least this many ratings
on each side of it (a panel's, this many per expert of the panel); otherwise non-centred."""


def _centred(data: IrtData) -> tuple[np.ndarray, np.ndarray]:
    """Which panel and expert thresholds to sample centred: (panels × K − 1, experts × K − 1).

    The shrinkage SDs are fixed, so centred and non-centred are the same model; they differ in
    the geometry NUTS sees. A threshold the expert's ratings pin down is best sampled as itself
    (non-centred, it would be a narrow ridge between the expert's deviation and the panel's
    threshold); one at an end of the scale the expert hardly uses is determined by the prior,
    and is best sampled as a standard-normal deviation from the panel's (Papaspiliopoulos,
    Roberts & Sköld 2007, "A general framework for the parametrization of hierarchical
    models", Statistical Science 22(1) 59–73; Betancourt & Girolami 2015).
    """
    counts = np.zeros((data.n_experts, data.categories))
    np.add.at(counts, (data.expert, data.y), 1)
    at_or_below = np.cumsum(counts, axis=1)[:, :-1]
    above = counts.sum(axis=1, keepdims=True) - at_or_below
    expert_centred = np.minimum(at_or_below, above) >= CENTRED_MIN_RATINGS
    experts = np.bincount(data.panel_of_expert, minlength=data.n_panels)[:, None]
    panel_below = np.zeros((data.n_panels, data.categories - 1))
    panel_above = np.zeros_like(panel_below)
    np.add.at(panel_below, data.panel_of_expert, at_or_below)
    np.add.at(panel_above, data.panel_of_expert, above)
    panel_centred = np.minimum(panel_below, panel_above) >= CENTRED_MIN_RATINGS * experts
    return panel_centred, expert_centred


def _layout(data: IrtData) -> _Layout:
    panel_centred, expert_centred = _centred(data)
    return _Layout(
        data.n_experts,
        data.n_panels,
        len(data.units),
        data.categories - 1,
        panel_of_expert=data.panel_of_expert,
        panel_centred=panel_centred,
        expert_centred=expert_centred,
    )


def _thresholds(layout: _Layout, part: dict[str, jnp.ndarray]) -> tuple[jnp.ndarray, ...]:
    """The unconstrained threshold vectors (overall, panels', experts') from the sampled ones:
    a centred entry is the value itself, a non-centred one the parent's value plus the
    shrinkage SD times the entry."""
    k = layout.thresholds
    u_all = part["u_all"]
    raw_panel = part["u_panel"].reshape(-1, k)
    u_panel = jnp.where(layout.panel_centred, raw_panel, u_all + PANEL_THRESHOLD_SD * raw_panel)
    parent = u_panel[layout.panel_of_expert]
    raw_expert = part["u_expert"].reshape(-1, k)
    u_expert = jnp.where(
        layout.expert_centred, raw_expert, parent + EXPERT_THRESHOLD_SD * raw_expert
    )
    return u_all, u_panel, u_expert


def _constrained(layout: _Layout, x) -> dict[str, jnp.ndarray]:
    """The thresholds, σ and z of a flat vector."""
    part = {name: x[start:stop] for name, (start, stop) in layout.slices().items()}
    u_all, u_panel, u_expert = _thresholds(layout, part)
    return {
        "sigma": jnp.exp(SIGMA_PRIOR[0] + _sum_to_zero(part["log_sigma"])),
        "tau_all": _ordered(u_all),
        "tau_panel": _ordered(u_panel),
        "tau_expert": _ordered(u_expert),
        "z": _sum_to_zero(part["z"]),
    }


def _shrinkage(raw, centred, parent, sd):
    """Log prior of sampled thresholds: N(parent, sd²) for a centred entry, N(0, 1) for a
    non-centred one (whose Jacobian, a constant, is left out)."""
    standard = jnp.where(centred, (raw - parent) / sd, raw)
    return -0.5 * (standard**2).sum() - jnp.log(sd) * centred.sum()


def overall_prior_mean(thresholds: int) -> np.ndarray:
    """Prior means of the overall unconstrained thresholds (``OVERALL_PRIOR_MIDDLE`` and
    ``OVERALL_PRIOR_GAP``)."""
    mean = np.full(thresholds, np.log(OVERALL_PRIOR_GAP))
    mean[thresholds // 2] = OVERALL_PRIOR_MIDDLE
    return mean


def _make_potential(data: IrtData) -> tuple[Callable, _Layout]:
    """The negative log posterior (up to a constant) of the flat unconstrained vector."""
    layout = _layout(data)
    y = jnp.asarray(data.y)
    expert = jnp.asarray(data.expert)
    unit = jnp.asarray(data.unit)
    edges = jnp.full((layout.n_experts, 1), _EDGE)
    overall_mean = jnp.asarray(overall_prior_mean(layout.thresholds))

    def potential(x):
        part = {name: x[start:stop] for name, (start, stop) in layout.slices().items()}
        p = _constrained(layout, x)
        k = layout.thresholds
        u_all, u_panel, _ = _thresholds(layout, part)
        prior = (
            _normal(p["z"], 0.0, 1.0)
            + _normal(u_all, overall_mean, OVERALL_PRIOR_SD)
            + _shrinkage(
                part["u_panel"].reshape(-1, k), layout.panel_centred, u_all, PANEL_THRESHOLD_SD
            )
            + _shrinkage(
                part["u_expert"].reshape(-1, k),
                layout.expert_centred,
                u_panel[layout.panel_of_expert],
                EXPERT_THRESHOLD_SD,
            )
            + _normal(part["log_sigma"], 0.0, SIGMA_PRIOR[1])
        )  # log σ ~ N(SIGMA_PRIOR) given their mean: σ log-normal, Jacobian included
        bounds = jnp.concatenate([-edges, p["tau_expert"], edges], axis=1)
        location = p["z"][unit]
        scale = p["sigma"][expert]
        upper = (bounds[expert, y + 1] - location) / scale
        lower = (bounds[expert, y] - location) / scale
        return -(_log_probability_between(lower, upper).sum() + prior)

    return potential, layout


def _initial_vector(data: IrtData, layout: _Layout) -> np.ndarray:
    """A data-driven start: z the standardised raw cell means; the overall thresholds the
    category midpoints on that standardised scale, no panel or expert deviation; σ = 0.5."""
    mean, sd = float(data.y.mean()), float(data.y.std()) or 1.0
    tau = (np.arange(layout.thresholds) + 0.5 - mean) / sd
    middle = layout.thresholds // 2
    gaps = np.log(np.diff(tau))
    u_all = np.concatenate([gaps[:middle], tau[middle : middle + 1], gaps[middle:]])
    z = (data.units["raw_mean"].to_numpy() - mean) / sd
    return np.concatenate(
        [
            np.zeros(layout.n_experts - 1),
            u_all,
            np.where(layout.panel_centred, u_all, 0.0).ravel(),
            np.where(layout.expert_centred, u_all, 0.0).ravel(),
            _sum_to_zero_basis(layout.n_units).T @ (z - z.mean()),
        ]
    )


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
    potential, layout = _make_potential(data)
    result = _posterior_mode(potential, _initial_vector(data, layout))
    report("mode", 1, 1)
    report("laplace", 0, 1)
    hessian = _hessian(potential, jnp.asarray(result.x))
    free = layout.n_units - 1
    factor = linalg.cholesky(hessian + 1e-9 * np.eye(layout.size), lower=True)
    block = factor[-free:, -free:]
    inverse_block = linalg.solve_triangular(block, np.eye(free), lower=True)
    basis = _sum_to_zero_basis(layout.n_units)
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
    progress: Progress | None = None,
) -> IrtFit:
    """NUTS with ``chains`` chains, as many at a time as there are CPU devices.

    Warm start: the posterior mode (as in ``fit_fast``) and the diagonal of the inverse
    Hessian there (the Laplace variances) as the initial inverse mass matrix, which the
    warm-up adapts further; each chain starts at the mode plus a draw from that diagonal
    normal, so that R-hat can see chains that disagree. Sampling runs in chunks of ``chunk``
    draws; ``progress`` is called after each warm-up and each chunk. The diagnostics cover
    every parameter.
    """
    started = time.perf_counter()
    report = progress or (lambda phase, done, total: None)
    potential, layout = _make_potential(data)
    mode = _posterior_mode(potential, _initial_vector(data, layout)).x
    hessian = _hessian(potential, jnp.asarray(mode))
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
            potential_fn=potential,
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
    constrained = jax.vmap(jax.vmap(lambda x: _constrained(layout, x)))(flat)
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
