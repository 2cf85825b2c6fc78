"""Continual learning: an SB3 agent trained on a sequence of markets, every market evaluated after every stage.

For each training seed and strategy the agent goes through the K markets of :class:`ContinualConfig` in order
(``steps_per_stage`` env steps each). After each stage k the frozen agent is evaluated on every market i with the
same ``n_eval`` shoppers (``eval_seed``: common random numbers across stages, strategies and seeds), giving
R[k, i] = profit per shopper over one episode (currency units); the untrained agent gives b[i]. Strategies:

- ``naive``: one agent goes on learning in each new market (:meth:`SB3Agent.use_env`);
- ``reset``: a fresh agent (same training seed, so the same initial weights) for every stage, trained only on
  that stage's market;
- ``rehearsal``: like naive, but from stage 2 on a share ``rehearsal_fraction`` of the env slots replays the
  earlier markets (split evenly among them), the rest serves the current one: same slots, same env steps;
- ``multitask``: an upper reference, one agent trained on all markets at once (slots split evenly) for
  K × ``steps_per_stage`` env steps and evaluated after each of K equal chunks; only its last row is a final
  result, its other rows are not "after market k".

Metrics of R and b (average performance, forgetting, backward and forward transfer) are pure functions below,
aggregated over seeds with IQMs and 95 % bootstrap intervals. With fewer than three seeds the report prints A,
BWT and FWT with conservative 95 % intervals over the evaluation shoppers instead (from the half-width of every
evaluation), and says so; forgetting, a maximum over stages, has none there. An optional drifting-market
experiment compares an agent that keeps learning with a frozen copy of it on a market whose drift runs on the
market clock.

Every finished (strategy, seed) cell is cached as ``cells/<strategy>-seed<k>.json``, every drift seed as
``cells/drift-seed<k>.json``, so rerunning a killed run into the same folder skips what is done. ``summary.json``
(a :class:`ContinualSummary`, which ``run_continual`` returns) is written last.
"""

from shopgym.experiments.continual.metrics import (
    average_performance,
    backward_transfer,
    continual_metrics,
    forgetting,
    forward_transfer,
    metric_half_widths,
)
from shopgym.experiments.continual.protocol import run_continual
from shopgym.experiments.continual.report import render_report
from shopgym.experiments.continual.strategies import rehearsal_sizes
from shopgym.experiments.continual.summary import ContinualSummary, StrategySummary

__all__ = [
    "ContinualSummary",
    "StrategySummary",
    "average_performance",
    "backward_transfer",
    "continual_metrics",
    "forgetting",
    "forward_transfer",
    "metric_half_widths",
    "rehearsal_sizes",
    "render_report",
    "run_continual",
]
