"""Kill a training run with SIGKILL, resume it, and get exactly the run that was never interrupted."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

# Return normalisation (its running statistics) and, for PPO, evaluations that sample actions (the sampler's
# state) are part of what a checkpoint must restore for the resumed run to match: the settings of
# benchmarks/kill_resume.py, which kills runs at chosen moments.
sys.path.insert(0, str(ROOT / "benchmarks"))
from kill_resume import HYPERPARAMS  # noqa: E402

STEPS = 24_576


def train(out: Path, algo: str, *extra: str) -> subprocess.Popen:
    hyperparams = out.parent / f"{algo}.yml"
    hyperparams.write_text(HYPERPARAMS[algo])
    args = [
        "--algo",
        algo,
        "--env",
        "shopgym/Promote-v1",
        "--n-timesteps",
        str(STEPS),
        "--eval-freq",
        "4096",
        "--n-eval",
        "16",
        "--checkpoint-freq",
        "2048",
        "--hyperparams",
        str(hyperparams),
    ]
    command = [sys.executable, "-m", "shopgym.experiments.cli", "train", "--device", "cpu", "--out", str(out)]
    command += [] if "--resume" in extra else args
    return subprocess.Popen([*command, *extra], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def rows(path: Path, drop: tuple[str, ...] = ("wall_seconds", "env_steps_per_second")) -> list[dict]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(handle)]


def checkpoint_step(out: Path) -> int:
    progress = out / "progress.csv"
    if not (out / "checkpoint" / "state.pkl").exists() or not progress.exists():
        return 0
    lines = progress.read_text().splitlines()
    return int(lines[-1].split(",")[0]) if len(lines) > 1 else 0


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path, algo):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    reference = train(whole, algo)
    victim = train(killed, algo)
    deadline = time.monotonic() + 300
    while checkpoint_step(killed) < STEPS // 3:
        assert victim.poll() is None, victim.communicate()[1][-2000:]
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    assert not (killed / "summary.json").exists()
    assert checkpoint_step(killed) < STEPS, "the run finished before it was killed"

    again = train(killed, algo)
    assert again.wait(timeout=300) == 2 and "pass --resume" in again.communicate()[1]
    resumed = train(killed, algo, "--resume")
    assert resumed.wait(timeout=300) == 0, resumed.communicate()[1][-2000:]
    assert reference.wait(timeout=300) == 0, reference.communicate()[1][-2000:]

    import json

    summary = json.loads((killed / "summary.json").read_text())
    assert summary["env_steps"] == STEPS and summary["resumes"] == 1
    for name in ("progress.csv", "episodes.csv", "evaluations.csv"):
        got, want = rows(killed / name), rows(whole / name)
        steps = [int(r["env_steps"]) for r in got]
        assert steps == sorted(steps), f"{name} is out of order"
        assert got == want, f"{name} differs from the uninterrupted run's"
    progress_steps = [int(r["env_steps"]) for r in rows(killed / "progress.csv")]
    assert len(set(progress_steps)) == len(progress_steps) and progress_steps[-1] == STEPS
    evaluation_steps = [int(r["env_steps"]) for r in rows(killed / "evaluations.csv")]
    assert evaluation_steps[-1] == STEPS and len(set(evaluation_steps)) == len(evaluation_steps)
    weights = [torch.load(run / "model" / "policy.pt", weights_only=True) for run in (killed, whole)]
    for key, value in weights[0].items():
        assert torch.equal(value, weights[1][key]), key
