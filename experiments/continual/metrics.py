"""Continual-learning metrics of the matrix R[k, i] (performance on market i after stage k) and the untrained
agent's b[i]: average performance, forgetting, backward and forward transfer, and their half-widths over the
evaluation shoppers. Pure functions (Lopez-Paz & Ranzato 2017; Chaudhry et al. 2018)."""

from __future__ import annotations

from typing import Any

import numpy as np


# ---------------------------------------------------------------------------------------------------- metrics
def _check(matrix: np.ndarray, baseline: np.ndarray | None = None) -> np.ndarray:
    R = np.asarray(matrix, dtype=np.float64)
    if R.ndim != 2 or R.shape[0] != R.shape[1] or R.shape[0] < 2:
        raise ValueError(f"R must be a square K×K matrix with K ≥ 2, got shape {R.shape}")
    if baseline is not None and np.shape(baseline) != (R.shape[0],):
        raise ValueError(f"b must have shape ({R.shape[0]},) to match R, got {np.shape(baseline)}")
    return R


def average_performance(R: np.ndarray) -> float:
    """Average performance after the last stage, A = (1/K) Σ_i R[K-1, i] (Lopez-Paz & Ranzato 2017, GEM:
    "ACC"). ``R`` [K, K]: R[k, i] is the score on market i after training stage k."""
    R = _check(R)
    return float(R[-1].mean())


def forgetting(R: np.ndarray) -> np.ndarray:
    """Forgetting of each market but the last, [K-1]: f_i = max_{i ≤ k < K-1} R[k, i] − R[K-1, i], the drop from
    the best score on market i at any stage since it was trained on, to the final score (Chaudhry et al. 2018,
    Riemannian Walk; only stages k ≥ i count, as in Wołczyk et al. 2021, Continual World, whose forgetting is
    R[i, i] − R[K-1, i]). Negative values mean the final score is better than every earlier one. Average it
    for the mean forgetting. ``R`` [K, K] as in :func:`average_performance`."""
    R = _check(R)
    last = R.shape[0] - 1
    best = np.array([R[i:last, i].max() for i in range(last)])
    return best - R[last, :last]


def backward_transfer(R: np.ndarray) -> float:
    """Backward transfer, BWT = (1/(K-1)) Σ_{i<K-1} (R[K-1, i] − R[i, i]): how training on later markets
    changed the score on market i since just after training on it (Lopez-Paz & Ranzato 2017, GEM). Negative:
    forgetting. ``R`` [K, K] as in :func:`average_performance`."""
    R = _check(R)
    last = R.shape[0] - 1
    return float(np.mean(R[last, :last] - np.diag(R)[:last]))


def forward_transfer(R: np.ndarray, b: np.ndarray) -> float:
    """Forward transfer, FWT = (1/(K-1)) Σ_{i≥1} (R[i-1, i] − b[i]): the score on market i before training on
    it, against the untrained agent's b[i] (Lopez-Paz & Ranzato 2017, GEM). ``R`` [K, K] as in
    :func:`average_performance`, ``b`` [K]."""
    R = _check(R, b)
    K = R.shape[0]
    return float(np.mean(R[np.arange(K - 1), np.arange(1, K)] - np.asarray(b, dtype=np.float64)[1:]))


def metric_half_widths(H: np.ndarray, h: np.ndarray) -> dict[str, float]:
    """Half-widths of 95 % intervals over the evaluation shoppers of ``average_performance``,
    ``backward_transfer`` and ``forward_transfer``, from those of every score, ``H`` [K, K] (of R) and ``h`` [K]
    (of b). Each metric is a mean of scores or of differences of two scores; the half-width of a sum is at most
    the sum of the half-widths, so these are conservative for correlated scores (the same shoppers every time)."""
    H = _check(H, h)
    K = H.shape[0]
    return {
        "average_performance": float(H[-1].mean()),
        "backward_transfer": float(np.mean(H[-1, :-1] + np.diag(H)[:-1])),
        "forward_transfer": float(np.mean(H[np.arange(K - 1), np.arange(1, K)] + np.asarray(h)[1:])),
    }


def continual_metrics(R: np.ndarray, b: np.ndarray) -> dict[str, Any]:
    """All metrics of one run: ``average_performance``, ``forgetting`` (list [K-1]), ``mean_forgetting``,
    ``backward_transfer`` and ``forward_transfer``, in the units of R (profit per shopper here)."""
    per_market = forgetting(R)
    return {
        "average_performance": average_performance(R),
        "forgetting": per_market.tolist(),
        "mean_forgetting": float(per_market.mean()),
        "backward_transfer": backward_transfer(R),
        "forward_transfer": forward_transfer(R, b),
    }
