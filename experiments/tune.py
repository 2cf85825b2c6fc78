"""Hyperparameter search with Optuna, as rl-baselines3-zoo users expect (``shopgym tune``).

A search trains one agent per trial with hyperparameters drawn by TPE from the config's ``space`` on top of the
algorithm's defaults for the env, evaluates it every ``eval_freq`` env steps on the same ``n_eval`` validation
shoppers (``eval_seed``, kept apart from the seeds reports evaluate on), and stops trials whose evaluation
curve falls below the median of earlier trials at the same step (median pruning). The objective is the final
evaluation's mean return.

Trials live in an Optuna storage: by default ``OUT/study.db`` (SQLite), so a killed search continues where it
stopped (the trial that was running is recorded as failed and run again with the same hyperparameters);
``--storage`` names a shared database (e.g. PostgreSQL) for several workers. Each trial trains with seed
``seed + trial number``, so trials do not all tune to one seed. The best trial's hyperparameters are written as
``OUT/best_hyperparams.yml``, which ``shopgym train --hyperparams`` takes, beside ``trials.csv``, a plot of
the search and ``report.md``.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, model_validator

from shopgym.experiments.configs import Algo, EnvId, ScenarioRef, Steps, StudyConfig, _Strict
from shopgym.experiments.report import figure, table
from shopgym.experiments.runs import RunDirectory, RunError
from shopgym.experiments.sweep import _locked
from shopgym.files import write_atomic

__all__ = ["ParamRange", "TuneConfig", "run_tune"]

log = logging.getLogger("shopgym")
SEARCH = "hyperparameter search"  # the kind of run folder (see RunDirectory.claim)


class ParamRange(_Strict):
    """One searched hyperparameter: ``choices`` (categorical), or ``low``–``high`` (``log`` for a log scale; an
    integer range when both bounds are integers)."""

    choices: list[Any] | None = Field(None, min_length=1)
    low: float | None = None
    high: float | None = None
    log: bool = False

    @model_validator(mode="after")
    def _one_kind(self) -> ParamRange:
        if (self.choices is None) == (self.low is None or self.high is None):
            raise ValueError("give either choices or both low and high")
        if self.low is not None and self.high is not None:
            if not self.low < self.high:
                raise ValueError(f"low = {self.low} must be below high = {self.high}")
            if self.log and self.low <= 0:
                raise ValueError(f"a log range needs low > 0, got {self.low}")
        return self

    def suggest(self, trial: Any, name: str) -> Any:
        if self.choices is not None:
            # Optuna stores categorical choices as JSON-compatible scalars: lists (network sizes) go as JSON text.
            picked = trial.suggest_categorical(name, [json.dumps(c) for c in self.choices])
            return json.loads(picked)
        if float(self.low).is_integer() and float(self.high).is_integer() and not self.log:
            return trial.suggest_int(name, int(self.low), int(self.high))
        return trial.suggest_float(name, self.low, self.high, log=self.log)


class TuneConfig(_Strict):
    """A hyperparameter search (``shopgym tune``)."""

    algo: Algo = "dqn"
    env: EnvId = "shopgym/Marketing-v1"
    scenario: ScenarioRef = "default"
    n_timesteps: Steps = Field(150_000, description="env steps per trial")
    eval_freq: Steps = Field(25_000, description="evaluate (and maybe prune) every this many env steps")
    n_eval: Steps = Field(500, description="validation shoppers, the same for every trial")
    eval_seed: int = Field(20_000, ge=0, description="seed of the validation shoppers (keep it apart from reports')")
    seed: int = Field(1000, ge=0, description="trial k trains with seed + k")
    sampler_seed: int = Field(0, ge=0, description="seed of the TPE sampler")
    n_startup_trials: int = Field(5, ge=0, description="random trials before TPE, and before pruning starts")
    space: dict[str, ParamRange] = Field(
        min_length=1, description="hyperparameter → range; policy_kwargs.<key> searches a network setting"
    )


def _hyperparams(config: TuneConfig, chosen: dict[str, Any], base: dict[str, Any]) -> Any:
    """The algorithm's defaults for the env with ``chosen`` on top (``policy_kwargs.x`` keys go one level in)."""
    from shopgym.agents.sb3_agents import HyperParams

    params = json.loads(json.dumps(base))
    for name, value in chosen.items():
        if name.startswith("policy_kwargs."):
            params["policy_kwargs"][name.split(".", 1)[1]] = value
        else:
            params[name] = value
    return HyperParams.model_validate(params)


