"""Tasks own their actions: a task added by registration alone runs with the bandits, PPO with the candidate
network and ``compare``, and every registered task's arms, encoding and decoding agree."""

from __future__ import annotations

from collections.abc import Iterator

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces
from gymnasium.envs.registration import registry

import shopgym
from shopgym.agents import TaskInfo, make_policy
from shopgym.agents.evaluation import evaluate
from shopgym.agents.networks import CandidateActorCriticPolicy
from shopgym.agents.sb3_agents import SB3Agent, load_hyperparams
from shopgym.experiments.compare import run_comparison
from shopgym.experiments.configs import CompareConfig
from shopgym.params import ParameterError
from shopgym.tasks import TASK_NAMES, TASKS, Task, make_task, register_task, unregister_task


class Clearance(Task):
    """Show one of K candidates at list price or at a fixed 30 % clearance discount. Action: ``Discrete(2K)``,
    candidate-major (the default encoding), so nothing beyond the flags, levels, space and decoding is needed."""

    name = "clearance"
    env_id = "shopgym/Clearance-v0"
    options = ("n_candidates",)
    chooses_item = True
    chooses_level = True

    def __init__(self, embed_dim: int, full: bool, n_candidates: int) -> None:
        super().__init__(n_candidates, embed_dim, full)

    @property
    def paid_levels(self) -> np.ndarray:
        return np.array([1.0, 0.7])

    def _action_space(self) -> spaces.Space:
        return spaces.Discrete(2 * self.n_candidates)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        item, level = np.divmod(actions, 2)
        return item[:, None], self.paid_levels[level][:, None]


@pytest.fixture
def clearance() -> Iterator[str]:
    register_task(Clearance)
    try:
        yield Clearance.env_id
    finally:
        unregister_task(Clearance.name)


def test_a_registered_task_gets_an_env_id_and_unregistering_removes_it(clearance):
    assert shopgym.ENV_IDS[clearance] == "clearance" and "clearance" in TASK_NAMES
    env = gym.make(clearance, n_candidates=4)
    assert env.action_space == spaces.Discrete(8)
    unregister_task("clearance")
    assert clearance not in shopgym.ENV_IDS and clearance not in registry and "clearance" not in TASK_NAMES
    with pytest.raises(ParameterError, match="unknown task 'clearance'"):
        make_task("clearance", 8, False)
    register_task(Clearance)  # for the fixture's clean-up


def test_a_task_registered_twice_is_refused(clearance):
    with pytest.raises(ValueError, match="registered already"):
        register_task(Clearance)


def test_a_bandit_learns_online_in_a_registered_task(clearance):
    info = TaskInfo.of(gym.make(clearance))
    bandit = make_policy("linucb", info, seed=0)
    result = evaluate(bandit, clearance, 32, seed=1, learn=True)
    assert result.returns.shape == (32,) and np.isfinite(result.returns).all()
    assert bandit.gram[0, 0] > 1.0  # it learned from the chosen arms
    assert make_policy("calendar", info, level=1).act(np.zeros((1, info.task.observation_space.shape[0]))).shape == (1,)


def test_ppo_with_the_candidate_network_trains_on_a_registered_task(clearance):
    params = load_hyperparams("ppo", clearance)
    changes = {"n_envs": 16, "n_steps": 8, "batch_size": 64, "n_epochs": 1}
    changes["policy_kwargs"] = params.policy_kwargs.model_copy(update={"architecture": "candidate"})
    agent = SB3Agent("ppo", clearance, params.model_copy(update=changes), seed=0, device="cpu").learn(256)
    assert isinstance(agent.model.policy, CandidateActorCriticPolicy)
    assert agent.model.policy.candidate_layout[2:] == (20, 2, 0)
    envs = gym.make_vec(clearance, num_envs=4)
    obs, _ = envs.reset(seed=0)
    assert all(envs.single_action_space.contains(a) for a in agent.act(obs))


def test_compare_runs_on_a_registered_task(clearance, tmp_path):
    config = CompareConfig(
        env=clearance,
        seeds=1,
        n_eval=32,
        eval_freq=1024,
        agents=[{"algo": "dqn", "n_timesteps": 512}],
        baselines=[
            "random",
            "popular",
            {"policy": "calendar", "kwargs": {"level": 1}},
            "linucb",
            {"policy": "myopic_oracle", "label": "oracle"},
        ],
    )
    summary = run_comparison(config, tmp_path / "compare", device="cpu")
    assert {"DQN (512 steps)", "random", "popular", "calendar", "linucb", "oracle"} <= set(summary.policies)
    assert (tmp_path / "compare" / "report.md").exists()


@pytest.mark.parametrize("name", sorted(TASKS))
@pytest.mark.parametrize("encoding", ["discrete", "multidiscrete"])
def test_every_arm_encodes_to_an_action_that_decodes_back_to_it(name, encoding):
    options = {"action_encoding": encoding} if "action_encoding" in TASKS[name].options else {}
    task = make_task(name, 8, False, **options)
    if not task.arm_actions:
        with pytest.raises(ValueError, match="slate"):
            task.encode(np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
        return
    item, level, paid = task.arms()
    actions = task.encode(item, level)
    assert all(task.action_space.contains(np.asarray(a)) for a in actions)
    np.testing.assert_array_equal(task.arm_index(actions), np.arange(item.size))
    slate, paid_fraction = task.decode(task.check(actions, item.size))
    np.testing.assert_array_equal(slate[:, 0], item)
    np.testing.assert_array_equal(paid_fraction[:, 0], paid)
    assert paid[task.list_price_level] == paid.max() or task.chooses_level


def test_policies_declare_capabilities_not_task_names() -> None:
    from shopgym.agents import BasePolicy

    with pytest.raises(TypeError, match="list the task capabilities it needs in requires"):

        class Old(BasePolicy):
            tasks = ("promote",)

    with pytest.raises(TypeError, match=r"unknown capabilities \['chooses_colour'\]"):

        class Typo(BasePolicy):
            requires = ("chooses_colour",)


def test_a_registered_task_checkpoints_and_resumes(clearance, tmp_path):
    """The checkpoint loader accepts the classes of tasks registered in this process (and only those)."""
    import pickle

    from shopgym.agents.sb3_agents import SB3Agent, load_hyperparams
    from shopgym.experiments.checkpoints import load_checkpoint, read_state, save_checkpoint

    small = load_hyperparams("ppo", clearance).model_copy(update={"n_envs": 8, "n_steps": 8, "batch_size": 64})
    agent = SB3Agent("ppo", clearance, small, seed=0, device="cpu")
    agent.learn(64)
    save_checkpoint(agent, tmp_path / "checkpoint", {"note": 1})
    again = SB3Agent("ppo", clearance, small, seed=1, device="cpu")
    assert load_checkpoint(again, tmp_path / "checkpoint") == {"note": 1}
    assert again.model.num_timesteps == agent.model.num_timesteps
    unregister_task(Clearance.name)
    try:
        with pytest.raises(pickle.UnpicklingError, match="never holds .*Clearance"):
            read_state(tmp_path / "checkpoint" / "state.pkl")
    finally:
        register_task(Clearance)
