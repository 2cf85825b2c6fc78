"""SIGKILL-and-resume trials of ``shopgym train``: kill a run at chosen moments, resume it, and compare it with
the run that was never interrupted.

Run: ``python benchmarks/kill_resume.py --trials 8 --out runs/kill_resume`` (about 20 s a trial on 2 cores).
Each trial kills one PPO or DQN run (Promote-v1, ``--steps`` env steps, 24,576 by default, checkpoints every
2,048) at one of four moments: a random time; while a checkpoint is being written (``checkpoint.new`` exists);
while a new checkpoint replaces the old one (``checkpoint.old`` exists); or while the final model is being
saved (``model/`` exists but ``summary.json`` does not). The random time is drawn within the uninterrupted run's
length, and drawn again within this run's own where this run ended first (it ran faster than the reference, as it
can on a loaded machine), up to three times. Where another moment never comes (the run ended first), the trial
says so. The killed run is then resumed (and killed again if the moment recurs, up to three times)
until it finishes, and must equal the uninterrupted run: the same env steps, the same rows in
``progress.csv``, ``episodes.csv`` and ``evaluations.csv`` (wall-clock columns aside), the same final
evaluation and bit-identical weights. Results go to ``OUT/results.json``; docs/reliability.md records a run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

HYPERPARAMS = {
    "ppo": "default:\n  n_envs: 16\n  n_steps: 16\n  batch_size: 64\n  n_epochs: 2\n"
    "  normalize_rewards: true\n  reward_scale: 1.0\n  deterministic: false\n",
    "dqn": "default:\n  n_envs: 16\n  buffer_size: 20000\n  learning_starts: 256\n  batch_size: 32\n"
    "  target_update_interval: 512\n  gradient_steps: 1\n  normalize_rewards: true\n  reward_scale: 1.0\n",
}
MOMENTS = ("random", "checkpoint write", "checkpoint swap", "model save")
DROP = ("wall_seconds", "env_steps_per_second")


def _start(out: Path, algo: str, resume: bool, steps: int = 0) -> subprocess.Popen:
    command = [sys.executable, "-m", "shopgym.experiments.cli", "train", "--device", "cpu", "--out", str(out)]
    if resume:
        command.append("--resume")
    else:
        hyperparams = out.parent / f"{algo}.yml"
        hyperparams.parent.mkdir(parents=True, exist_ok=True)
        hyperparams.write_text(HYPERPARAMS[algo])
        command += ["--algo", algo, "--env", "shopgym/Promote-v1", "--n-timesteps", str(steps), "--eval-freq"]
        command += ["4096", "--n-eval", "16", "--checkpoint-freq", "2048", "--hyperparams", str(hyperparams)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _moment_reached(out: Path, moment: str, started: float, at: float, since: float) -> bool:
    """Whether this process (started at ``started`` on the monotonic clock, ``since`` on the wall clock) is at
    ``moment``; files left by an earlier, killed process do not count."""
    if moment == "random":
        return time.monotonic() - started >= at
    path = {"checkpoint write": "checkpoint.new", "checkpoint swap": "checkpoint.old", "model save": "model"}[moment]
    try:
        fresh = (out / path).stat().st_mtime >= since
    except FileNotFoundError:
        return False
    return fresh and (moment != "model save" or not (out / "summary.json").exists())


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as handle:
        return [{k: v for k, v in row.items() if k not in DROP} for row in csv.DictReader(handle)]


def _same_run(killed: Path, whole: Path) -> list[str]:
    """What differs between the two run folders (empty: identical)."""
    import torch

    problems = []
    for name in ("progress.csv", "episodes.csv", "evaluations.csv"):
        if _rows(killed / name) != _rows(whole / name):
            problems.append(f"{name} differs")
    a, b = (json.loads((run / "summary.json").read_text()) for run in (killed, whole))
    for key in ("env_steps", "final_mean_return", "final_kpis", "episodes"):
        if a[key] != b[key]:
            problems.append(f"summary {key} differs")
    weights = [torch.load(run / "model" / "policy.pt", weights_only=True) for run in (killed, whole)]
    if any(not torch.equal(value, weights[1][key]) for key, value in weights[0].items()):
        problems.append("final weights differ")
    return problems


def trial(out: Path, algo: str, moment: str, seconds: float, steps: int, rng: random.Random) -> dict:
    """One kill-and-resume trial against an uninterrupted reference run in ``out/whole``."""
    killed = out / "killed"
    kills, resume, at, redraws = [], False, rng.uniform(0.5, seconds), 0
    while True:
        since, started = time.time(), time.monotonic()
        process = _start(killed, algo, resume, steps)
        while process.poll() is None:
            if len(kills) < 3 and _moment_reached(killed, moment, started, at, since):
                os.kill(process.pid, signal.SIGKILL)
                process.wait()
                kills.append(round(time.monotonic() - started, 2))
                break
            time.sleep(0.002)
        if process.returncode == 0 or (killed / "summary.json").exists():  # done (the kill came after the end)
            if moment == "random" and not kills and redraws < 3:  # faster than the reference: start again, earlier
                shutil.rmtree(killed)
                resume, at, redraws = False, rng.uniform(0.5, max(0.6, 0.9 * (time.monotonic() - started))), redraws + 1
                continue
            break
        if process.returncode != -signal.SIGKILL:
            problem = process.stderr.read().strip().splitlines()[-1:]
            return {"algo": algo, "moment": moment, "kills": kills, "ok": False, "problems": problem}
        # a run killed before it recorded itself (run.json) starts again; any other continues with --resume
        resume, at = (killed / "run.json").is_file(), rng.uniform(0.5, seconds)
    problems = _same_run(killed, out / "whole")
    summary = json.loads((killed / "summary.json").read_text())
    return {
        "algo": algo,
        "moment": moment,
        "kills": kills,
        "resumes": summary["resumes"],
        "ok": not problems and bool(kills),
        "problems": problems or ([] if kills else ["the moment never came: the run ended unkilled"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=len(MOMENTS) * 2, help="trials, cycling algos and moments")
    parser.add_argument("--steps", type=int, default=24_576, help="env steps per run")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random kill times")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "kill_resume")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    references: dict[str, float] = {}
    results = []
    for index in range(args.trials):
        algo, moment = ("ppo", "dqn")[index % 2], MOMENTS[(index // 2) % len(MOMENTS)]
        folder = args.out / f"trial-{index:02d}-{algo}-{moment.replace(' ', '-')}"
        if algo not in references:
            reference, started = (
                _start(args.out / f"reference-{algo}" / "whole", algo, False, args.steps),
                time.monotonic(),
            )
            if reference.wait() != 0:
                raise SystemExit(reference.stderr.read())
            references[algo] = time.monotonic() - started
        folder.mkdir(parents=True, exist_ok=False)
        (folder / "whole").symlink_to((args.out / f"reference-{algo}" / "whole").resolve())
        result = trial(folder, algo, moment, references[algo], args.steps, rng)
        results.append(result)
        print(json.dumps(result), flush=True)
    passed = sum(r["ok"] for r in results)
    resumed = sum(r["ok"] and r.get("resumes", 0) > 0 for r in results)
    report = {
        "trials": len(results),
        "identical": passed,
        "identical_after_resume": resumed,  # the others were killed after their run had ended
        "steps": args.steps,
        "results": results,
    }
    (args.out / "results.json").write_text(json.dumps(report, indent=1) + "\n")
    print(f"{passed} of {len(results)} killed runs equal the uninterrupted run ({resumed} of them after a resume)")


if __name__ == "__main__":
    main()
