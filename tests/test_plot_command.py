"""`shopgym plot` of training runs: one figure per env × scenario, one line per algorithm × budget whose runs are
its seeds, the same seed never counted twice, figures beside the runs, bands that say what they are, and one
clear line for a folder it cannot read. Run folders are written by hand (run.json, evaluations.csv): plotting
reads nothing else; the command runs in-process (typer's CliRunner) but for one subprocess smoke run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import Result
from typer.testing import CliRunner

import shopgym.experiments.compare as compare
import shopgym.experiments.plots as plots
from shopgym.experiments.cli import app
from shopgym.experiments.configs import TrainConfig
from shopgym.experiments.plots import plot_learning_curves
from shopgym.experiments.runs import RunError

ROOT = Path(__file__).resolve().parents[1]
HYPERPARAMS = {"n_envs": 16, "n_steps": 16, "batch_size": 64, "n_epochs": 1}


def fake_run(path: Path, seed: int = 0, shift: float = 0.0, **config: object) -> Path:
    """A finished-looking training run: run.json as `train` writes it and three evaluations."""
    settings = {"env": "shopgym/Marketing-v1", "n_timesteps": 512, "eval_freq": 256, "n_eval": 50, **config}
    path.mkdir(parents=True)
    recorded = {"config": TrainConfig(seed=seed, **settings).model_dump(), "hyperparams": HYPERPARAMS}
    (path / "run.json").write_text(json.dumps(recorded))
    rows = [f"{step},{value + shift + seed},1.5" for step, value in ((0, 10.0), (256, 20.0), (512, 30.0))]
    (path / "evaluations.csv").write_text("env_steps,mean_return,ci95_half_width\n" + "\n".join(rows) + "\n")
    return path


def plot(*args: str) -> Result:
    """``shopgym plot ARGS`` in this process."""
    return CliRunner().invoke(app, ["plot", *args])


def one_line_error(result: Result | subprocess.CompletedProcess, *fragments: str) -> None:
    code = result.returncode if isinstance(result, subprocess.CompletedProcess) else result.exit_code
    assert code == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr


@pytest.fixture
def drawn(monkeypatch: pytest.MonkeyPatch) -> list[dict]:
    """The curves handed to plot_learning_curves, one dict per figure (nothing is drawn)."""
    figures: list[dict] = []
    monkeypatch.setattr(compare, "plot_learning_curves", lambda curves, path, title: figures.append(curves))
    return figures


def test_plot_refuses_runs_of_different_envs_in_one_figure(tmp_path):
    fake_run(tmp_path / "runs" / "marketing-0")
    fake_run(tmp_path / "runs" / "marketing-1", seed=1)
    fake_run(tmp_path / "runs" / "promote-0", env="shopgym/Promote-v1")
    runs = sorted(str(p) for p in (tmp_path / "runs").iterdir())
    command = [sys.executable, "-m", "shopgym.experiments.cli", "plot", *runs]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    one_line_error(result, "2 env × scenario pairs", "shopgym/Marketing-v1", "shopgym/Promote-v1", "--split")
    assert not list(tmp_path.rglob("*.png"))


def test_plot_refuses_runs_of_different_scenarios_unless_split(tmp_path, drawn):
    first = fake_run(tmp_path / "default-0")
    second = fake_run(tmp_path / "fashion-0", scenario="fashion")
    with pytest.raises(RunError, match="2 env × scenario pairs"):
        compare.plot_training_runs([first, second], None, "curves")
    written, _ = compare.plot_training_runs([first, second], None, "curves", split=True)
    assert [p.name for p in written] == [
        "learning_curves_marketing-v1_default.png",
        "learning_curves_marketing-v1_fashion.png",
    ]
    assert [list(curves) for curves in drawn] == [["PPO (512 steps)"], ["PPO (512 steps)"]]


def test_plot_counts_an_identical_seed_once(tmp_path, drawn):
    runs = [fake_run(tmp_path / "a"), fake_run(tmp_path / "b"), fake_run(tmp_path / "c", seed=1)]
    _, notes = compare.plot_training_runs(runs, None, "curves")
    assert len(drawn) == 1 and len(drawn[0]["PPO (512 steps)"]) == 2  # seeds 0 and 1, not 0, 0 and 1
    assert notes == [f"{str(runs[1])!r} repeats {str(runs[0])!r} (same config and seed): counted once"]


def test_plot_groups_lines_by_algorithm_and_budget(tmp_path, drawn):
    runs = [
        fake_run(tmp_path / "ppo-0"),
        fake_run(tmp_path / "ppo-1", seed=1),
        fake_run(tmp_path / "ppo-long", n_timesteps=1024),
        fake_run(tmp_path / "dqn-0", algo="dqn"),
    ]
    compare.plot_training_runs(runs, None, "curves")
    assert {label: len(seeds) for label, seeds in drawn[0].items()} == {
        "PPO (512 steps)": 2,
        "PPO (1,024 steps)": 1,
        "DQN (512 steps)": 1,
    }


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"seed": 0, "n_eval": 32}, "differ in n_eval (50 vs 32)"),  # the same seed, trained differently
        ({"seed": 1, "eval_seed": 7}, "differ in eval_seed (10000 vs 7)"),  # seeds of a line must agree
    ],
)
def test_plot_refuses_seeds_of_one_line_that_were_run_differently(tmp_path, changes, message):
    fake_run(tmp_path / "runs" / "a")
    fake_run(tmp_path / "runs" / "b", **changes)
    result = plot(str(tmp_path / "runs" / "a"), str(tmp_path / "runs" / "b"))
    one_line_error(result, "are both PPO (512 steps)", message, "plot them separately")


def test_plot_writes_beside_the_runs_not_into_the_working_folder(tmp_path, monkeypatch):
    runs = [fake_run(tmp_path / "results" / "ppo-0"), fake_run(tmp_path / "results" / "ppo-1", seed=1)]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    result = plot(*map(str, runs))
    assert result.exit_code == 0, result.stderr[-2000:]
    figure = tmp_path / "results" / "learning_curves_marketing-v1_default.png"
    assert figure.stat().st_size > 10_000 and str(figure) in result.stderr
    assert not list(elsewhere.iterdir())
    picture = tmp_path / "chosen.png"
    assert plot(*map(str, runs), "--out", str(picture)).exit_code == 0
    assert picture.stat().st_size > 10_000


def _legend(monkeypatch: pytest.MonkeyPatch, seeds: int, tmp_path: Path) -> tuple[list[str], int]:
    """The legend texts and the number of filled bands of a learning-curve figure of ``seeds`` seeds."""
    figures = []
    monkeypatch.setattr(plots.plt, "close", figures.append)
    steps = np.array([0, 256, 512])
    runs = [(steps, np.array([10.0, 20.0, 30.0]) + k) for k in range(seeds)]
    plot_learning_curves({"PPO (512 steps)": runs}, tmp_path / "curves.png", "curves")
    ax = figures[0].axes[0]
    return [t.get_text() for t in ax.get_legend().get_texts()], len(ax.collections)


def test_plot_bands_say_what_they_are(monkeypatch, tmp_path):
    labels, bands = _legend(monkeypatch, 3, tmp_path)
    assert labels == ["PPO (512 steps): mean of 3 seeds, band: 95 % bootstrap CI over 3 seeds"] and bands == 1
    labels, bands = _legend(monkeypatch, 1, tmp_path)
    assert labels == ["PPO (512 steps): 1 seed, no band"] and bands == 0
    labels, bands = _legend(monkeypatch, 2, tmp_path)
    assert "no band" in labels[0] and bands == 0


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("run.json", "{not json", "cannot read"),
        ("run.json", '{"config": {"algo": "ppo"}}', "records no training config"),
        ("evaluations.csv", "env_steps,mean_return\n0,abc\n", "is malformed"),
        ("evaluations.csv", "env_steps,return\n0,1.0\n", "has no column 'mean_return'"),
        ("evaluations.csv", "env_steps,mean_return\n", "holds no evaluations"),
    ],
)
def test_plot_of_a_malformed_run_names_the_file(tmp_path, name, text, message):
    run = fake_run(tmp_path / "run")
    (run / name).write_text(text)
    one_line_error(plot(str(run)), str(run / name), message)


def test_plot_of_a_comparison_with_malformed_scores_names_the_file(tmp_path):
    folder = tmp_path / "cmp"
    folder.mkdir()
    config = {"env": "shopgym/Promote-v1", "seeds": 1, "n_eval": 16, "baselines": [{"policy": "random"}]}
    (folder / "run.json").write_text(json.dumps({"config": config}))
    (folder / "scores.json").write_text("{truncated")
    one_line_error(plot(str(folder)), str(folder / "scores.json"))
    (folder / "scores.json").write_text(json.dumps({"scores": {"random": [{"ctr": 1.0}]}, "curves": {}}))
    one_line_error(plot(str(folder)), str(folder / "scores.json"))
