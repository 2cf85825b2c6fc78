"""Throughput of this checkout's shopper model against an older checkout's, measured alternately in one run.

Run: ``git worktree add /tmp/v0 <commit>`` then ``python benchmarks/compare_models.py /tmp/v0 shopgym/Marketing-v0``
(about a minute). Each round measures the old checkout, then this one, in fresh processes: the batched native
vector env at N = 1024 (``shopgym.perf.tune_malloc()``) and the single env of ``gymnasium.make``, each for 2 s of
random valid actions. Alternating rounds share whatever else the machine is doing, so the ratio is fairer than
two separate benchmark runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import sys, time
import gymnasium as gym
import numpy as np
import shopgym
from shopgym.perf import tune_malloc
env_id, n = sys.argv[1], int(sys.argv[2])
single = n == 1
if single:
    env = gym.make(env_id)
    env.reset(seed=0)
    env.action_space.seed(0)
    actions = [env.action_space.sample() for _ in range(64)]
else:
    tune_malloc()
    env = gym.make_vec(env_id, num_envs=n)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    actions = [rng.integers(0, env.single_action_space.n, n) for _ in range(64)]
def step(i):
    result = env.step(actions[i % 64])
    if single and (result[2] or result[3]):
        env.reset()
for i in range(3):  # warm-up
    step(i)
steps, start = 0, time.perf_counter()
while time.perf_counter() - start < 2.0:
    step(steps)
    steps += 1
print(n * steps / (time.perf_counter() - start))
"""


def rate(checkout: Path, env_id: str, n: int) -> float:
    """Steps per second of ``env_id`` at ``n`` shoppers, with the package of ``checkout``."""
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, env_id, str(n)], cwd=checkout, env=env, check=True, capture_output=True, text=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path, help="a checkout of the older version")
    parser.add_argument("old_id", help="the env id in the older version, e.g. shopgym/Marketing-v0")
    parser.add_argument("--new-id", default="shopgym/Marketing-v1")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("| N | old (median) | new (median) | new / old |\n|---:|---:|---:|---:|")
    for n in (1024, 1):
        old, new = [], []
        for _ in range(args.rounds):
            old.append(rate(args.old, args.old_id, n))
            new.append(rate(ROOT, args.new_id, n))
        o, w = statistics.median(old), statistics.median(new)
        print(f"| {n:,} | {o:,.0f} | {w:,.0f} | {w / o:.2f} |")


if __name__ == "__main__":
    main()
