"""The Pricing-v1 section: PPO and DQN against the exact optimum J* of three markets, with the fixed policies."""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import numpy as np

from shopgym.agents import TaskInfo, make_policy
from shopgym.agents.evaluation import evaluate
from shopgym.agents.oracles import DPPricingPolicy, MyopicOracle
from shopgym.agents.sb3_agents import SB3Agent
from shopgym.experiments.mechanisms import optimal_structure
from shopgym.experiments.report import table
from shopgym.experiments.results.common import TARGETS, market, over_shoppers, shopper_interval
from shopgym.experiments.runs import CellStore
from shopgym.experiments.stats import SEEDS_CI, SHOPPERS_CI, format_interval, iqm_summary

PRICING_SCENARIOS = {
    "electronics": "loss-averse",
    "grocery": "gain-seeking",
    "default": "loss-averse with deal-seeking clicks",
}


def pricing_section(cells: CellStore, seeds: int, steps: int, n_eval: int) -> list[str]:
    """The Pricing-v1 section: PPO and DQN (``seeds`` each, ``steps`` env steps) and the myopic oracle as
    fractions of the exact optimum J* per market, judged against the target."""
    lines = ["## Pricing-v1: learned policies against the exact optimum J*", ""]
    lines += [
        "J* is the dynamic-programming optimum on a 4001-point reference-price grid (undiscounted; episodes end",
        "after every visit with probability 1/50, so the optimal policy is stationary). Each policy is scored on the",
        f"same {n_eval:,} shoppers (one episode each); J(π) of a fixed policy: mean [{SHOPPERS_CI}]. PPO and DQN:",
        f"{steps:,} env steps each with the Pricing-v1 defaults of `agents/hyperparams/` (chosen on the first model in",
        f"docs/tuning.md), {seeds} training seeds, IQM over seeds of J(π)/J* [{SEEDS_CI}; n/a with fewer than 3]. PPO",
        "acts by sampling its policy (the Pricing-v1 default); the row below it scores the same trained policies",
        "by their most likely action instead.",
        "",
    ]
    for scenario, kind in PRICING_SCENARIOS.items():
        envs = gym.make_vec("shopgym/Pricing-v1", num_envs=2, scenario=scenario)
        envs.reset(seed=0)
        dp = DPPricingPolicy.solve(envs.batch, grid_size=4001)
        j_star = dp.solution.j_star
        _, prices = dp.solution.path()
        pattern = optimal_structure(dp.solution).describe()
        info = TaskInfo.of(envs)
        where = f"pricing/{market(scenario)}"  # the cells of this market as it is today

        def score(policy: Any, seed: int = 7, scenario: str = scenario) -> dict[str, float]:
            return over_shoppers(evaluate(policy, "shopgym/Pricing-v1", n_eval, seed, scenario=scenario))

        fixed = {
            "DP optimum (check)": cells.get(f"{where}/dp", lambda dp=dp: score(dp)),
            "myopic oracle": cells.get(f"{where}/myopic", lambda info=info: score(MyopicOracle(info))),
            "never discount": cells.get(f"{where}/never", lambda info=info: score(make_policy("never_discount", info))),
            "random": cells.get(f"{where}/random", lambda info=info: score(make_policy("random", info, 0))),
        }
        constants = [
            cells.get(
                f"{where}/constant{level}",
                lambda level=level, info=info: score(make_policy("constant_price", info, level=level)),
            )
            for level in range(info.price_levels.size)
        ]
        best_level = int(np.argmax([c["mean"] for c in constants]))
        fixed[f"best constant price ({info.price_levels[best_level]:.2f})"] = constants[best_level]
        learned = {}
        for algo in ("ppo", "dqn"):

            def train(algo: str = algo, seed: int = 0, scenario: str = scenario) -> dict[str, Any]:
                start = time.perf_counter()
                agent = SB3Agent(algo, "shopgym/Pricing-v1", seed=seed, device="cpu", env_kwargs={"scenario": scenario})
                agent.learn(steps)
                seconds = time.perf_counter() - start
                result = {**score(agent), "seconds": seconds}
                if not agent.deterministic:
                    agent.deterministic = True
                    result["most_likely_action"] = score(agent)
                return result

            runs = [cells.get(f"{where}/{algo}/seed{s}", lambda s=s, t=train: t(seed=s)) for s in range(seeds)]
            learned[algo.upper()] = runs
            if "most_likely_action" in runs[0]:
                learned[f"{algo.upper()}, most likely action"] = [r["most_likely_action"] for r in runs]
        lines += [
            f"### `{scenario}` ({kind}): J* = {j_star:.2f}; the optimal price path: {pattern}",
            "",
            f"Optimal paid fractions, visits 1–20: {' '.join(f'{p:.2f}' for p in prices[:20])}",
            "",
        ]
        ratios = {name: iqm_summary([r["mean"] / j_star for r in runs]) for name, runs in learned.items()}
        rows = [
            [
                f"{name} ({steps:,} steps, IQM of {seeds} seeds)",
                f"{np.mean([r['mean'] for r in runs]):.2f}",
                format_interval(ratios[name], 3),
            ]
            for name, runs in learned.items()
        ]
        rows += [
            [name, shopper_interval(result, n_eval, 2), f"{result['mean'] / j_star:.3f}"]
            for name, result in fixed.items()
        ]
        lines += table(["policy", "J(π)", "J(π) / J*"], rows)
        verdicts = [
            f"{name} {'met' if ratio['iqm'] >= TARGETS.pricing_ratio else 'not met'}" for name, ratio in ratios.items()
        ]
        lines += [
            "",
            f"Target J(π) ≥ {TARGETS.pricing_ratio} J* within {steps:,} steps (IQM over seeds): {'; '.join(verdicts)}.",
            "",
        ]
    return lines
