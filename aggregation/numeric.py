"""Shared numeric helpers of the pure statistics modules (``aggregation.stats``,
``aggregation.reliability_stats``, ``aggregation.comparison_stats``).

A statistic that is undefined for the data at hand comes back as NaN, without a numpy
warning: ``quiet`` silences them where NaN is the intended result.
"""

from __future__ import annotations

import math
import warnings
from contextlib import contextmanager
from typing import TYPE_CHECKING

import numpy as np
from scipy import stats as sps

if TYPE_CHECKING:
    from collections.abc import Iterator

    from numpy.typing import ArrayLike, NDArray

NAN = float("nan")


@contextmanager
def quiet() -> Iterator[None]:
    """Silence numpy floating-point warnings and RuntimeWarnings inside the block."""
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def as_vector(values: ArrayLike) -> NDArray[np.float64]:
    """A 1-D float array of the non-missing values."""
    array = np.asarray(values, dtype=float).ravel()
    return array[~np.isnan(array)]


def as_matrix(data: ArrayLike) -> NDArray[np.float64]:
    matrix = np.asarray(data, dtype=float)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-D array, got {matrix.ndim} dimension(s)")
    return matrix


def t_quantile(level: float, df: float) -> float:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")
    if not df > 0:
        return NAN
    return float(sps.t.ppf(0.5 + level / 2, df))


def two_sided_p(t: float, df: float) -> float:
    if math.isnan(t) or not df > 0:
        return NAN
    return float(2 * sps.t.sf(abs(t), df))


def finite_or_nan(x: float) -> float:
    return float(x) if np.isfinite(x) else NAN


def paired_vectors(a: ArrayLike, b: ArrayLike) -> tuple[NDArray, NDArray]:
    x = np.asarray(a, dtype=float).ravel()
    y = np.asarray(b, dtype=float).ravel()
    if x.shape != y.shape:
        raise ValueError(f"paired samples differ in length: {x.size} vs {y.size}")
    keep = ~(np.isnan(x) | np.isnan(y))
    return x[keep], y[keep]


def variance_from_sums(n, sums, sums_of_squares):
    """Sample variance (ddof = 1) from n, Σx and Σx², element-wise; NaN where n < 2.

    (Σx² − (Σx)² / n) / (n − 1); a result that rounding left a few ulps off zero (constant
    data) or below it is set to exactly 0."""
    with quiet():
        centred = sums_of_squares - sums**2 / n
        centred = np.where(centred <= 1e-12 * np.maximum(sums_of_squares, 1.0), 0.0, centred)
        return np.where(n >= 2, centred / (n - 1), np.nan)
