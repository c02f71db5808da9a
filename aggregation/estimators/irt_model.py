"""The ordinal IRT's model: the V-Dem measurement model as a JAX log posterior.

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

The negative log posterior is written in JAX on a flat unconstrained vector (z last;
``make_potential``): the fits in ``aggregation.estimators.irt`` take it directly (L-BFGS, the
Laplace Hessian, NumPyro's NUTS as ``potential_fn``). Importing this module switches JAX to
float64 (the tails of Φ need it); the package gives JAX one CPU device per core (at most 4)
when it is not imported yet, so that chains run in parallel.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
from jax.scipy.special import log_ndtr, ndtr

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


def log_probability_between(lower, upper):
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


_SINGLE_TAIL = -8.0
"""Below this (the larger of the two standardised bounds, after the flip) the single-precision
likelihood switches from Φ's difference to the asymptotic series (Φ(−8) ≈ 6 × 10⁻¹⁶)."""


def _log_ndtr_asymptotic(x):
    """log Φ(x) for x ≤ −8 by the asymptotic series (Abramowitz & Stegun 26.2.12):
    Φ(x) = φ(x) / |x| · (1 − 1/x² + 3/x⁴ − 15/x⁶ + 105/x⁸ − …), the next term below 10⁻⁶
    relative at x = −8."""
    inverse_square = 1.0 / (x * x)
    series = 1.0 + inverse_square * (
        -1.0 + inverse_square * (3.0 + inverse_square * (-15.0 + 105.0 * inverse_square))
    )
    return -0.5 * x * x - jnp.log(-x) - 0.9189385332046727 + jnp.log(series)


def log_probability_between_single(lower, upper):
    """``log_probability_between`` with Φ in single precision: what NUTS evaluates.

    After the same flip (so that the larger bound a ≤ 0 or the interval straddles 0), the
    difference Φ(a) − Φ(b) loses no relative accuracy to cancellation unless the category is
    very narrow, and float32 carries it to about 10⁻⁶ relative; below a = −8, where Φ
    would leave float32's normal range, log Φ(a) + log(1 − Φ(b)/Φ(a)) from the asymptotic
    series. Each value returns in double precision, and the sum over ratings is taken there.
    Against ``log_probability_between`` the log likelihood of a wave differs by about 10⁻⁶ per
    rating: far below the Monte Carlo error of any posterior summary (the full fit's tests
    compare the two potentials at and around the mode)."""
    lower = lower.astype(jnp.float32)
    upper = upper.astype(jnp.float32)
    flip = lower > 0
    a = jnp.where(flip, -lower, upper)
    b = jnp.where(flip, -upper, lower)
    far = a < _SINGLE_TAIL
    # Each branch gets arguments that are safe for it (jnp.where differentiates both).
    bulk = jnp.log(ndtr(jnp.where(far, 0.0, a)) - ndtr(jnp.where(far, -1.0, b)))
    tail_a = jnp.where(far, a, _SINGLE_TAIL)
    tail_b = jnp.where(far, b, 2 * _SINGLE_TAIL)
    log_a = _log_ndtr_asymptotic(tail_a)
    ratio = jnp.minimum(_log_ndtr_asymptotic(tail_b) - log_a, -1e-30)
    tail = log_a + jnp.log(-jnp.expm1(ratio))
    return jnp.where(far, tail, bulk).astype(jnp.float64)


@dataclass(frozen=True)
class Layout:
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


def sum_to_zero_basis(n: int) -> np.ndarray:
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


def model_layout(data: IrtData) -> Layout:
    panel_centred, expert_centred = _centred(data)
    return Layout(
        data.n_experts,
        data.n_panels,
        len(data.units),
        data.categories - 1,
        panel_of_expert=data.panel_of_expert,
        panel_centred=panel_centred,
        expert_centred=expert_centred,
    )


def _thresholds(layout: Layout, part: dict[str, jnp.ndarray]) -> tuple[jnp.ndarray, ...]:
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


def constrained_parameters(layout: Layout, x) -> dict[str, jnp.ndarray]:
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


def make_potential(data: IrtData, *, single: bool = False) -> tuple[Callable, Layout]:
    """The negative log posterior (up to a constant) of the flat unconstrained vector.

    ``single``: the likelihood's normal CDFs in single precision
    (``log_probability_between_single``; about 2.5 times cheaper a gradient on a CPU), for
    the sampler; the mode and its Hessian use the double-precision one."""
    likelihood = log_probability_between_single if single else log_probability_between
    layout = model_layout(data)
    y = jnp.asarray(data.y)
    expert = jnp.asarray(data.expert)
    unit = jnp.asarray(data.unit)
    edges = jnp.full((layout.n_experts, 1), _EDGE)
    overall_mean = jnp.asarray(overall_prior_mean(layout.thresholds))

    def potential(x):
        part = {name: x[start:stop] for name, (start, stop) in layout.slices().items()}
        p = constrained_parameters(layout, x)
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
        return -(likelihood(lower, upper).sum() + prior)

    return potential, layout


def initial_vector(data: IrtData, layout: Layout) -> np.ndarray:
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
            sum_to_zero_basis(layout.n_units).T @ (z - z.mean()),
        ]
    )
