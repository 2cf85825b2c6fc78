"""The ``shopgym`` command: ``quickstart`` (the main job), ``train``, ``eval``, ``compare``, ``transfer``,
``continual``, ``sweep``, ``plot`` and ``bench``.

Bad input (unknown env id or algorithm, a negative budget, an unreadable config, an ``--out`` that is a file)
prints one line naming the problem and exits with status 2, without a traceback. Long work shows a progress bar
with an ETA when stderr is a terminal and ``CI`` is not set; ``--verbose`` adds a line per evaluation and
checkpoint.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer
from pydantic import BaseModel, ValidationError

import shopgym
from agents.evaluation import evaluate
from agents.sb3_agents import ALGORITHMS, SB3Agent
from experiments.bench import vector_throughput
from experiments.compare import read_curve, run_comparison, write_report
from experiments.configs import (
    CONFIG_DIR,
    CompareConfig,
    ContinualConfig,
    SweepConfig,
    TrainConfig,
    TransferConfig,
    load_config,
)
from experiments.continual import run_continual
from experiments.plots import plot_learning_curves
from experiments.runs import RunDirectory, RunError
from experiments.sweep import run_sweep
from experiments.training import train_agent
from experiments.transfer import run_transfer
from shopgym.params import ParameterError, format_validation_error
from shopgym.perf import tune_malloc

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="shopgym: train, evaluate and compare marketing policies on simulated shoppers.",
)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="log every evaluation and checkpoint")]
Device = Annotated[str, typer.Option(help="auto (CUDA when present), cpu or cuda")]


def fail(message: str) -> None:
    typer.echo(f"shopgym: error: {message}", err=True)
    raise typer.Exit(code=2)


def _setup(verbose: bool) -> bool:
    """Configure logging; returns whether to draw progress bars."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", force=True)
    for noisy in ("matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tune_malloc()
    return verbose or (sys.stderr.isatty() and not os.environ.get("CI"))


def _positive(**values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value < 1:
            fail(f"--{name.replace('_', '-')} must be ≥ 1, got {value}")


def _validate(model: type[BaseModel], data: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fail(str(format_validation_error(error, where, model)))


@app.command()
def train(
    config: Annotated[Path | None, typer.Option(help="YAML run config (experiments/configs/train_*.yml)")] = None,
    algo: Annotated[str | None, typer.Option(help="ppo, dqn, a2c or recurrentppo [ppo]")] = None,
    env: Annotated[str | None, typer.Option(help="registered env id [shopgym/Marketing-v0]")] = None,
    scenario: Annotated[str | None, typer.Option(help="scenario preset name or YAML path [default]")] = None,
    seed: Annotated[int | None, typer.Option(help="training seed [0]")] = None,
    n_timesteps: Annotated[int | None, typer.Option(help="env steps (shopper visits) to train for [300000]")] = None,
    eval_freq: Annotated[int | None, typer.Option(help="evaluate every this many env steps [50000]")] = None,
    n_eval: Annotated[int | None, typer.Option(help="shoppers per evaluation, the same every time [500]")] = None,
    eval_seed: Annotated[int | None, typer.Option(help="seed of the evaluation shoppers [10000]")] = None,
    checkpoint_freq: Annotated[int | None, typer.Option(help="checkpoint every this many env steps, 0: never")] = None,
    hyperparams: Annotated[Path | None, typer.Option(help="hyperparameter YAML (default agents/hyperparams/)")] = None,
    device: Device = "auto",
    out: Annotated[Path, typer.Option(help="run directory to create (or to continue with --resume)")] = Path(
        "runs/train"
    ),
    resume: Annotated[bool, typer.Option(help="continue the killed run in --out from its last checkpoint")] = False,
    tensorboard: Annotated[bool, typer.Option(help="also write TensorBoard events to OUT/tensorboard")] = False,
    verbose: Verbose = False,
) -> None:
    """Train one SB3 agent into a run directory: run.json, evaluations.csv, progress.csv, episodes.csv,
    checkpoint/, model/ and summary.json (written last). Flags override --config; [defaults] in brackets."""
    given = {
        "algo": algo,
        "env": env,
        "scenario": scenario,
        "seed": seed,
        "n_timesteps": n_timesteps,
        "eval_freq": eval_freq,
        "n_eval": n_eval,
        "eval_seed": eval_seed,
        "checkpoint_freq": checkpoint_freq,
    }
    given = {k: v for k, v in given.items() if v is not None}
    _positive(n_timesteps=n_timesteps, eval_freq=eval_freq, n_eval=n_eval)
    if env is not None and env not in shopgym.ENV_IDS:
        fail(f"unknown env id {env!r}; known: {', '.join(sorted(shopgym.ENV_IDS))}")
    if algo is not None and algo not in ALGORITHMS:
        fail(f"unknown algorithm {algo!r}; known: {', '.join(ALGORITHMS)}")
    if resume and (given or config or hyperparams or tensorboard):
        flags = sorted(f"--{k.replace('_', '-')}" for k in given) + [
            f for f, v in (("--config", config), ("--hyperparams", hyperparams), ("--tensorboard", tensorboard)) if v
        ]
        fail(f"--resume continues the run with the config it recorded; drop {', '.join(flags)}")
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        fail("--tensorboard needs the tensorboard package: pip install 'shopgym[tensorboard]'")
    progress = _setup(verbose)
    try:
        run = RunDirectory(out)
        if config is not None:
            run_config = load_config(config, TrainConfig, given)
        else:
            run_config = _validate(TrainConfig, given, "train flags")
        summary = train_agent(run, run_config, device, resume, hyperparams, tensorboard, progress)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo(json.dumps(summary, indent=1))


@app.command("eval")
def evaluate_model(
    model: Annotated[Path, typer.Option(help="a model folder written by train (RUN/model)")],
    n_shoppers: Annotated[int, typer.Option(help="shoppers, one episode each")] = 1000,
    seed: Annotated[int, typer.Option(help="evaluation seed (the shoppers)")] = 10_000,
    device: Device = "auto",
) -> None:
    """Evaluate a saved agent on fresh shoppers and print its KPIs as JSON."""
    _positive(n_shoppers=n_shoppers)
    if not (model / "agent.json").is_file():
        fail(f"{str(model)!r} holds no saved agent (agent.json)")
    try:
        agent = SB3Agent.load(model, device=device)
    except (OSError, ValueError, KeyError) as error:
        fail(f"cannot load {str(model)!r}: {error}")
    result = evaluate(agent, agent.env_id, n_shoppers, seed, **agent.env_kwargs)
    typer.echo(json.dumps(result.kpis(), indent=1))


def _compare(config: CompareConfig, out: Path, device: str, progress: bool) -> None:
    try:
        summary = run_comparison(config, out, device, progress)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((out / "report.md").read_text(encoding="utf-8"))
    typer.echo(f"report: {out / 'report.md'} (best baseline: {summary['best_baseline']})", err=True)


@app.command()
def compare(
    config: Annotated[Path, typer.Argument(help="comparison YAML (experiments/configs/*.yml)")],
    out: Annotated[Path | None, typer.Option(help="comparison folder (default: runs/<config>-<time>)")] = None,
    seeds: Annotated[int | None, typer.Option(help="override: training seeds per agent")] = None,
    n_eval: Annotated[int | None, typer.Option(help="override: evaluation shoppers")] = None,
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """Train the config's agents (several seeds) and compare them with its baselines on the same shoppers:
    report.md with a comparison chart, learning curves, probabilities of improvement and KPIs. Rerunning into
    the same --out continues a killed comparison."""
    _positive(seeds=seeds, n_eval=n_eval)
    progress = _setup(verbose)
    try:
        parsed = load_config(config, CompareConfig, {"seeds": seeds, "n_eval": n_eval})
    except ParameterError as error:
        fail(str(error))
    _compare(parsed, out or Path("runs") / time.strftime(f"{config.stem}-%Y%m%d-%H%M%S"), device, progress)


@app.command()
def quickstart(
    out: Annotated[Path | None, typer.Option(help="report folder (default: runs/quickstart-<time>)")] = None,
    seeds: Annotated[int | None, typer.Option(help="training seeds per agent [2]")] = None,
    ppo_steps: Annotated[int | None, typer.Option(help="PPO env steps per seed [300000]")] = None,
    dqn_steps: Annotated[int | None, typer.Option(help="DQN env steps per seed [150000]")] = None,
    eval_freq: Annotated[int | None, typer.Option(help="evaluate every this many env steps [50000]")] = None,
    n_eval: Annotated[
        int | None, typer.Option(help="shoppers per evaluation, the same for every policy [1000]")
    ] = None,
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """The main job: train PPO and DQN on Marketing-v0 for a few CPU minutes, compare them with baselines and the
    myopic oracle on the same shoppers, and write report.md with plots (experiments/configs/quickstart.yml)."""
    _positive(seeds=seeds, ppo_steps=ppo_steps, dqn_steps=dqn_steps, eval_freq=eval_freq, n_eval=n_eval)
    progress = _setup(verbose)
    base = load_config(CONFIG_DIR / "quickstart.yml", CompareConfig, {"seeds": seeds, "eval_freq": eval_freq})
    budgets = {"ppo": ppo_steps, "dqn": dqn_steps}
    agents = [a.model_copy(update={"n_timesteps": budgets.get(a.algo) or a.n_timesteps}) for a in base.agents]
    overrides = {"agents": agents, **({"n_eval": n_eval} if n_eval else {})}
    config = _validate(CompareConfig, {**base.model_dump(), **overrides}, "quickstart flags")
    _compare(config, out or Path("runs") / time.strftime("quickstart-%Y%m%d-%H%M%S"), device, progress)


@app.command()
def transfer(
    config: Annotated[Path, typer.Argument(help="transfer YAML (experiments/configs/transfer.yml)")],
    out: Annotated[Path | None, typer.Option(help="suite folder (default: runs/<config>-<time>)")] = None,
    seeds: Annotated[int | None, typer.Option(help="override: seeds per pair")] = None,
    source_steps: Annotated[int | None, typer.Option(help="override: pretraining env steps")] = None,
    target_steps: Annotated[int | None, typer.Option(help="override: env steps on the target")] = None,
    eval_freq: Annotated[int | None, typer.Option(help="override: evaluation frequency on the target")] = None,
    n_eval: Annotated[int | None, typer.Option(help="override: evaluation shoppers")] = None,
    hyperparams: Annotated[Path | None, typer.Option(help="hyperparameter YAML (default agents/hyperparams/)")] = None,
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """Pretrain on each pair's source market, then on its target compare zero-shot, fine-tuned and from-scratch
    agents (several seeds): jumpstart, asymptotic gain, AUC ratio and time to threshold with bootstrap CIs,
    learning-curve plots and report.md. Rerunning into the same --out continues a killed suite."""
    _positive(seeds=seeds, source_steps=source_steps, target_steps=target_steps, eval_freq=eval_freq, n_eval=n_eval)
    progress = _setup(verbose)
    overrides = {
        "seeds": seeds,
        "source_steps": source_steps,
        "target_steps": target_steps,
        "eval_freq": eval_freq,
        "n_eval": n_eval,
    }
    target = out or Path("runs") / time.strftime(f"{config.stem}-%Y%m%d-%H%M%S")
    try:
        parsed = load_config(config, TransferConfig, overrides)
        run_transfer(parsed, target, device, progress, hyperparams)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((target / "report.md").read_text(encoding="utf-8"))
    typer.echo(f"report: {target / 'report.md'}", err=True)


@app.command()
def continual(
    config: Annotated[Path, typer.Argument(help="continual YAML (experiments/configs/continual.yml)")],
    out: Annotated[Path | None, typer.Option(help="result folder (default: runs/<config>-<time>)")] = None,
    seeds: Annotated[int | None, typer.Option(help="override: training seeds")] = None,
    steps_per_stage: Annotated[int | None, typer.Option(help="override: env steps per market")] = None,
    n_eval: Annotated[int | None, typer.Option(help="override: evaluation shoppers")] = None,
    hyperparams: Annotated[Path | None, typer.Option(help="hyperparameter YAML (default agents/hyperparams/)")] = None,
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """Train through a sequence of markets under several strategies (naive fine-tuning, reset, rehearsal,
    multi-task), evaluate every market after every stage (the R matrix): average performance, forgetting,
    backward and forward transfer with bootstrap CIs, heatmaps, and an adapting vs frozen policy in a drifting
    market. Rerunning into the same --out continues a killed run."""
    _positive(seeds=seeds, steps_per_stage=steps_per_stage, n_eval=n_eval)
    progress = _setup(verbose)
    target = out or Path("runs") / time.strftime(f"{config.stem}-%Y%m%d-%H%M%S")
    try:
        parsed = load_config(
            config, ContinualConfig, {"seeds": seeds, "steps_per_stage": steps_per_stage, "n_eval": n_eval}
        )
        run_continual(parsed, target, device, progress, hyperparams)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((target / "report.md").read_text(encoding="utf-8"))
    typer.echo(f"report: {target / 'report.md'}", err=True)


@app.command()
def sweep(
    config: Annotated[Path, typer.Argument(help="sweep YAML (experiments/configs/sweep_*.yml)")],
    out: Annotated[Path | None, typer.Option(help="sweep folder (default: runs/<config>)")] = None,
    backend: Annotated[str, typer.Option(help="local (a process pool) or ray")] = "local",
    workers: Annotated[int | None, typer.Option(help="jobs at a time (default: cores / cpus_per_job)")] = None,
    address: Annotated[
        str | None, typer.Option(help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray node)")
    ] = None,
    device: Annotated[str, typer.Option(help="torch device of every job: cpu, cuda or auto")] = "cpu",
    verbose: Verbose = False,
) -> None:
    """Run a grid of training runs (and whole suites) as independent jobs, each in its own folder, with a
    manifest of their status; rerunning into the same --out runs only what is not done. Ends with report.md
    comparing the training jobs."""
    _positive(workers=workers)
    _setup(verbose)
    target = out or Path("runs") / config.stem
    try:
        parsed = load_config(config, SweepConfig)
        summary = run_sweep(parsed, target, backend, workers, address, device)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((target / "report.md").read_text(encoding="utf-8"))
    if summary["jobs"]["failed"]:
        fail(f"{summary['jobs']['failed']} job(s) failed; see {target / 'manifest.json'}")


@app.command()
def plot(
    paths: Annotated[list[Path], typer.Argument(help="a comparison folder, or run folders written by train")],
    out: Annotated[Path | None, typer.Option(help="PNG for run folders; folder for a comparison [in place]")] = None,
    title: Annotated[str, typer.Option(help="title of a learning-curve plot")] = "evaluation return while training",
) -> None:
    """Redraw a comparison's figures and report from its scores.json, or plot the learning curves of training
    runs (runs of one algorithm and budget are seeds of one line, with a 95 % CI band)."""
    if len(paths) == 1 and (paths[0] / "scores.json").is_file():
        folder = paths[0]
        recorded = RunDirectory(folder).recorded() or {}
        config = _validate(CompareConfig, recorded.get("config", {}), f"config in {str(folder)!r}/run.json")
        data = json.loads((folder / "scores.json").read_text(encoding="utf-8"))
        target = out or folder
        target.mkdir(parents=True, exist_ok=True)
        write_report(target, config, data["scores"], data["curves"], data.get("minutes"))
        typer.echo(f"figures and report.md written to {target}", err=True)
        return
    curves: dict[str, list] = {}
    for path in paths:
        recorded = RunDirectory(path).recorded() if path.is_dir() else None
        if recorded is None or not (path / "evaluations.csv").is_file():
            fail(f"{str(path)!r} is neither a comparison (scores.json) nor a training run (run.json, evaluations.csv)")
        run_config = recorded["config"]
        label = f"{run_config['algo'].upper()} ({run_config['n_timesteps']:,} steps)"
        curves.setdefault(label, []).append(read_curve(path))
    target = out or Path("learning_curves.png")
    if target.suffix.lower() != ".png":
        fail(f"--out {str(target)!r} must name a .png file when plotting training runs")
    plot_learning_curves({n: [tuple(map(np.asarray, c)) for c in runs] for n, runs in curves.items()}, target, title)
    typer.echo(f"learning curves written to {target}", err=True)


@app.command()
def bench(
    env: Annotated[str, typer.Option(help="registered env id")] = "shopgym/Marketing-v0",
    num_envs: Annotated[list[int] | None, typer.Option(help="shoppers per step (repeat the flag for several)")] = None,
    seconds: Annotated[float, typer.Option(help="timed seconds per measurement")] = 2.0,
    sync: Annotated[bool, typer.Option(help="also time a SyncVectorEnv of single envs at each size")] = False,
) -> None:
    """Measure simulator throughput (shopper-steps per second) with random valid actions and print JSON.
    The full benchmark behind docs/benchmarks.md is `make bench`."""
    if env not in shopgym.ENV_IDS:
        fail(f"unknown env id {env!r}; known: {', '.join(sorted(shopgym.ENV_IDS))}")
    sizes = num_envs or [1024]
    _positive(**{"num_envs": min(sizes)})
    if not 0 < seconds <= 600:
        fail(f"--seconds must be in (0, 600], got {seconds}")
    tune_malloc()
    results = []
    for n in sizes:
        row = {"env_id": env, "num_envs": n, "shopper_steps_per_second": round(vector_throughput(env, n, seconds))}
        if sync:
            row["sync_vector_env"] = round(vector_throughput(env, n, seconds, mode="sync"))
        results.append(row)
    typer.echo(json.dumps(results, indent=1))


if __name__ == "__main__":
    sys.exit(app(prog_name="shopgym"))
