"""The `shopgym` command: smoke runs with tiny budgets, and one clear line for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def shopgym(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "experiments.cli", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("command", ["quickstart", "train", "eval"])
def test_help(command):
    result = shopgym(command, "--help")
    assert result.returncode == 0 and "--" in result.stdout


def test_train_then_eval(tmp_path):
    out = tmp_path / "run"
    result = shopgym(
        "train",
        "--algo",
        "ppo",
        "--env",
        "shopgym/Promote-v0",
        "--n-timesteps",
        "512",
        "--eval-freq",
        "256",
        "--n-eval",
        "16",
        "--device",
        "cpu",
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env_steps"] >= 512 and summary["algo"] == "ppo"
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["n_timesteps"] == 512 and "numpy" in run["versions"] and run["command"]
    rows = (out / "evaluations.csv").read_text().splitlines()
    assert rows[0].startswith("env_steps,") and len(rows) >= 3
    result = shopgym("eval", "--model", str(out / "model"), "--n-shoppers", "16", "--device", "cpu")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "profit_per_shopper" in json.loads(result.stdout)
    again = shopgym("train", "--n-timesteps", "512", "--out", str(out))
    assert again.returncode == 2 and "already holds a finished run" in again.stderr


def test_quickstart_tiny(tmp_path):
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
    for name in ("PPO", "DQN", "LinUCB", "myopic oracle", "random"):
        assert name in report
    for picture in ("comparison.png", "learning_curves.png"):
        assert (out / picture).stat().st_size > 10_000


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--env", "CartPole-v1"], "unknown env id 'CartPole-v1'"),
        (["train", "--algo", "sac"], "unknown algorithm 'sac'"),
        (["train", "--n-timesteps", "-5"], "--n-timesteps must be ≥ 1, got -5"),
        (["train", "--scenario", "atlantis", "--n-timesteps", "10"], "unknown scenario 'atlantis'"),
        (["quickstart", "--seeds", "0"], "--seeds must be ≥ 1, got 0"),
        (["eval", "--model", "/nonexistent"], "holds no saved agent"),
    ],
)
def test_bad_input_is_one_clear_line(tmp_path, args, message):
    result = shopgym(*args, "--out", str(tmp_path / "x")) if args[0] != "eval" else shopgym(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "x" / "summary.json").exists()


def test_out_that_is_a_file(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("not a folder")
    result = shopgym("train", "--n-timesteps", "10", "--out", str(target))
    assert result.returncode == 2 and "is a file, not a folder" in result.stderr
