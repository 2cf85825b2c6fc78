"""Main job until the ``shopgym`` command exists: roll out simple policies and print their KPIs.

Run: ``python -m experiments.demo [--scenario NAME] [--shoppers N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np

import shopgym
from shopgym.catalog import ITEM_FEATURES
from shopgym.observation import item_feature_names, shopper_feature_names

Policy = Callable[[np.ndarray], np.ndarray]


def rollout(env_id: str, policy: Policy, scenario: str, n_shoppers: int, seed: int) -> dict[str, float]:
    """One episode for each of ``n_shoppers`` shoppers; KPIs per shopper (profit, revenue, …)."""
    env = gym.make_vec(env_id, num_envs=n_shoppers, scenario=scenario)
    obs, _ = env.reset(seed=seed)
    active = np.ones(n_shoppers, dtype=bool)
    totals = dict.fromkeys(("profit", "revenue", "clicks", "purchases", "discount_cost", "churn"), 0.0)
    visits = 0.0
    while active.any():
        obs, _, terminated, truncated, info = env.step(policy(obs))
        visits += active.sum()
        for key in totals:
            totals[key] += float((info[key] * active).sum())
        active &= ~(terminated | truncated)
    env.close()
    return {
        "profit/shopper": totals["profit"] / n_shoppers,
        "revenue/shopper": totals["revenue"] / n_shoppers,
        "CTR": totals["clicks"] / visits,
        "conversion": totals["purchases"] / max(totals["clicks"], 1.0),
        "avg discount": totals["discount_cost"] / max(totals["revenue"] + totals["discount_cost"], 1e-9),
        "retention": 1.0 - totals["churn"] / n_shoppers,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default="default", choices=shopgym.list_scenarios())
    parser.add_argument("--shoppers", type=int, default=2048, help="shoppers simulated per policy")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    env = gym.make("shopgym/Marketing-v0", scenario=args.scenario)
    n_candidates = env.unwrapped.batch.task.n_candidates
    n_levels = env.unwrapped.batch.task.discount_levels.size
    embed_dim = env.unwrapped.batch.task.embed_dim
    n_shopper, item_names = len(shopper_feature_names(False)), item_feature_names(embed_dim, False)
    history, rating = item_names.index("history_affinity"), ITEM_FEATURES.index("rating")
    rng = np.random.default_rng(args.seed)

    def random_policy(obs: np.ndarray) -> np.ndarray:
        return rng.integers(0, n_candidates * n_levels, obs.shape[0])

    def greedy_policy(obs: np.ndarray) -> np.ndarray:
        items = obs[:, n_shopper:].reshape(obs.shape[0], n_candidates, len(item_names))
        return np.argmax(items[:, :, history] + items[:, :, rating], axis=1) * n_levels  # level 0: no discount

    print(f"shopgym {shopgym.__version__} · Marketing-v0 · scenario {args.scenario} · {args.shoppers} shoppers")
    print(
        f"{'policy':<22}"
        + "".join(
            f"{k:>17}" for k in ("profit/shopper", "revenue/shopper", "CTR", "conversion", "avg discount", "retention")
        )
    )
    for name, policy in (("random", random_policy), ("greedy (affinity)", greedy_policy)):
        start = time.perf_counter()
        kpis = rollout("shopgym/Marketing-v0", policy, args.scenario, args.shoppers, args.seed)
        seconds = time.perf_counter() - start
        print(f"{name:<22}" + "".join(f"{v:>17.3f}" for v in kpis.values()) + f"   ({seconds:.1f} s)")


if __name__ == "__main__":
    main()
