"""The ``shopgym`` command: ``quickstart`` (the main job), ``train``, ``eval``, ``compare``, ``transfer``,
``continual``, ``sweep``, ``tune``, ``plot``, ``bench``, ``data`` (``fetch``, ``list``, ``describe``),
``calibrate`` and ``fidelity``.

Bad input (unknown env id, algorithm or scenario, a negative budget or seed, a device that is not there, an
unreadable config or saved model, an ``--out`` that is a file, a flag that does not parse) prints one line
``shopgym: error: …`` naming the problem and exits with status 2, without a traceback; a misspelt name gets the
closest known one suggested. Long work shows a progress bar with an ETA when stderr is a terminal and ``CI`` is
not set; ``--verbose`` adds a line per evaluation and checkpoint.

torch, stable-baselines3, matplotlib and scipy are imported inside the commands that use them, so ``--help``
and bad input answer at once.

(Longer than the house's 350 lines because each subcommand is one thin function over the library, with its flags;
the data and calibration commands are in ``cli_data.py``.)
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

from shopgym.agents.sb3_options import DEVICES, parse_device, resolve_device
from shopgym.experiments.cli_checks import fail, model_options, parse_flags, with_options
from shopgym.experiments.cli_data import calibrate, data_app, fidelity
from shopgym.experiments.command_configs import QUICKSTART, BenchConfig, JobsConfig, QuickstartConfig
from shopgym.experiments.configs import (
    CompareConfig,
    EvalConfig,
    PlotConfig,
    StudyConfig,
    SweepConfig,
    TrainConfig,
    load_config,
)
from shopgym.experiments.runs import RunDirectory, RunError
from shopgym.experiments.suites import SUITES, Suite
from shopgym.params import ParameterError, format_validation_error
from shopgym.perf import tune_malloc


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
Hyperparams = Annotated[Path | None, typer.Option(help="hyperparameter YAML (default: agents/hyperparams/<algo>.yml)")]


def _setup(verbose: bool) -> bool:
    """Configure logging; returns whether to draw progress bars."""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format="%(message)s", force=True)
    for noisy in ("matplotlib", "PIL"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    tune_malloc()
    return verbose or (sys.stderr.isatty() and not os.environ.get("CI"))


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


def _device(name: str) -> str:
    """A ``--device`` checked here: its name, and that it exists (``auto`` is resolved, and its choice logged,
    where the first agent is built)."""
    try:
        return name if parse_device(name) == "auto" else resolve_device(name)
    except ParameterError as error:
        fail(str(error))


@app.command()
@with_options(
    *model_options(
        TrainConfig, exclude=("train_mix", "init_from"), helps={"scenario": "the market: preset name or YAML path"}
    )
)
def train(
    ctx: typer.Context,
    config: Annotated[Path | None, typer.Option(help="YAML run config (experiments/configs/train_*.yml)")] = None,
    *,
    hyperparams: Hyperparams = None,
    device: Device = "auto",
    out: Annotated[Path, typer.Option(help="run directory to create (or to continue with --resume)")] = Path(
        "runs/train"
    ),
    resume: Annotated[bool, typer.Option(help="continue the killed run in --out from its last checkpoint")] = False,
    tensorboard: Annotated[bool, typer.Option(help="also write TensorBoard events to OUT/tensorboard")] = False,
    verbose: Verbose = False,
    **flags: Any,
) -> None:
    """Train one SB3 agent into a run directory.

    The run directory gets run.json, evaluations.csv, progress.csv, episodes.csv, checkpoint/, model/ and
    summary.json (written last). Every TrainConfig field but train_mix and init_from (set those in --config) is a
    flag; flags given override --config; the defaults shown are TrainConfig's."""
    given = {k: v for k, v in flags.items() if ctx.get_parameter_source(k).name == "COMMANDLINE"}
    from_flags = parse_flags(TrainConfig, given)
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
        run_config = from_flags if config is None else load_config(config, TrainConfig, given)
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
@with_options(*model_options(EvalConfig))
def evaluate_model(
    path: Annotated[
        Path | None,
        typer.Argument(
            help="a run folder written by train (its model/ is evaluated) or a model folder", metavar="RUN_OR_MODEL"
        ),
    ] = None,
    *,
    model: Annotated[Path | None, typer.Option(help="a model folder (RUN/model), instead of the argument")] = None,
    device: Device = "auto",
    **flags: Any,
) -> None:
    """Evaluate a saved agent (a run or model folder) on fresh shoppers and print JSON.

    The JSON holds the market (name and sha256), the mean return with its 95 % interval, the interquartile mean
    and the KPIs. The market saved with the model is used unless --scenario names another, so moving or editing
    a scenario file after training changes nothing."""
    if (path is None) == (model is None):
        fail("name the saved agent once: shopgym eval RUN_OR_MODEL_FOLDER (or --model MODEL_FOLDER)")
    options: EvalConfig = parse_flags(EvalConfig, flags)
    env_id, market, n_shoppers, seed = options.env, options.scenario, options.n_shoppers, options.seed
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


