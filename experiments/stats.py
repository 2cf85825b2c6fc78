"""Statistics for comparing policies, after Agarwal et al. (2021), with scipy doing the work: interquartile mean
(IQM) and mean over training seeds with 95 % percentile-bootstrap intervals, the probability of improvement
P(X > Y) with its bootstrap interval (runs of each policy resampled separately: a bootstrap stratified by
policy), and 95 % intervals over the evaluation shoppers.

Two kinds of interval, and reports always say which one they print:

- over training seeds (:data:`SEEDS_CI`): how much the result depends on the seed. It rests on the runs alone,
  so with fewer than :data:`MIN_SEEDS` runs it is not reported ("n/a"), and a policy that gives the same result
  every seed gets a zero-width one;
- over evaluation shoppers (:data:`SHOPPERS_CI`): how much the result depends on which shoppers were sampled for
  the evaluation. Every policy has one, deterministic baselines included.

:func:`format_interval` is the one way reports print either.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from scipy import stats

__all__ = [
    "MIN_SEEDS",
    "SEEDS_CI",
    "SHOPPERS_CI",
    "format_interval",
    "half_width",
    "has_interval",
    "iqm_ci",
    "iqm_summary",
    "mean_ci",
    "probability_of_improvement",
    "shopper_summary",
]

N_RESAMPLES = 5000
#: Fewest runs (seeds) from which an interval over runs is reported: a bootstrap of one or two values only
#: restates them.
MIN_SEEDS = 3
SEEDS_CI = "95 % CI over training seeds (percentile bootstrap of the IQM)"
SHOPPERS_CI = "95 % CI over evaluation shoppers (normal interval of the mean)"


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
    """:func:`iqm_ci` as a mapping ``{"iqm", "low", "high", "n"}`` with ``n`` the number of runs (the form reports
    and ``summary.json`` use); :func:`format_interval` prints its interval only from :data:`MIN_SEEDS` runs."""
    return {**dict(zip(("iqm", "low", "high"), iqm_ci(scores), strict=True)), "n": len(scores)}


def half_width(values: Sequence[float]) -> float:
    """Half-width of the 95 % normal interval of the mean of ``values`` [n ≥ 2], e.g. the per-shopper profits
    of one evaluation: 1.96 · sample standard deviation / √n."""
    values = np.asarray(values, dtype=np.float64)
    return float(1.96 * values.std(ddof=1) / np.sqrt(values.size))


def shopper_summary(
    means: Sequence[float], half_widths: Sequence[float | None], n_shoppers: int
) -> dict[str, float | None]:
    """Mean over runs of their evaluation means, with a 95 % interval over the ``n_shoppers`` evaluation
    shoppers: ± the mean of the runs' half-widths (:func:`half_width`). ``{"mean", "low", "high", "n"}``, with
    ``n = n_shoppers`` and ``low``/``high`` None when a half-width is unknown.

    Exact for one run. Runs evaluated on the same shoppers are correlated, and the standard error of their mean
    is at most the mean of their standard errors, so for several runs the interval is conservative. For a
    difference of two evaluations pass the sum of their half-widths (conservative for the same reason)."""
    mean = float(np.mean(means))
    if any(h is None or not np.isfinite(h) for h in half_widths):
        return {"mean": mean, "low": None, "high": None, "n": n_shoppers}
    width = float(np.mean(half_widths))
    return {"mean": mean, "low": mean - width, "high": mean + width, "n": n_shoppers}


def has_interval(stat: Mapping[str, Any]) -> bool:
    """Whether a summary of :func:`iqm_summary` or :func:`shopper_summary` has an interval to report: bounds, and
    at least :data:`MIN_SEEDS` runs (or shoppers) behind them."""
    runs = stat.get("n", MIN_SEEDS)  # a summary.json from before "n" was recorded: shown as it was then
    return stat["low"] is not None and stat["high"] is not None and runs >= MIN_SEEDS


def format_interval(stat: Mapping[str, Any] | None, digits: int = 1) -> str:
    """A summary as every report prints it: ``"point [low, high]"``, ``"point [n/a]"`` without an interval
    (:func:`has_interval`), ``"n/a"`` for None. The point is the IQM of :func:`iqm_summary` or the mean of
    :func:`shopper_summary` (any mapping with ``mean``, ``low``, ``high`` and ``n``). Which interval it is
    belongs in the report's column header or footnote: :data:`SEEDS_CI`, :data:`SHOPPERS_CI`."""
    if stat is None:
        return "n/a"
    point = f"{stat['iqm'] if 'iqm' in stat else stat['mean']:.{digits}f}"
    if not has_interval(stat):
        return f"{point} [n/a]"
    return f"{point} [{stat['low']:.{digits}f}, {stat['high']:.{digits}f}]"


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
