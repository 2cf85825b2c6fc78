"""The continual-learning results: each strategy's summary of its (seed) cells, with IQMs and intervals over seeds
or over the evaluation shoppers, and the run's summary (``summary.json``)."""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict
from scipy import stats

from shopgym.experiments.continual.drift import DriftSummary
from shopgym.experiments.continual.metrics import continual_metrics, metric_half_widths
from shopgym.experiments.continual.strategies import STRATEGIES
from shopgym.experiments.stats import MIN_SEEDS, iqm_summary, shopper_summary

__all__ = ["ContinualSummary", "StrategySummary", "add_compute", "summarise_strategy"]


class StrategySummary(BaseModel):
    """One strategy: whether it is ``sequential``, every metric over seeds (``iqm``, ``low``, ``high``, ``n``:
    :func:`~shopgym.experiments.stats.iqm_summary`) and A, BWT and FWT over the evaluation shoppers
    (``over_shoppers``), R [seeds, K, K] and b [seeds, K] with their IQMs over seeds, every seed's metrics and
    compute, and its mean compute relative to naive's (None without naive). Scores are profit per shopper."""

    model_config = ConfigDict(extra="forbid")

    sequential: bool
    average_performance: dict[str, Any]
    mean_forgetting: dict[str, Any]
    backward_transfer: dict[str, Any]
    forward_transfer: dict[str, Any]
    forgetting_per_market: list[dict[str, Any]]
    over_shoppers: dict[str, dict[str, Any]] = {}
    R_iqm: list[list[float]]
    b_iqm: list[float]
    R: list[list[list[float]]]
    b: list[list[float]]
    per_seed: list[dict[str, Any]]
    env_steps: list[int]
    train_seconds: list[float]
    seconds: list[float]
    compute_vs_naive: dict[str, float] | None = None

    def shown(self, key: str, seeds: int) -> dict[str, Any]:
        """The summary the report prints for ``key``: over seeds, or with fewer than MIN_SEEDS ``seeds`` over the
        evaluation shoppers where there is one (A, BWT and FWT)."""
        if seeds >= MIN_SEEDS or key not in self.over_shoppers:
            return getattr(self, key)
        return self.over_shoppers[key]


class ContinualSummary(BaseModel):
    """A continual-learning run's results (``summary.json``): its protocol (markets by label, seeds, budgets, the
    hyperparameters), every strategy (:class:`StrategySummary`), the findings in words, the drifting market (None
    without one) and ``minutes``, the wall time of the run that wrote it."""

    model_config = ConfigDict(extra="forbid")

    algo: str
    env_id: str
    scenarios: list[str]
    seeds: int
    steps_per_stage: int
    n_eval: int
    eval_seed: int
    rehearsal_fraction: float
    hyperparams: dict[str, Any]
    strategies: dict[str, StrategySummary]
    findings: list[str]
    drift: DriftSummary | None
    minutes: float


def _over_shoppers(cells: list[dict], metrics: list[dict], n_eval: int) -> dict[str, dict[str, Any]]:
    """A, BWT and FWT as means over seeds with conservative 95 % intervals over the evaluation shoppers (no bounds
    for cells cached before their half-widths were recorded)."""
    widths = [
        metric_half_widths(np.array(c["R_half_width"]), np.array(c["b_half_width"])) if "R_half_width" in c else {}
        for c in cells
    ]
    return {
        key: shopper_summary([m[key] for m in metrics], [w.get(key) for w in widths], n_eval)
        for key in ("average_performance", "backward_transfer", "forward_transfer")
    }


def summarise_strategy(cells: list[dict], labels: list[str], n_eval: int) -> StrategySummary:
    """One strategy's summary of its cells (one per seed): R and b per seed, their IQMs, and every metric with its
    interval over seeds (and over the evaluation shoppers)."""
    R = np.array([c["R"] for c in cells])
    b = np.array([c["b"] for c in cells])
    metrics = [continual_metrics(r, v) for r, v in zip(R, b, strict=True)]
    return StrategySummary(
        sequential=STRATEGIES[cells[0]["strategy"]].sequential,
        **{
            key: iqm_summary([m[key] for m in metrics])
            for key in ("average_performance", "mean_forgetting", "backward_transfer", "forward_transfer")
        },
        forgetting_per_market=[
            {"market": labels[i], **iqm_summary([m["forgetting"][i] for m in metrics])} for i in range(len(labels) - 1)
        ],
        over_shoppers=_over_shoppers(cells, metrics, n_eval),
        R_iqm=stats.trim_mean(R, 0.25, axis=0).tolist(),
        b_iqm=stats.trim_mean(b, 0.25, axis=0).tolist(),
        R=R.tolist(),
        b=b.tolist(),
        per_seed=metrics,
        env_steps=[c["env_steps"] for c in cells],
        train_seconds=[c["train_seconds"] for c in cells],
        seconds=[c["seconds"] for c in cells],
    )


def add_compute(strategies: dict[str, StrategySummary]) -> None:
    """Mean env steps and training seconds of each strategy relative to naive's (None without naive)."""
    naive = strategies.get("naive")
    for entry in strategies.values():
        entry.compute_vs_naive = (
            {
                key: float(np.mean(getattr(entry, key)) / np.mean(getattr(naive, key)))
                for key in ("env_steps", "train_seconds")
            }
            if naive is not None
            else None
        )