def _run_suite(
    suite: Suite, load: Callable[[], BaseModel], out: Path, device: str, progress: bool, **options: Any
) -> None:
    """Run (or continue) ``suite`` on the config that ``load`` returns into ``out`` and print its report; a bad
    config or folder is the one-line error."""
    try:
        summary = suite.run(load(), out, device, progress_bar=progress, **options)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((out / "report.md").read_text(encoding="utf-8"))
    best = f" (best baseline: {summary['best_baseline']})" if summary.get("best_baseline") else ""
    typer.echo(f"report: {out / 'report.md'}{best}", err=True)


@app.command()
@with_options(*model_options(QuickstartConfig))
def quickstart(
    out: Annotated[Path | None, typer.Option(help="report folder (default: runs/quickstart-<time>)")] = None,
    *,
    device: Device = "auto",
    verbose: Verbose = False,
    **flags: Any,
) -> None:
    """The main job: PPO and DQN against baselines and the myopic oracle on Marketing-v1, in a few CPU minutes.

    Trains PPO and DQN, compares them with baselines and the myopic oracle on the same shoppers, and writes
    report.md with plots. The config is experiments/configs/quickstart.yml, whose values are the defaults shown."""
    options: QuickstartConfig = parse_flags(QuickstartConfig, flags)
    device = _device(device)
    progress = _setup(verbose)
    budgets = {"ppo": options.ppo_steps, "dqn": options.dqn_steps}
    agents = [a.model_copy(update={"n_timesteps": budgets.get(a.algo, a.n_timesteps)}) for a in QUICKSTART.agents]
    overrides = {**options.model_dump(exclude={"ppo_steps", "dqn_steps"}), "agents": agents}
    config = _validate(CompareConfig, {**QUICKSTART.model_dump(), **overrides}, "quickstart flags")
    target = out or Path("runs") / time.strftime("quickstart-%Y%m%d-%H%M%S")
    _run_suite(SUITES["compare"], lambda: config, target, device, progress)


def _suite_command(suite: Suite) -> Callable[..., None]:
    """The command of ``suite``: a config YAML, ``--out``, one override flag per field in ``suite.overrides``
    (help from the config model's description), ``--hyperparams`` where the runner takes one, ``--device`` and
    ``--verbose``. It runs (or continues) the suite and prints its report."""

    def command(
        config: Path,
        out: Path | None,
        device: str,
        verbose: bool,
        hyperparams: Path | None = None,
        **overrides: int | None,
    ) -> None:
        overrides = {name: value for name, value in overrides.items() if value is not None}
        parse_flags(suite.config, overrides)
        device = _device(device)
        progress = _setup(verbose)
        target = out or Path("runs") / time.strftime(f"{config.stem}-%Y%m%d-%H%M%S")
        options = {"hyperparams": hyperparams} if suite.hyperparams else {}
        _run_suite(suite, lambda: load_config(config, suite.config, overrides), target, device, progress, **options)

    keyword = inspect.Parameter.KEYWORD_ONLY
    parameters = [
        inspect.Parameter(
            "config",
            inspect.Parameter.POSITIONAL_OR_KEYWORD,
            annotation=Annotated[Path, typer.Argument(help=f"{suite.name} YAML (experiments/configs/*.yml)")],
        ),
        inspect.Parameter(
            "out",
            keyword,
            default=None,
            annotation=Annotated[Path | None, typer.Option(help="result folder (default: runs/<config>-<time>)")],
        ),
        *model_options(suite.config, suite.overrides, override=True),
    ]
    if suite.hyperparams:
        parameters.append(inspect.Parameter("hyperparams", keyword, default=None, annotation=Hyperparams))
    parameters += [
        inspect.Parameter("device", keyword, default="auto", annotation=Device),
        inspect.Parameter("verbose", keyword, default=False, annotation=Verbose),
    ]
    command.__signature__ = inspect.Signature(parameters)  # what typer reads the flags from
    command.__doc__ = suite.help
    command.__name__ = suite.name
    return command


for _suite in SUITES.values():
    app.command(_suite.name)(_suite_command(_suite))


