"""The training-speed section: PPO env steps per second on Marketing-v1 by network and env adapter."""

from __future__ import annotations

import time

import gymnasium as gym
from stable_baselines3 import PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from shopgym.agents import TaskInfo
from shopgym.agents.sb3_agents import SB3Agent, load_hyperparams
from shopgym.experiments.report import table
from shopgym.experiments.results.common import market
from shopgym.experiments.runs import CellStore


def speed_section(cells: CellStore, steps: int) -> list[str]:
    """The training-speed section: PPO env steps per second on Marketing-v1 by network and env adapter."""

    def measure(kind: str, architecture: str) -> float:
        params = load_hyperparams("ppo", "shopgym/Marketing-v1")
        params = params.model_copy(
            update={"policy_kwargs": params.policy_kwargs.model_copy(update={"architecture": architecture})}
        )
        if kind == "batched":
            agent = SB3Agent("ppo", "shopgym/Marketing-v1", params, seed=0, device="cpu")
            model = agent.model
        else:
            venv = DummyVecEnv([lambda: gym.make("shopgym/Marketing-v1")] * params.n_envs)
            venv.seed(0)
            policy, policy_kwargs = params.policy_kwargs.to_sb3("ppo", TaskInfo.of(venv.envs[0]))
            model = PPO(
                policy, venv, seed=0, device="cpu", policy_kwargs=policy_kwargs, **params.algorithm_kwargs("ppo")
            )
        model.learn(params.n_envs * params.n_steps)  # warm-up rollout
        start = time.perf_counter()
        model.learn(steps, reset_num_timesteps=False)
        return steps / (time.perf_counter() - start)

    lines = [
        '## Training speed (PPO on Marketing-v1, 2 CPU cores, `device="cpu"`)',
        "",
        f"env steps per second over {steps:,} steps after a warm-up rollout; 256 shoppers, n_steps 32, batch",
        "2,048, 4 epochs (the tuned default).",
        "",
    ]
    rows = []
    where = f"speed/{market('default')}"  # Marketing-v1's default market, as it is today
    for architecture in ("mlp", "candidate"):
        batched = cells.get(f"{where}/{architecture}/batched", lambda a=architecture: measure("batched", a))
        dummy = cells.get(f"{where}/{architecture}/dummy", lambda a=architecture: measure("dummy", a))
        rows.append([architecture, f"{batched:,.0f}", f"{dummy:,.0f}"])
    header = ["policy network", "batched `ShopVecEnv`", "SB3 `DummyVecEnv` of 256 single envs"]
    lines += [*table(header, rows), ""]
    return lines
