"""Main job until the ``shopgym`` command exists: baselines, a bandit that learns online and the myopic oracle
on Marketing-v0, all evaluated on the same shoppers, with their KPIs.

Run: ``python -m experiments.demo [--scenario NAME] [--shoppers N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym

import shopgym
from agents import TaskInfo, make_policy
from agents.evaluation import evaluate

ENV_ID = "shopgym/Marketing-v0"
KPI_NAMES = ("profit_per_shopper", "revenue_per_shopper", "ctr", "conversion", "avg_discount", "retention")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default", choices=shopgym.list_scenarios())
    parser.add_argument("--shoppers", type=int, default=2048, help="shoppers per evaluation (and bandit training)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.shoppers < 1:
        parser.error(f"--shoppers must be ≥ 1, got {args.shoppers}")

    info = TaskInfo.of(gym.make(ENV_ID, scenario=args.scenario))
    print(f"shopgym {shopgym.__version__} · {ENV_ID} · scenario {args.scenario} · {args.shoppers} shoppers each")
    print(f"{'policy':<26}" + "".join(f"{k:>21}" for k in KPI_NAMES))
    for name in ("random", "popular", "calendar", "linucb", "myopic_oracle"):
        start = time.perf_counter()
        policy = make_policy(name, info, seed=args.seed)
        label = name
        if name == "linucb":  # learns online for one episode of other shoppers, then is evaluated frozen
            evaluate(policy, ENV_ID, n_shoppers=args.shoppers, seed=args.seed + 1, learn=True, scenario=args.scenario)
            label = "linucb (after learning)"
        kpis = evaluate(policy, ENV_ID, n_shoppers=args.shoppers, seed=args.seed, scenario=args.scenario).kpis()
        seconds = time.perf_counter() - start
        print(f"{label:<26}" + "".join(f"{kpis[k]:>21.3f}" for k in KPI_NAMES) + f"   ({seconds:.1f} s)")
    print("myopic_oracle reads the hidden shopper state: a reference, not a deployable policy.")


if __name__ == "__main__":
    main()
