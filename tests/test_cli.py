"""The `shopgym` command: smoke runs of every subcommand with tiny budgets, and one clear line for bad input."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from suite_fixtures import check_against_fixture

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = ["quickstart", "train", "eval", "compare", "transfer", "continual", "sweep", "tune", "plot", "bench", "data"]
TINY_PPO = "default:\n  n_envs: 16\n  n_steps: 16\n  batch_size: 64\n  n_epochs: 1\n"


def shopgym(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "shopgym.experiments.cli", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600, env=env)


def tiny_train(out: Path, *extra: str) -> subprocess.CompletedProcess:
    hyperparams = out.parent / "tiny_ppo.yml"
    hyperparams.write_text(TINY_PPO)
    return shopgym(
        "train",
        "--algo",
        "ppo",
        "--env",
        "shopgym/Promote-v1",
        "--n-timesteps",
        "1024",
        "--eval-freq",
        "512",
        "--n-eval",
        "16",
        "--hyperparams",
        str(hyperparams),
        "--device",
        "cpu",
        "--out",
        str(out),
        *extra,
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_help(command):
    result = shopgym(command, "--help")
    assert result.returncode == 0 and "--" in result.stdout


def test_train_eval_plot(tmp_path):
    out = tmp_path / "run"
    result = tiny_train(out)
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_steps"] == 1024 and summary["algo"] == "ppo" and summary["resumes"] == 0
    assert set(summary) >= {"final_mean_return", "final_kpis", "train_seconds", "episodes", "device"}
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["n_timesteps"] == 1024 and run["hyperparams"]["n_envs"] == 16
    assert "numpy" in run["versions"] and run["command"] and run["git_revision"]
    evaluations = (out / "evaluations.csv").read_text().splitlines()
    assert evaluations[0].startswith("env_steps,") and [r.split(",")[0] for r in evaluations[1:]] == [
        "0",
        "512",
        "1024",
    ]
    episodes = (out / "episodes.csv").read_text().splitlines()
    assert episodes[0] == "env_steps,return,length" and len(episodes) - 1 == summary["episodes"] > 0
    assert (out / "progress.csv").read_text().splitlines()[-1].startswith("1024,")

    result = shopgym("eval", "--model", str(out / "model"), "--n-shoppers", "16", "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "profit_per_shopper" in json.loads(result.stdout)

    picture = tmp_path / "curves.png"
    result = shopgym("plot", str(out), "--out", str(picture))
    assert result.returncode == 0, result.stderr[-2000:]
    assert picture.stat().st_size > 10_000

    again = tiny_train(out)
    assert again.returncode == 2 and "already holds a finished run" in again.stderr


@pytest.mark.skipif(importlib.util.find_spec("tensorboard") is None, reason="the tensorboard extra is not installed")
def test_tensorboard_events_and_verbose_logs(tmp_path):
    out = tmp_path / "run"
    result = tiny_train(out, "--tensorboard", "--verbose")
    assert result.returncode == 0, result.stderr[-2000:]
    assert list((out / "tensorboard").rglob("events.out.tfevents.*"))
    assert "ppo seed 0, 512 env steps: return" in result.stderr


def test_quickstart_tiny_then_plot(tmp_path):
    out = tmp_path / "qs"
    result = shopgym(
        "quickstart",
        "--out",
        str(out),
        "--seeds",
        "1",
        "--ppo-steps",
        "2048",
        "--dqn-steps",
        "1024",
        "--eval-freq",
        "1024",
        "--n-eval",
        "32",
        "--device",
        "cpu",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report = (out / "report.md").read_text()
    for name in ("PPO (2,048 steps)", "DQN (1,024 steps)", "LinUCB", "myopic oracle", "random", "P(> best baseline)"):
        assert name in report
    assert_readme_table_matches(report)
    summary = json.loads((out / "summary.json").read_text())
    check_against_fixture("quickstart_tiny", summary, report)
    assert summary["oracle"] == "myopic oracle" and summary["best_baseline"] != "myopic oracle"
    assert summary["policies"]["never discount"]["promo_cost_per_incremental_sale"] is None
    pictures = ("comparison.png", "learning_curves.png", "improvement.png")
    for picture in pictures:
        assert (out / picture).stat().st_size > 10_000
        (out / picture).unlink()
    result = shopgym("plot", str(out))
    assert result.returncode == 0, result.stderr[-2000:]
    assert all((out / picture).stat().st_size > 10_000 for picture in pictures)
    again = shopgym("quickstart", "--out", str(out), "--seeds", "1")
    assert again.returncode == 2 and "already holds a finished comparison" in again.stderr


def assert_readme_table_matches(report: str) -> None:
    """The README's quickstart table (benchmarks/readme_quickstart.py) has the report's columns and rows (the
    budgets aside: the README's run uses the full ones)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from readme_quickstart import BEGIN, END, report_table

    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index(BEGIN) : readme.index(END)]
    ours, _ = report_table(report)
    theirs, _ = report_table(block)
    assert theirs[:2] == ours[:2], "the README table's columns differ from the report's"

    def rows(table: list[str]) -> set[str]:
        return {re.sub(r"\([\d,]+ steps\)", "(N steps)", line.split("|")[1].strip()) for line in table[2:]}

    assert rows(theirs) == rows(ours), "the README table's rows differ from the report's"


