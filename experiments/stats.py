"""Statistics for comparing policies: interquartile mean with percentile-bootstrap intervals (scipy)."""

from __future__ import annotations

import numpy as np
from scipy import stats

__all__ = ["iqm_ci"]


def iqm_ci(scores: list[float]) -> tuple[float, float, float]:
    """Interquartile mean and its 95 % percentile-bootstrap interval over runs."""
    values = np.asarray(scores, dtype=np.float64)
    iqm = float(stats.trim_mean(values, 0.25))
    if np.ptp(values) == 0:
        return iqm, iqm, iqm
    result = stats.bootstrap(
        (values,),
        lambda x, axis: stats.trim_mean(x, 0.25, axis=axis),
        confidence_level=0.95,
        n_resamples=5000,
        method="percentile",
        random_state=0,
    )
    return iqm, float(result.confidence_interval.low), float(result.confidence_interval.high)
