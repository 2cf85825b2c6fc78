"""The suites: each one's config model, its runner and what its command offers. ``shopgym sweep`` runs them as
jobs and the ``shopgym`` command line builds one command per suite from this registry.

A runner is named by import path and imported when a suite runs, so listing the suites imports no torch.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shopgym.experiments.configs import CompareConfig, ContinualConfig, TransferConfig

__all__ = ["SUITES", "Suite"]


@dataclass(frozen=True)
class Suite:
    """A suite: its config model and ``runner``, ``"module:function"`` with the signature
    ``(config, out, device, progress_bar=False[, hyperparams=None]) -> summary``, which writes a resumable run
    folder with ``report.md`` and, last, ``summary.json``.

    Its command: ``help`` (first line: the summary), the config fields a command line may ``override`` (integers;
    their help is the field's description), and whether the runner takes a hyperparameter YAML."""

    name: str
    config: type[BaseModel]
    runner: str
    help: str = ""
    overrides: tuple[str, ...] = ()
    hyperparams: bool = False

    def run(self, config: BaseModel, out: str | Path, device: str = "auto", **options: Any) -> dict[str, Any]:
        """Run (or resume) the suite ``config`` into the folder ``out``; returns its summary."""
        module, function = self.runner.split(":")
        summary = getattr(importlib.import_module(module), function)(config, out, device, **options)
        return summary.model_dump() if isinstance(summary, BaseModel) else summary  # as summary.json holds it


#: The suites by the names sweep configs use for them.
SUITES: dict[str, Suite] = {
    suite.name: suite
    for suite in (
        Suite(
            "compare",
            CompareConfig,
            "shopgym.experiments.compare:run_comparison",
            "Train a comparison's agents (several seeds) and compare them with its baselines on the same shoppers."
            "\n\nWrites report.md with a comparison chart, learning curves, probabilities of improvement and KPIs."
            " Rerunning into the same --out continues a killed comparison.",
            ("seeds", "n_eval"),
        ),
        Suite(
            "transfer",
            TransferConfig,
            "shopgym.experiments.transfer:run_transfer",
            "Pretrain on source markets; compare zero-shot, fine-tuned and from-scratch agents on the targets."
            "\n\nFor each pair (several seeds): jumpstart, asymptotic gain, AUC ratio and time to threshold with"
            " bootstrap CIs, learning-curve plots and report.md. Rerunning into the same --out continues a killed"
            " suite.",
            ("seeds", "source_steps", "target_steps", "eval_freq", "n_eval"),
            hyperparams=True,
        ),
        Suite(
            "continual",
            ContinualConfig,
            "shopgym.experiments.continual:run_continual",
            "Train through a sequence of markets under several strategies; report forgetting and transfer."
            "\n\nStrategies: naive fine-tuning, reset, rehearsal, multi-task. Every market is evaluated after every"
            " stage (the R matrix): average performance, forgetting, backward and forward transfer with bootstrap"
            " CIs, heatmaps, and an adapting vs frozen policy in a drifting market. Rerunning into the same --out"
            " continues a killed run.",
            ("seeds", "steps_per_stage", "n_eval"),
            hyperparams=True,
        ),
    )
}
