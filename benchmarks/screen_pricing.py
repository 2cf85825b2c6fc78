"""Screen hyperparameter changes for PPO or DQN on Pricing-v1 against the exact optimum J*.

Run: ``python benchmarks/screen_pricing.py ppo '{"gae_lambda": 0.5}' --seeds 3`` (seconds to a few minutes on
2 cores). The JSON holds changes to the Pricing-v1 entry of ``agents/hyperparams/<algo>.yml``. Each seed trains
200,000 env steps per scenario (electronics, grocery, default) and is scored on 4,000 shoppers of evaluation
seed 7 as J(π)/J*; PPO is scored both ways it can act (sampling its policy, and its most likely action). One line
per call is printed and appended to ``--log``. docs/tuning.md records the screens that set the defaults.
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

SCENARIOS = ("electronics", "grocery", "default")
ENV_ID = "shopgym/Pricing-v1"


def _j_star(scenario: str) -> float:
    import gymnasium as gym

    from shopgym.agents.oracles import DPPricingPolicy

    envs = gym.make_vec(ENV_ID, num_envs=2, scenario=scenario)
    envs.reset(seed=0)
    return DPPricingPolicy.solve(envs.batch, grid_size=4001).solution.j_star


def _run(job: tuple[str, dict, str, int, int]) -> tuple[str, dict[str, float]]:
    """Train one seed on one scenario; J(π)/J* for each way the agent can act."""
    algo, changes, scenario, seed, steps = job
    import torch

    from shopgym.agents.evaluation import evaluate
    from shopgym.agents.sb3_agents import HyperParams, SB3Agent, load_hyperparams

    torch.set_num_threads(1)
    params = load_hyperparams(algo, ENV_ID).model_dump()
    params["policy_kwargs"].update(changes.pop("policy_kwargs", {}))
    params.update(changes)
    hyperparams = HyperParams.model_validate(params)
    agent = SB3Agent(algo, ENV_ID, hyperparams, seed=seed, device="cpu", env_kwargs={"scenario": scenario})
    agent.learn(steps)
    j_star = _j_star(scenario)
    modes = {"sampled": False, "most likely": True} if algo in ("ppo", "a2c") else {"greedy": True}
    scores = {}
    for mode, deterministic in modes.items():
        agent.deterministic = deterministic
        scores[mode] = evaluate(agent, ENV_ID, n_shoppers=4000, seed=7, scenario=scenario).mean_return / j_star
    return scenario, scores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("algo", choices=("ppo", "dqn", "a2c"))
    parser.add_argument("changes", nargs="?", default="{}", help="JSON changes to the Pricing-v1 hyperparameters")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--log", type=Path, default=ROOT / "runs" / "screen_pricing.log")
    args = parser.parse_args()
    changes = json.loads(args.changes)
    jobs = [(args.algo, dict(changes), s, seed, args.steps) for s in SCENARIOS for seed in range(args.seeds)]
    with ProcessPoolExecutor(args.workers) as pool:
        results = list(pool.map(_run, jobs))
    parts = []
    for scenario in SCENARIOS:
        runs = [scores for name, scores in results if name == scenario]
        cells = ", ".join("/".join(f"{v:.3f}" for v in scores.values()) for scores in runs)
        parts.append(f"{scenario} {cells}")
    modes = "/".join(results[0][1])
    line = f"{args.algo} {args.changes} | J/J* ({modes}) per seed: " + " | ".join(parts)
    print(line, flush=True)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    with args.log.open("a") as log:
        log.write(line + "\n")


if __name__ == "__main__":
    main()