def _objective(config: TuneConfig, base: dict[str, Any], device: str) -> Any:
    import optuna
    from stable_baselines3.common.callbacks import BaseCallback

    from shopgym.agents.evaluation import evaluate
    from shopgym.agents.sb3_agents import SB3Agent

    def objective(trial: optuna.Trial) -> float:
        chosen = {name: spec.suggest(trial, name) for name, spec in config.space.items()}
        trial.set_user_attr("hyperparams", chosen)
        hyperparams = _hyperparams(config, chosen, base)
        hyperparams.algorithm_kwargs(config.algo)  # a key the algorithm does not take fails here, by name
        agent = SB3Agent(
            config.algo,
            config.env,
            hyperparams,
            seed=config.seed + trial.number,
            device=device,
            env_kwargs={"scenario": config.scenario},
        )
        schedule = {"next": config.eval_freq, "last": None}

        def score() -> float:
            result = evaluate(agent, config.env, config.n_eval, config.eval_seed, **agent.env_kwargs)
            return result.mean_return

        class Evaluations(BaseCallback):
            def _on_rollout_start(self) -> None:
                steps = self.model.num_timesteps
                if steps < schedule["next"]:
                    return
                while schedule["next"] <= steps:
                    schedule["next"] += config.eval_freq
                schedule["last"] = (steps, score())
                trial.report(schedule["last"][1], steps)
                log.debug("trial %d, %d env steps: %.2f", trial.number, steps, schedule["last"][1])
                if trial.should_prune():
                    raise optuna.TrialPruned(f"pruned at {steps} env steps")

            def _on_step(self) -> bool:
                return True

        agent.learn(config.n_timesteps, callback=Evaluations())
        steps = int(agent.model.num_timesteps)
        final = schedule["last"][1] if schedule["last"] and schedule["last"][0] == steps else score()
        trial.set_user_attr("env_steps", steps)
        return final

    return objective


