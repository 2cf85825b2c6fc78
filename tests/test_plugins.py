"""Policies from outside shopgym: import paths, entry points and saved plain-SB3 models."""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import shopgym  # noqa: F401
from shopgym.agents import TaskInfo
from shopgym.agents.evaluation import evaluate
from shopgym.agents.plugins import SB3ModelPolicy, build_policy, policy_class

CUSTOM = textwrap.dedent(
    """
    import numpy as np
    from shopgym.agents import BasePolicy

    class LoyalDiscount(BasePolicy):
        name = "loyal discount"
        requires = ("chooses_level",)

        def __init__(self, info, seed=None, level=1):
            super().__init__(info, seed)
            self.level = level

        def act(self, obs, batch=None):
            return np.full(obs.shape[0], self.level)

    class NotAPolicy:
        def __init__(self, info, seed=None):
            pass
    """
)


@pytest.fixture
def plugin_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "my_pricing.py").write_text(CUSTOM)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "my_pricing"
    sys.modules.pop("my_pricing", None)


def promote_info() -> TaskInfo:
    return TaskInfo.of(gym.make_vec("shopgym/Promote-v1", num_envs=2))


def test_policy_by_import_path_is_built_with_its_kwargs(plugin_module: str) -> None:
    policy = build_policy(f"{plugin_module}:LoyalDiscount", promote_info(), seed=0, level=2)
    assert policy.act(np.zeros((3, 4))).tolist() == [2, 2, 2]
    result = evaluate(policy, "shopgym/Promote-v1", n_shoppers=16, seed=1)
    assert result.returns.shape == (16,)


def test_policy_by_entry_point(plugin_module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = metadata.EntryPoint("loyal", f"{plugin_module}:LoyalDiscount", "shopgym.policies")
    monkeypatch.setattr(metadata, "entry_points", lambda group: [entry] if group == "shopgym.policies" else [])
    assert policy_class("loyal").__name__ == "LoyalDiscount"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("never_discont", "did you mean 'never_discount'"),
        ("no_such_module_xyz:Policy", "cannot import module 'no_such_module_xyz'"),
        ("my_pricing:Missing", "has no class 'Missing'"),
        ("my_pricing:NotAPolicy", "lacks name, act, update, save, load of the Policy protocol"),
    ],
)
def test_bad_policy_names_say_what_is_wrong(plugin_module: str, name: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_policy(name, promote_info())


def test_wrong_kwargs_are_named(plugin_module: str) -> None:
    with pytest.raises(ValueError, match=r"cannot be built with kwargs \['colour'\]"):
        build_policy(f"{plugin_module}:LoyalDiscount", promote_info(), colour=1)


def test_saved_plain_sb3_model_acts_like_the_model(tmp_path: Path) -> None:
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", gym.make("shopgym/Promote-v1"), n_steps=64, batch_size=64, seed=0, device="cpu")
    model.learn(64)
    model.save(tmp_path / "ppo_promote")
    policy = SB3ModelPolicy(tmp_path / "ppo_promote", "ppo", promote_info())
    obs = gym.make_vec("shopgym/Promote-v1", num_envs=8).reset(seed=3)[0]
    expected, _ = model.predict(obs, deterministic=True)
    assert np.array_equal(policy.act(obs), expected)
    with pytest.raises(ValueError, match="acts in Discrete"):
        SB3ModelPolicy(tmp_path / "ppo_promote", "ppo", TaskInfo.of(gym.make_vec("shopgym/Marketing-v1", num_envs=2)))
    with pytest.raises(ValueError, match="does not exist"):
        SB3ModelPolicy(tmp_path / "missing", "ppo", promote_info())


def test_custom_policy_and_plain_sb3_model_enter_a_comparison(plugin_module: str, tmp_path: Path) -> None:
    """Both name files relative to the config's folder, and appear in the report beside a built-in baseline."""
    import yaml
    from stable_baselines3 import DQN

    from shopgym.experiments.compare import run_comparison
    from shopgym.experiments.configs import CompareConfig, load_config

    model = DQN("MlpPolicy", gym.make("shopgym/Promote-v1"), learning_starts=0, seed=0, device="cpu")
    model.learn(64)
    (tmp_path / "models").mkdir()
    model.save(tmp_path / "models" / "dqn_promote.zip")
    config = {
        "env": "shopgym/Promote-v1",
        "seeds": 1,
        "n_eval": 20,
        "baselines": [
            "never_discount",
            {"policy": f"{plugin_module}:LoyalDiscount", "kwargs": {"level": 2}, "label": "loyal 20 %"},
            {"sb3": "models/dqn_promote.zip", "algo": "dqn"},
        ],
    }
    (tmp_path / "compare.yml").write_text(yaml.safe_dump(config))
    parsed = load_config(tmp_path / "compare.yml", CompareConfig)
    summary = run_comparison(parsed, tmp_path / "out", "cpu")
    assert {"never discount", "loyal 20 %", "DQN model dqn_promote"} <= set(summary.policies)
    report = (tmp_path / "out" / "report.md").read_text()
    assert "loyal 20 %" in report and "DQN model dqn_promote" in report


@pytest.mark.parametrize(
    ("baseline", "message"),
    [
        ({"sb3": "m.zip"}, "needs algo"),
        ({"policy": "random", "sb3": "m.zip", "algo": "ppo"}, "either policy or sb3"),
        ({"policy": "random", "algo": "ppo"}, "algo applies to an sb3 model"),
        ({"policy": "greedy"}, "needs logs to fit"),
        ({"policy": "no_such_module_xyz:P"}, "cannot import module"),
    ],
)
def test_bad_baseline_specs_say_what_is_wrong(baseline: dict, message: str) -> None:
    from shopgym.experiments.configs import BaselineSpec

    with pytest.raises(ValueError, match=message):
        BaselineSpec.model_validate(baseline)
