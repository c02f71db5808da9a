"""Convergence diagnostics of MCMC draws: rank-normalised split R-hat and bulk ESS.

Vehtari, Gelman, Simpson, Carpenter & Bürkner (2021), "Rank-normalization, folding, and
localization: An improved R-hat for assessing convergence of MCMC", Bayesian Analysis 16(2),
667–718. Each chain is split in halves; the pooled draws are replaced by their normal scores
Φ⁻¹((rank − 3/8) / (S + 1/4)). R-hat is the larger of the Gelman–Rubin statistic of these
scores (bulk) and of the scores of the draws folded at their median, |x − median| (tail); bulk
ESS is the effective sample size of the bulk scores. The Gelman–Rubin statistic and the ESS
(Geyer's initial monotone sequence, as in Stan) are NumPyro's own
(``numpyro.diagnostics.gelman_rubin``, ``effective_sample_size``); this module adds the
splitting, the rank normalisation and the folding.

A run counts as converged when at most ``MAX_SHARE_ABOVE`` of its R-hats exceed
``RHAT_LIMIT`` (the project's rule: more than 5 % above 1.01 is not converged).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from numpyro.diagnostics import effective_sample_size, gelman_rubin
from scipy import stats as sps

RHAT_LIMIT = 1.01
MAX_SHARE_ABOVE = 0.05


def _split_chains(draws: np.ndarray) -> np.ndarray:
    """(chains, draws, ...) → (2 · chains, draws // 2, ...), dropping a middle draw if odd."""
    half = draws.shape[1] // 2
    return np.concatenate([draws[:, :half], draws[:, draws.shape[1] - half :]], axis=0)


def _normal_scores(draws: np.ndarray) -> np.ndarray:
    """Rank-normalise over all chains and draws, per parameter (axes 0 and 1 pooled)."""
    chains, length = draws.shape[:2]
    flat = draws.reshape(chains * length, -1)
    ranks = sps.rankdata(flat, axis=0, method="average")
    scores = sps.norm.ppf((ranks - 0.375) / (flat.shape[0] + 0.25))
    return scores.reshape(draws.shape)


def split_rhat(draws: np.ndarray) -> np.ndarray:
    """Rank-normalised split R-hat per parameter of ``draws`` (chains, draws, ...)."""
    split = _split_chains(np.asarray(draws, dtype=float))
    bulk = gelman_rubin(_normal_scores(split))
    tail = gelman_rubin(_normal_scores(np.abs(split - np.median(split, axis=(0, 1)))))
    return np.maximum(bulk, tail)


def bulk_ess(draws: np.ndarray) -> np.ndarray:
    """Bulk effective sample size per parameter of ``draws`` (chains, draws, ...)."""
    split = _split_chains(np.asarray(draws, dtype=float))
    return effective_sample_size(_normal_scores(split))


def convergence(draws: Mapping[str, np.ndarray]) -> dict[str, object]:
    """R-hat and bulk ESS over every scalar parameter of ``draws`` (name → (chains, draws,
    ...)), and whether the run converged by the project's rule.

    Constant parameters (R-hat undefined) are left out of the counts.
    """
    rhats, ess = [], []
    for values in draws.values():
        values = np.asarray(values, dtype=float).reshape(*np.shape(values)[:2], -1)
        varying = values.std(axis=(0, 1)) > 0
        if not varying.any():
            continue
        rhats.append(split_rhat(values[..., varying]))
        ess.append(bulk_ess(values[..., varying]))
    rhat = np.concatenate(rhats) if rhats else np.array([np.nan])
    bulk = np.concatenate(ess) if ess else np.array([np.nan])
    share = float(np.mean(rhat > RHAT_LIMIT))
    return {
        "n_parameters": int(rhat.size),
        "rhat_max": float(np.nanmax(rhat)),
        "share_rhat_above_limit": share,
        "ess_bulk_min": float(np.nanmin(bulk)),
        "ess_bulk_median": float(np.nanmedian(bulk)),
        "converged": bool(share <= MAX_SHARE_ABOVE),
    }
