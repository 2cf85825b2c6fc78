"""Behaviour pinned across refactors of how tasks own their actions (issue 11).

Per-shopper returns of every built-in policy on every registered id (64 shoppers, fixed seeds), which policies
apply where, the candidate-network layouts, and the first actions of a tiny PPO (candidate network) and DQN run
for fixed observations. ``python tests/test_task_fixtures.py`` rewrites the fixture; the test compares exactly.
"""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np

import shopgym
from shopgym.agents import TaskInfo, make_policy
from shopgym.agents.evaluation import evaluate
from shopgym.agents.sb3_agents import SB3Agent, load_hyperparams

FIXTURE = Path(__file__).parent / "fixtures" / "task_behaviour.npz"
POLICY_NAMES = (
    "random",
    "popular",
    "margin",
    "never_discount",
    "calendar",
    "constant_price",
    "greedy",
    "myopic_oracle",
    "epsilon_greedy",
    "linucb",
    "thompson",
)
#: (env id, env options): the five ids, plus Marketing's MultiDiscrete encoding (bandits decode it)
SETTINGS = [(env_id, {}) for env_id in sorted(shopgym.ENV_IDS)] + [
    ("shopgym/Marketing-v1", {"action_encoding": "multidiscrete"})
]


def _tiny_sb3(algo: str) -> np.ndarray:
    env_id = "shopgym/Marketing-v1"
    params = load_hyperparams(algo, env_id)
    if algo == "dqn":
        changes = {"n_envs": 16, "learning_starts": 32, "buffer_size": 1000, "batch_size": 32}
    else:
        changes = {"n_envs": 16, "n_steps": 4, "batch_size": 64, "n_epochs": 1}
    changes["policy_kwargs"] = params.policy_kwargs.model_copy(update={"architecture": "candidate"})
    agent = SB3Agent(algo, env_id, params.model_copy(update=changes), seed=0, device="cpu").learn(256)
    envs = gym.make_vec(env_id, num_envs=8)
    obs, _ = envs.reset(seed=1)
    return np.asarray(agent.act(obs))


def current_behaviour() -> dict[str, np.ndarray]:
    """Everything the fixture pins, computed with today's code."""
    results: dict[str, np.ndarray] = {}
    supported: dict[str, list[str]] = {}
    for env_id, options in SETTINGS:
        key = env_id + "".join(f"|{k}={v}" for k, v in options.items())
        info = TaskInfo.of(gym.make(env_id, **options))
        layout = info.task.candidate_layout()
        results[f"layout:{key}"] = np.asarray(layout if layout is not None else (), dtype=np.int64)
        supported[key] = []
        for name in POLICY_NAMES:
            try:
                policy = make_policy(name, info, seed=3)
            except ValueError:
                continue
            supported[key].append(name)
            run = evaluate(policy, env_id, 64, seed=5, learn=policy.learns_online, **options)
            results[f"returns:{key}:{name}"] = run.returns
    results["supported"] = np.asarray(json.dumps(supported, sort_keys=True))
    results["ppo_candidate_actions"] = _tiny_sb3("ppo")
    results["dqn_actions"] = _tiny_sb3("dqn")
    return results


def test_behaviour_matches_the_recorded_fixture():
    with np.load(FIXTURE, allow_pickle=False) as data:
        recorded = {key: data[key] for key in data.files}
    current = current_behaviour()
    assert sorted(current) == sorted(recorded)
    for key, value in recorded.items():
        np.testing.assert_array_equal(current[key], value, err_msg=key)


if __name__ == "__main__":
    np.savez_compressed(FIXTURE, **current_behaviour())
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size:,} bytes)")