def test_compare_config_without_agents(tmp_path):
    config = tmp_path / "baselines.yml"
    config.write_text(
        "env: shopgym/Promote-v1\nseeds: 2\nn_eval: 64\nbaselines: [random, never_discount, thompson]\n"
        "reference: never discount\n"
    )
    result = shopgym("compare", str(config), "--out", str(tmp_path / "cmp"))
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "cmp" / "summary.json").read_text())
    assert sorted(summary["ranking"]) == ["never discount", "random", "thompson"]


def test_bench_tiny():
    result = shopgym("bench", "--num-envs", "8", "--num-envs", "64", "--seconds", "0.2")
    assert result.returncode == 0, result.stderr[-2000:]
    rows = json.loads(result.stdout)
    assert [r["num_envs"] for r in rows] == [8, 64] and all(r["shopper_steps_per_second"] > 0 for r in rows)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--env", "CartPole-v1"], "unknown env id 'CartPole-v1'"),
        (["train", "--algo", "sac"], "unknown algorithm 'sac'"),
        (["train", "--n-timesteps", "-5"], "--n-timesteps must be ≥ 1, got -5"),
        (["train", "--scenario", "atlantis", "--n-timesteps", "10"], "unknown scenario 'atlantis'"),
        (["train", "--config", "/nonexistent.yml"], "cannot read config '/nonexistent.yml'"),
        (["train", "--resume"], "holds no run to resume"),
        (["train", "--resume", "--seed", "3"], "--resume continues the run with the config it recorded; drop --seed"),
        (["quickstart", "--seeds", "0"], "--seeds must be ≥ 1, got 0"),
        (["compare", "/nonexistent.yml"], "cannot read config '/nonexistent.yml'"),
        (["transfer", "/nonexistent.yml"], "cannot read config '/nonexistent.yml'"),
        (["continual", "/nonexistent.yml"], "cannot read config '/nonexistent.yml'"),
        (["sweep", "/nonexistent.yml"], "cannot read config '/nonexistent.yml'"),
        (["bench", "--env", "nope"], "unknown env id 'nope'"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    result = (
        shopgym(*args, "--out", str(tmp_path / "x"))
        if args[0] in ("train", "quickstart", "compare")
        else shopgym(*args)
    )
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x" / "summary.json").exists()


def test_bad_scenario_leaves_no_run_behind(tmp_path):
    result = shopgym("train", "--scenario", "atlantis", "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and not (tmp_path / "x").exists()


def test_config_typo_names_the_key_and_the_allowed_ones(tmp_path):
    config = tmp_path / "typo.yml"
    config.write_text("env: shopgym/Marketing-v1\nsedes: 3\nbaselines: [random]\n")
    result = shopgym("compare", str(config), "--out", str(tmp_path / "x"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "sedes: unknown key; allowed: env, scenario, seeds" in result.stderr


def test_out_that_is_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("not a folder")
    for command in (["train", "--n-timesteps", "10"], ["quickstart"]):
        result = shopgym(*command, "--out", str(target))
        assert result.returncode == 2 and "is a file, not a folder" in result.stderr


def test_eval_of_a_folder_without_an_agent(tmp_path):
    result = shopgym("eval", "--model", str(tmp_path))
    assert result.returncode == 2 and "holds no saved agent" in result.stderr


def test_continual_command_tiny(tmp_path):
    config = tmp_path / "continual.yml"
    config.write_text(
        "seeds: 1\nscenarios: [default, recession]\nsteps_per_stage: 512\nn_eval: 16\nstrategies: [naive, rehearsal]\n"
    )
    hyperparams = tmp_path / "tiny_ppo.yml"
    hyperparams.write_text(TINY_PPO)
    out = tmp_path / "continual"
    result = shopgym("continual", str(config), "--out", str(out), "--hyperparams", str(hyperparams), "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["strategies"]) == {"naive", "rehearsal"}
    assert len(summary["strategies"]["naive"]["R"][0]) == 2  # one seed's 2 × 2 matrix
    assert "## Findings" in result.stdout and (out / "matrices.png").stat().st_size > 10_000


@pytest.mark.parametrize("name", ["compare", "transfer", "continual"])
def test_suite_commands_are_built_from_the_suite_registry(name):
    """Each suite's command offers exactly its registry entry's overrides, with the config model's descriptions as
    help (issue 11: no flag or help text declared twice)."""
    import typer.main

    from shopgym.experiments.cli import app
    from shopgym.experiments.suites import SUITES

    suite = SUITES[name]
    command = typer.main.get_command(app).commands[name]
    options = {p.name: p for p in command.params if p.param_type_name == "option"}
    expected = {*suite.overrides, "out", "device", "verbose", *(["hyperparams"] if suite.hyperparams else [])}
    assert set(options) == expected
    for field in suite.overrides:
        assert options[field].help == f"override: {suite.config.model_fields[field].description}"
    assert command.help.startswith(suite.help.split("\n")[0])


@pytest.mark.parametrize(
    ("name", "model", "left_out"),
    [
        ("train", "TrainConfig", {"train_mix", "init_from"}),
        ("eval", "EvalConfig", set()),
        ("tune", "StudyConfig", set()),
        ("plot", "PlotConfig", set()),
    ],
)
def test_command_flags_are_their_config_models_fields(name, model, left_out):
    """train, eval, tune and plot offer one flag per field of their config model, with its default and its
    description as help (issue 11: a field added to the model is a flag, no default copied)."""
    import typer.main

    from shopgym.experiments import configs
    from shopgym.experiments.cli import app

    fields = getattr(configs, model).model_fields
    command = typer.main.get_command(app).commands[name]
    options = {p.name: p for p in command.params if p.param_type_name == "option"}
    assert not left_out & set(options)
    for field in set(fields) - left_out:
        assert options[field].default == fields[field].default
        assert options[field].help == fields[field].description or (name, field) == ("train", "scenario")


@pytest.mark.parametrize(
    ("path", "model"),
    [
        (["quickstart"], "QuickstartConfig"),
        (["sweep"], "JobsConfig"),
        (["bench"], "BenchConfig"),
        (["data", "fetch"], "FetchConfig"),
        (["data", "describe"], "DescribeConfig"),
        (["calibrate"], "CalibrateConfig"),
        (["fidelity"], "FidelityConfig"),
    ],
)
def test_commands_without_a_config_file_take_their_flags_from_command_configs(path, model):
    """The flags of quickstart, sweep, bench, the data commands, calibrate and fidelity are the fields of their
    model in command_configs: its default (shown in --help) and its description as help (issue 11)."""
    import typer.main
    from typer.testing import CliRunner

    from shopgym.experiments import command_configs
    from shopgym.experiments.cli import app

    command = typer.main.get_command(app)
    for name in path:
        command = command.commands[name]
    options = {p.name: p for p in command.params if p.param_type_name == "option"}
    shown = " ".join(CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "300"}).stdout.split())
    for name, field in getattr(command_configs, model).model_fields.items():
        default = field.get_default(call_default_factory=True)
        assert options[name].default == default and options[name].help == field.description
        if default not in (None, False):
            shown_default = ", ".join(map(str, default)) if isinstance(default, list) else default
            assert f"{field.description} [default: {shown_default}]" in shown


def test_a_description_in_brackets_shows_in_help():
    """typer renders help as rich markup: model_options escapes it, so "[…]" in a description is not swallowed."""
    import typer
    from pydantic import BaseModel, Field
    from typer.testing import CliRunner

    from shopgym.experiments.cli_checks import model_options, with_options

    class Bracketed(BaseModel):
        level: int = Field(1, description="price level [low, mid or high]")

    app = typer.Typer()

    @app.command()
    @with_options(*model_options(Bracketed))
    def run(**flags: object) -> None:
        """A command with one bracketed flag."""

    shown = " ".join(CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"}).stdout.split())
    assert "price level [low, mid or high]" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["quickstart", "--seeds", "5000"], "--seeds must be ≤ 1000, got 5000"),
        (["quickstart", "--dqn-steps", "0"], "--dqn-steps must be ≥ 1, got 0"),
        (["sweep", "config.yml", "--workers", "0"], "--workers must be ≥ 1, got 0"),
        (["bench", "--num-envs", "8", "--num-envs", "0"], "--num-envs must be ≥ 1, got 0"),
        (["bench", "--seconds", "601"], "--seconds must be ≤ 600.0, got 601.0"),
        (["data", "fetch", "obd", "--timeout", "-1"], "--timeout must be > 0.0, got -1.0"),
        (["data", "describe", "tafeng", "--out", "x", "--bootstrap", "1"], "--bootstrap must be ≥ 2, got 1"),
        (["data", "describe", "tafeng", "--out", "x", "--seed", "-1"], "--seed must be ≥ 0, got -1"),
        (["calibrate", "obd", "--out", "x.yml", "--seed", "-1"], "--seed must be ≥ 0, got -1"),
        (["calibrate", "tafeng", "--out", "x.yml", "--steps", "-1"], "--steps must be ≥ 0, got -1"),
        (["fidelity", "tafeng", "tafeng", "--out", "r", "--replicates", "0"], "--replicates must be ≥ 2, got 0"),
        (["fidelity", "zozotown", "obd", "--out", "r", "--bootstrap", "1"], "--bootstrap must be ≥ 2, got 1"),
    ],
)
def test_a_bad_flag_value_names_the_flag(args, message):
    from typer.testing import CliRunner

    from shopgym.experiments.cli import app

    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2 and result.stderr.strip() == f"shopgym: error: {message}"


def test_calibrate_and_fidelity_defaults_per_data_set_come_from_one_mapping(monkeypatch):
    """--name, --replicates and --bootstrap default per data set: their --help lists each data set's value, written
    from DATA_DEFAULTS, and a flag left out takes it from there; a flag given stands (issue 11: no default copied
    into help text or code)."""
    import typer.main
    from typer.testing import CliRunner

    from shopgym.calibration import obd, tafeng, tafeng_fidelity
    from shopgym.experiments.cli import app
    from shopgym.experiments.command_configs import DATA_DEFAULTS, DataDefaults

    commands = typer.main.get_command(app).commands
    for field in DataDefaults._fields:
        name = "calibrate" if field == "name" else "fidelity"
        option = next(p for p in commands[name].params if p.name == field)
        shown = ", ".join(f"{getattr(defaults, field)} on {data}" for data, defaults in DATA_DEFAULTS.items())
        assert option.default is None and option.help.endswith(f" (default: {shown})")
        page = " ".join(CliRunner().invoke(app, [name, "--help"], env={"COLUMNS": "300"}).stdout.split())
        assert option.help in page

    called = []

    def stop(*args):
        called.append(args)
        raise OSError("stopped before the work")

    for module, function in [(obd, "calibrate_obd"), (tafeng, "calibrate_tafeng"), (obd, "obd_fidelity")]:
        monkeypatch.setattr(module, function, stop)
    monkeypatch.setattr(tafeng_fidelity, "tafeng_fidelity", stop)
    # each command line, and where its data set's function takes the name or the replicates and bootstrap
    runs = [
        (["calibrate", "obd"], ["--name", "mine"], slice(1, 2)),
        (["calibrate", "tafeng"], ["--name", "mine"], slice(0, 1)),
        (["fidelity", "default", "obd"], ["--replicates", "3", "--bootstrap", "4"], slice(4, 6)),
        (["fidelity", "default", "tafeng"], ["--replicates", "3", "--bootstrap", "4"], slice(3, 5)),
    ]
    for line, given, taken in runs:
        defaults = DATA_DEFAULTS[line[-1]]
        expected = {(): defaults[:1] if line[0] == "calibrate" else defaults[1:], tuple(given): tuple(given[1::2])}
        for flags, values in expected.items():
            result = CliRunner().invoke(app, [*line, "--out", "nowhere/x", *flags])
            assert result.stderr.strip() == "shopgym: error: stopped before the work"
            assert tuple(map(str, called.pop()[taken])) == tuple(map(str, values))