@app.command()
@with_options(*model_options(JobsConfig))
def sweep(
    config: Annotated[Path, typer.Argument(help="sweep YAML (experiments/configs/sweep_*.yml)")],
    out: Annotated[Path | None, typer.Option(help="sweep folder (default: runs/<config>)")] = None,
    *,
    device: Annotated[
        str, typer.Option(help=f"torch device of every job: {DEVICES} (checked here for the local backend)")
    ] = "cpu",
    verbose: Verbose = False,
    **flags: Any,
) -> None:
    """Run a grid of training runs (and whole suites) as jobs on local processes or Ray.

    Each job writes its own folder; a manifest keeps their status, and rerunning into the same --out runs only
    what is not done. Ends with report.md comparing the training jobs."""
    jobs: JobsConfig = parse_flags(JobsConfig, flags)
    if jobs.backend == "local":
        device = _device(device)
    else:  # the jobs run on the cluster's machines, which may have devices this one lacks
        _known(parse_device, device)
    _setup(verbose)
    from shopgym.experiments.sweep import run_sweep

    target = out or Path("runs") / config.stem
    try:
        parsed = load_config(config, SweepConfig)
        summary = run_sweep(parsed, target, jobs.backend, jobs.workers, jobs.address, device)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((target / "report.md").read_text(encoding="utf-8"))
    if summary["jobs"]["failed"]:
        fail(f"{summary['jobs']['failed']} job(s) failed; see {target / 'manifest.json'}")


@app.command()
@with_options(*model_options(StudyConfig))
def tune(
    config: Annotated[Path, typer.Argument(help="search YAML (experiments/configs/tune_*.yml)")],
    *,
    out: Annotated[Path | None, typer.Option(help="search folder (default: runs/<config>)")] = None,
    device: Device = "auto",
    verbose: Verbose = False,
    **flags: Any,
) -> None:
    """Search hyperparameters with Optuna (TPE, median pruning on the evaluation curve).

    Writes best_hyperparams.yml (for train --hyperparams), trials.csv, search.png and report.md. Rerunning into
    the same --out continues a killed search; a larger --trials extends a finished one."""
    study: StudyConfig = parse_flags(StudyConfig, flags)
    device = _device(device)
    _setup(verbose)
    if importlib.util.find_spec("optuna") is None:
        fail("tune needs Optuna: pip install 'shopgym[tune]'")
    from shopgym.experiments.tune import TuneConfig, run_tune

    target = out or Path("runs") / config.stem
    try:
        parsed = load_config(config, TuneConfig)
        run_tune(parsed, target, study.trials, study.storage, study.study_name, device)
    except (ParameterError, RunError, ValueError) as error:
        fail(str(error))
    typer.echo((target / "report.md").read_text(encoding="utf-8"))
    typer.echo(f"best hyperparameters: {target / 'best_hyperparams.yml'}", err=True)


@app.command()
@with_options(*model_options(PlotConfig))
def plot(
    paths: Annotated[list[Path], typer.Argument(help="a comparison folder, or run folders written by train")],
    *,
    out: Annotated[
        Path | None,
        typer.Option(
            help="PNG for run folders (a folder with --split), folder for a comparison (default: beside the runs)"
        ),
    ] = None,
    **flags: Any,
) -> None:
    """Redraw a comparison's figures and report from its scores.json, or plot the learning curves of training
    runs: one figure per env × scenario, one line per algorithm × budget whose runs are its seeds (a 95 %
    bootstrap band over seeds from 3 seeds on), written beside the runs unless --out says where."""
    options: PlotConfig = parse_flags(PlotConfig, flags)
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
        written, notes = plot_training_runs(paths, out, options.title, options.split)
    except (RunError, ValueError) as error:
        fail(str(error))
    except OSError as error:
        fail(f"cannot write the figure: {error}")
    for note in notes:
        typer.echo(f"shopgym: note: {note}", err=True)
    for path in written:
        typer.echo(f"learning curves written to {path}", err=True)


@app.command()
@with_options(*model_options(BenchConfig))
def bench(**flags: Any) -> None:
    """Measure simulator throughput (shopper-steps per second) and print JSON.

    Steps the batched env with random valid actions. The full benchmark behind docs/benchmarks.md is
    `make bench`."""
    options: BenchConfig = parse_flags(BenchConfig, flags)
    tune_malloc()
    from shopgym.experiments.bench import vector_throughput

    results = []
    try:
        for n in options.num_envs:
            rate = round(vector_throughput(options.env, n, options.seconds))
            row = {"env_id": options.env, "num_envs": n, "shopper_steps_per_second": rate}
            if options.sync:
                row["sync_vector_env"] = round(vector_throughput(options.env, n, options.seconds, mode="sync"))
            results.append(row)
    except ValueError as error:  # the env refuses a size it cannot hold
        fail(str(error))
    except MemoryError as error:
        fail(f"not enough memory for --num-envs {n}: {error}")
    typer.echo(json.dumps(results, indent=1))


app.add_typer(data_app, name="data")
app.command()(calibrate)
app.command()(fidelity)


def _reflowed(text: str) -> str:
    """Docstring paragraphs as single lines: typer keeps a docstring's line breaks, so help would not wrap them
    to the terminal."""
    return "\n\n".join(" ".join(paragraph.split()) for paragraph in inspect.cleandoc(text).split("\n\n"))


for _command in [*app.registered_commands, *data_app.registered_commands]:
    _command.help = _command.help or _reflowed(_command.callback.__doc__ or "")


if __name__ == "__main__":
    sys.exit(app(prog_name="shopgym"))
