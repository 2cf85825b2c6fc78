"""The continual-learning run: every (strategy, seed) cell and drift seed, cached per cell so a killed run
resumes, then the summary, figures and report; ``summary.json`` is written last."""

from __future__ import annotations

import logging
import time
from pathlib import Path

from shopgym.agents.sb3_agents import HyperParams, load_hyperparams
from shopgym.experiments.configs import ContinualConfig, scenario_label
from shopgym.experiments.continual.cells import run_cell
from shopgym.experiments.continual.drift import DRIFT_STAGE, run_drift, summarise_drift
from shopgym.experiments.continual.report import findings_in_words, plot_drift, plot_matrices, render_report
from shopgym.experiments.continual.strategies import STRATEGIES
from shopgym.experiments.continual.summary import ContinualSummary, add_compute, summarise_strategy
from shopgym.experiments.markets import scenario_digests
from shopgym.experiments.progress import progress_bar as make_progress_bar
from shopgym.experiments.runs import CellStore, RunDirectory
from shopgym.files import write_atomic
from shopgym.params import ParameterError

log = logging.getLogger("shopgym")


# ---------------------------------------------------------------------------------------------------- entry
def _hyperparams(config: ContinualConfig, hyperparams: HyperParams | str | Path | None) -> HyperParams:
    if isinstance(hyperparams, HyperParams):
        hyperparams.algorithm_kwargs(config.algo)  # an algorithm-specific key the algorithm lacks is an error
        return hyperparams
    return load_hyperparams(config.algo, config.env, hyperparams)


def _validate(config: ContinualConfig, hyperparams: HyperParams) -> None:
    K = len(config.scenarios)
    if K > DRIFT_STAGE:
        raise ParameterError(f"at most {DRIFT_STAGE} scenarios, got {K}")
    for name in config.strategies:
        STRATEGIES[name].check(config, hyperparams)


def run_continual(
    config: ContinualConfig,
    out: str | Path,
    device: str = "auto",
    progress_bar: bool = False,
    hyperparams: HyperParams | str | Path | None = None,
) -> ContinualSummary:
    """Run (or continue) the continual-learning experiment ``config`` in the folder ``out``; returns the summary
    that is also written to ``summary.json`` (last), after ``matrices.png``, ``drift.png`` (with a drift
    scenario) and ``report.md``.

    ``hyperparams``: a :class:`HyperParams`, a hyperparameter YAML path, or None for ``agents/hyperparams``;
    recorded in ``run.json``, and a folder started with other ones (or another config) is refused.
    """
    params = _hyperparams(config, hyperparams)
    _validate(config, params)
    run = RunDirectory(out)
    params_json = params.model_dump(mode="json")
    run.begin(
        config.model_dump(mode="json"), "continual run", device, scenario_digests(config), hyperparams=params_json
    )
    started = time.perf_counter()
    jobs = [
        (f"{strategy}-seed{seed}", lambda s=strategy, k=seed: run_cell(config, s, k, params, device))
        for seed in range(config.seeds)
        for strategy in config.strategies
    ]
    if config.drift_scenario is not None:
        jobs += [
            (f"drift-seed{seed}", lambda k=seed: run_drift(config, k, params, device, run.path / "drift" / f"seed{k}"))
            for seed in range(config.seeds)
        ]
    cells = CellStore(run.path / "cells")
    bar = make_progress_bar("runs", progress_bar)
    results: dict[str, dict] = {}
    with bar:
        task = bar.add_task("continual", total=len(jobs))
        for name, compute in jobs:
            bar.update(task, description=f"continual: {name}")
            results[name] = cells.get(name, compute)
            bar.advance(task)

    labels = [scenario_label(s) for s in config.scenarios]
    strategies = {
        strategy: summarise_strategy(
            [results[f"{strategy}-seed{k}"] for k in range(config.seeds)], labels, config.n_eval
        )
        for strategy in config.strategies
    }
    add_compute(strategies)
    drift = None
    if config.drift_scenario is not None:
        drift = summarise_drift(config, [results[f"drift-seed{k}"] for k in range(config.seeds)])
        plot_drift(run.path / "drift.png", drift, config.seeds)
    plot_matrices(run.path / "matrices.png", strategies, labels, config.seeds)
    protocol = config.model_dump(
        include={"algo", "seeds", "steps_per_stage", "n_eval", "eval_seed", "rehearsal_fraction"}
    )
    summary = ContinualSummary(
        **protocol,
        env_id=config.env,
        scenarios=labels,
        hyperparams=params_json,
        strategies=strategies,
        findings=findings_in_words(config, strategies, drift),
        drift=drift,
        minutes=(time.perf_counter() - started) / 60,
    )
    write_atomic(run.path / "report.md", render_report(config, summary))
    run.write_json("summary.json", summary.model_dump())
    return summary
