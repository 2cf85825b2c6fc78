"""Speed-up of a 4-job sweep on the local backend against running the same jobs one at a time.

Run: ``python benchmarks/bench_sweep.py`` (a few minutes on 2 cores, on an otherwise idle machine). Prints the
wall times as JSON and writes ``docs/sweep_speedup.json``; docs/scaling.md quotes them. Each setting runs in a
fresh folder, so no job is skipped.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shopgym.experiments.configs import SweepConfig  # noqa: E402
from shopgym.experiments.sweep import run_sweep  # noqa: E402

JOBS = SweepConfig(
    base={
        "env": "shopgym/Marketing-v1",
        "algo": "ppo",
        "n_timesteps": 100_000,
        "eval_freq": 100_000,
        "n_eval": 200,
        "checkpoint_freq": 0,
    },
    grid={"seed": [0, 1, 2, 3]},
)


def timed(workers: int, threads: int) -> float:
    config = JOBS.model_copy(update={"cpus_per_job": threads})
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        summary = run_sweep(config, folder, backend="local", workers=workers)
        assert summary["jobs"]["done"] == 4, summary
        return time.perf_counter() - start


def main() -> None:
    results = {
        "cores": os.cpu_count(),
        "jobs": "4 × PPO, Marketing-v1, 100,000 env steps each (rounded up to whole rollouts)",
        "sequential_1_thread": timed(workers=1, threads=1),
        "sequential_2_threads": timed(workers=1, threads=2),
        "parallel_2_workers_1_thread": timed(workers=2, threads=1),
    }
    results["speedup_vs_sequential_1_thread"] = results["sequential_1_thread"] / results["parallel_2_workers_1_thread"]
    results["speedup_vs_sequential_2_threads"] = (
        results["sequential_2_threads"] / results["parallel_2_workers_1_thread"]
    )
    (ROOT / "docs" / "sweep_speedup.json").write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
