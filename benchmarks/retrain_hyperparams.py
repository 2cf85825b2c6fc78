"""Retrain an agent with several hyperparameter files over several seeds and compare their final evaluations.

Run: ``python benchmarks/retrain_hyperparams.py dqn shopgym/Marketing-v1 default=agents/hyperparams/dqn.yml
tuned=runs/tune/best_hyperparams.yml --seeds 5 --steps 150000`` (about 1–2 minutes per run on one core; two
runs at a time). Each (file, seed) is an ordinary ``shopgym train`` run folder under ``--out``, so a killed
comparison continues where it stopped. Every run is evaluated on the same ``--n-eval`` shoppers of
``--eval-seed`` (the reports' seed, not the tuning's validation seed). Prints, and writes to ``OUT/summary.json``,
each file's final returns per seed, their IQM with a 95 % bootstrap CI over seeds, and P(one file's run beats
another's).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _train(job: tuple[str, str, str, str, int, int, int, int, str]) -> tuple[str, int, float]:
    label, path, algo, env, seed, steps, n_eval, eval_seed, out = job
    import torch

    from shopgym.experiments.configs import TrainConfig
    from shopgym.experiments.runs import RunDirectory
    from shopgym.experiments.training import train_or_resume

    torch.set_num_threads(1)
    config = TrainConfig(
        algo=algo, env=env, seed=seed, n_timesteps=steps, eval_freq=steps, n_eval=n_eval, eval_seed=eval_seed
    )
    summary = train_or_resume(RunDirectory(Path(out) / label / f"seed-{seed}"), config, "cpu", path)
    return label, seed, float(summary["final_mean_return"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("algo")
    parser.add_argument("env")
    parser.add_argument("files", nargs="+", help="LABEL=PATH of a hyperparameter YAML")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=150_000)
    parser.add_argument("--n-eval", type=int, default=1000)
    parser.add_argument("--eval-seed", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "retrain")
    args = parser.parse_args()
    files = dict(item.split("=", 1) for item in args.files)
    jobs = [
        (label, path, args.algo, args.env, seed, args.steps, args.n_eval, args.eval_seed, str(args.out))
        for seed in range(args.seeds)
        for label, path in files.items()
    ]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(_train, jobs))

    from shopgym.experiments.stats import iqm_ci, probability_of_improvement

    returns = {label: [r for name, _, r in sorted(results) if name == label] for label in files}
    summary: dict = {"algo": args.algo, "env": args.env, "steps": args.steps, "files": files, "labels": {}}
    for label, values in returns.items():
        iqm, low, high = iqm_ci(values)
        summary["labels"][label] = {"returns": values, "iqm": iqm, "low": low, "high": high}
        print(f"{label}: IQM {iqm:.1f} [{low:.1f}, {high:.1f}] over seeds {[round(v, 1) for v in values]}")
    labels = list(returns)
    for i, first in enumerate(labels):
        for second in labels[i + 1 :]:
            p, low, high = probability_of_improvement(returns[first], returns[second])
            summary[f"P({first} > {second})"] = [p, low, high]
            print(f"P({first} > {second}) = {p:.2f} [{low:.2f}, {high:.2f}]")
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")


if __name__ == "__main__":
    main()
