"""Statistics for comparing policies over training seeds, after Agarwal et al. (2021), with scipy doing the work:
interquartile mean (IQM) and mean with 95 % percentile-bootstrap intervals, and the probability of improvement
P(X > Y) with its bootstrap interval (runs of each policy resampled separately: a bootstrap stratified by
policy)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats

__all__ = ["iqm_ci", "iqm_summary", "mean_ci", "probability_of_improvement"]

N_RESAMPLES = 5000


def _interval(data: tuple[np.ndarray, ...], statistic: Callable, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    with warnings.catch_warnings():  # a degenerate resample distribution is a valid (zero-width) answer here
        warnings.simplefilter("ignore")
        result = stats.bootstrap(
            data,
            statistic,
            confidence_level=0.95,
            n_resamples=N_RESAMPLES,
            method="percentile",
            axis=axis,
            random_state=0,
        )
    return result.confidence_interval.low, result.confidence_interval.high


def iqm_ci(scores: Sequence[float]) -> tuple[float, float, float]:
    """Interquartile mean of per-run scores [n] and its 95 % percentile-bootstrap interval."""
    values = np.asarray(scores, dtype=np.float64)
    iqm = float(stats.trim_mean(values, 0.25))
    if values.size < 2 or np.ptp(values) == 0:
        return iqm, iqm, iqm
    low, high = _interval((values,), lambda x, axis: stats.trim_mean(x, 0.25, axis=axis))
    return iqm, float(low), float(high)


def iqm_summary(scores: Sequence[float]) -> dict[str, float]:
    """:func:`iqm_ci` as a mapping ``{"iqm", "low", "high"}`` (the form reports and ``summary.json`` use)."""
    return dict(zip(("iqm", "low", "high"), iqm_ci(scores), strict=True))


def mean_ci(values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over runs of curves ``values`` [n_runs, T] and a 95 % percentile-bootstrap band, each [T]
    (the band collapses onto the mean with one run)."""
    values = np.asarray(values, dtype=np.float64)
    mean = values.mean(axis=0)
    if values.shape[0] < 2:
        return mean, mean.copy(), mean.copy()
    low, high = _interval((values,), lambda x, axis: x.mean(axis=axis), axis=0)
    flat = np.ptp(values, axis=0) == 0
    return mean, np.where(flat, mean, low), np.where(flat, mean, high)


def probability_of_improvement(x: Sequence[float], y: Sequence[float]) -> tuple[float, float, float]:
    """P(X > Y) + ½·P(X = Y) for a random run X of one policy and Y of another (the Mann–Whitney U statistic
    over n·m pairs) with a 95 % bootstrap interval; 0.5 means neither is better."""
    a, b = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)

    def statistic(first: np.ndarray, second: np.ndarray, axis: int = -1) -> np.ndarray:
        u = stats.mannwhitneyu(first, second, axis=axis, method="asymptotic", use_continuity=False).statistic
        return u / (first.shape[axis] * second.shape[axis])

    point = float(statistic(a, b))
    if a.size < 2 or b.size < 2 or np.ptp(np.concatenate([a, b])) == 0:
        return point, point, point
    low, high = _interval((a, b), statistic)
    return point, float(np.nan_to_num(low, nan=point)), float(np.nan_to_num(high, nan=point))