def _write_results(study: Any, config: TuneConfig, base: dict[str, Any], out: Path) -> dict[str, Any]:
    import optuna

    trials = study.get_trials(deepcopy=False)
    done = [t for t in trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not done:
        raise RunError(f"no trial of the search in {str(out)!r} has finished; nothing to report")
    best = study.best_trial
    chosen = best.user_attrs["hyperparams"]
    hyperparams = _hyperparams(config, chosen, base).model_dump(mode="json", exclude_none=True)
    header = (
        f"# Best of {len(done)} finished trials of `shopgym tune` ({config.algo} on {config.env}): trial"
        f" {best.number}, final validation return {best.value:.4g} on {config.n_eval} shoppers of seed"
        f" {config.eval_seed}.\n"
        f"# Use: shopgym train --algo {config.algo} --env {config.env} --hyperparams <this file>\n"
    )
    write_atomic(out / "best_hyperparams.yml", header + yaml.safe_dump({config.env: hyperparams}, sort_keys=False))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    names = list(config.space)
    writer.writerow(["trial", "state", "value", "last_step", *names])
    for t in trials:
        last_step = max(t.intermediate_values, default="")
        writer.writerow(
            [t.number, t.state.name.lower(), "" if t.value is None else t.value, last_step]
            + [t.params.get(n, "") for n in names]
        )
    write_atomic(out / "trials.csv", buffer.getvalue())
    counts = {s.name.lower(): sum(t.state == s for t in trials) for s in optuna.trial.TrialState}
    _plot_search(trials, out / "search.png", f"{config.algo.upper()} on {config.env}")
    summary = {
        "best_trial": best.number,
        "best_value": best.value,
        "best_params": chosen,
        "trials": {k: v for k, v in counts.items() if v},
        "hyperparams_file": "best_hyperparams.yml",
    }
    write_atomic(out / "summary.json", json.dumps(summary, indent=1, default=float) + "\n")
    lines = [
        f"# Hyperparameter search: {config.algo.upper()} on {config.env} ({config.n_timesteps:,} env steps a trial)",
        "",
        f"Trials: {', '.join(f'{v} {k}' for k, v in summary['trials'].items())}. Objective: mean return of the"
        f" final evaluation on {config.n_eval} validation shoppers (seed {config.eval_seed}); trial k trained with"
        f" seed {config.seed} + k. One run per trial: a trial's value includes its seed's luck, so retrain the best"
        " with several seeds before adopting it.",
        "",
        *figure("search", "search.png"),
        f"Best: trial {best.number}, {best.value:.2f}. Its settings, in `best_hyperparams.yml`:",
        "",
        *table(["hyperparameter", "value"], [[name, json.dumps(value)] for name, value in chosen.items()], "ll"),
        "",
    ]
    write_atomic(out / "report.md", "\n".join(lines))
    return summary


def _plot_search(trials: list[Any], path: Path, title: str) -> None:
    """Left: each trial's final value (pruned trials at their last evaluation) and the best so far. Right: the
    evaluation curves that the median pruner compared."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    best, best_x, best_y = float("-inf"), [], []
    for t in trials:
        curve = sorted(t.intermediate_values.items())
        state = t.state.name.lower()
        if state == "complete":
            left.scatter(t.number, t.value, color="tab:blue", zorder=3)
            best = max(best, t.value)
            best_x.append(t.number)
            best_y.append(best)
        elif state == "pruned" and curve:
            left.scatter(t.number, curve[-1][1], color="tab:gray", marker="x", zorder=3)
        if curve:
            steps, values = zip(*curve, strict=True)
            colour = "tab:blue" if state == "complete" else "tab:gray"
            right.plot(steps, values, marker="o", markersize=3, color=colour, alpha=0.6, lw=1)
    left.step(best_x, best_y, where="post", color="tab:orange", label="best so far")
    left.scatter([], [], color="tab:blue", label="finished trial")
    left.scatter([], [], color="tab:gray", marker="x", label="pruned (last evaluation)")
    left.set(xlabel="trial", ylabel="validation return per shopper", title=f"{title}: trials")
    left.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    left.legend(loc="lower right")
    right.set(xlabel="env steps", ylabel="validation return per shopper", title="evaluation curves (gray: pruned)")
    for axis in (left, right):
        axis.grid(alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run_tune(
    config: TuneConfig,
    out: str | Path,
    trials: int,
    storage: str | None = None,
    study_name: str = StudyConfig.model_fields["study_name"].default,
    device: str = "cpu",
) -> dict[str, Any]:
    """Run the search until ``trials`` trials have ended (finished or pruned, counting those of earlier runs
    into the same study), then write the results into ``out``. Returns the summary."""
    import optuna

    from shopgym.agents.sb3_agents import load_hyperparams

    run = RunDirectory(out)
    if not run.claim(SEARCH):
        run.start(config.model_dump(mode="json"), SEARCH)
    elif run.recorded()["config"] != config.model_dump(mode="json"):
        raise RunError(f"{str(out)!r} holds a search of another config; choose another --out")
    else:
        run.note_resume()
    out = run.path
    base = load_hyperparams(config.algo, config.env).model_dump(mode="json")
    for name in config.space:
        key = name.split(".", 1)[1] if name.startswith("policy_kwargs.") else name
        if key not in (base["policy_kwargs"] if name.startswith("policy_kwargs.") else base):
            raise RunError(f"space: {name!r} is not a hyperparameter; known: {', '.join(sorted(base))}")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    with _locked(out):
        return _search(config, out, trials, storage, study_name, device, base)


def _search(
    config: TuneConfig, out: Path, trials: int, storage: str | None, study_name: str, device: str, base: dict
) -> dict[str, Any]:
    import optuna
    from optuna.trial import TrialState

    local = storage is None
    database = optuna.storages.RDBStorage(storage or f"sqlite:///{(out / 'study.db').resolve()}")
    study = optuna.create_study(
        study_name=study_name,
        storage=database,
        load_if_exists=True,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=config.sampler_seed, n_startup_trials=config.n_startup_trials),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=config.n_startup_trials, n_warmup_steps=0),
    )
    if local:
        # Our own database under our lock: a trial still "running" was cut short by a kill. Run it again.
        for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            database.set_trial_state_values(stale._trial_id, TrialState.FAIL)  # FrozenTrial keeps the id private
            study.enqueue_trial(stale.params, skip_if_exists=False)
            log.info("trial %d was interrupted; it runs again", stale.number)
    ended = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))
    if ended < trials:
        log.info("%d of %d trials ended earlier; running %d", ended, trials, trials - ended)
        study.optimize(
            _objective(config, base, device),
            callbacks=[optuna.study.MaxTrialsCallback(trials, states=(TrialState.COMPLETE, TrialState.PRUNED))],
            catch=(),
        )
    return _write_results(study, config, base, out)
