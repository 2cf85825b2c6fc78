"""A tampered checkpoint (``state.pkl``) is refused before it can call code or read files; real checkpoints of every
algorithm (mixed markets, drift) still load and resume."""

from __future__ import annotations

import builtins
import copyreg
import io
import os
import pathlib
import pickle
import subprocess
from pathlib import Path

import numpy as np
import numpy.random._pickle as numpy_random_pickle
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv, SubprocVecEnv

import shopgym.scenarios
from shopgym.agents.sb3_agents import ALGORITHMS
from shopgym.core import MarketSimulator
from shopgym.envs.batch import ShopperBatch
from shopgym.envs.sb3 import ShopVecEnv
from shopgym.experiments.checkpoints import read_state
from shopgym.experiments.configs import TrainConfig
from shopgym.experiments.runs import RunDirectory, RunError
from shopgym.experiments.training import train_agent
from shopgym.params import Scenario
from shopgym.scenarios import resolve_scenario
from tests.conftest import make_simulator, small_scenario

TINY_HYPERPARAMS = {
    "ppo": "default:\n  n_envs: 8\n  n_steps: 8\n  batch_size: 32\n  n_epochs: 1\n  normalize_rewards: true\n"
    "  deterministic: false\n",
    "a2c": "default:\n  n_envs: 8\n  n_steps: 8\n  normalize_rewards: true\n",
    "dqn": "default:\n  n_envs: 8\n  buffer_size: 2000\n  learning_starts: 32\n  batch_size: 16\n"
    "  target_update_interval: 64\n",
    "recurrentppo": "default:\n  n_envs: 8\n  n_steps: 8\n  batch_size: 32\n  n_epochs: 1\n",
}
DRIFTING = {
    "base": "default",
    "catalog": {"n_items": 200},
    "drift": [
        {"kind": "seasonal", "period": 20},
        {"kind": "switch", "at": 30, "to": "holiday"},
        {"kind": "gradual", "start": 10, "end": 60, "to": "recession"},
        {"kind": "catalog_churn", "every": 15, "fraction": 0.1},
        {"kind": "competitor", "at": 5, "ramp": 10},
    ],
}


class Call:
    """Pickles as a call of ``function`` with ``args``: what a tampered ``state.pkl`` holds."""

    def __init__(self, function, *args) -> None:
        self.function, self.args = function, args

    def __reduce__(self):
        return self.function, self.args


@pytest.fixture
def sentinel(tmp_path, monkeypatch) -> Path:
    """A file that exists only if a payload ran; reading a scenario file creates it too."""
    path = tmp_path / "pwned"

    def spy(*args, **kwargs):
        path.touch()
        raise AssertionError("a checkpoint read a scenario file")

    monkeypatch.setattr(shopgym.scenarios, "load_scenario", spy)
    return path


def refused(payload: bytes, tmp_path: Path) -> str:
    """The message of the error that reading ``payload`` as a checkpoint's state raises."""
    path = tmp_path / "state.pkl"
    path.write_bytes(payload)
    with pytest.raises(pickle.UnpicklingError) as error:
        read_state(path)
    return str(error.value)


def dumps(thing) -> bytes:
    return pickle.dumps({"env": thing}, protocol=pickle.HIGHEST_PROTOCOL)


def qualified(thing) -> str:
    return f"{thing.__module__}.{thing.__qualname__}"


@pytest.mark.parametrize(
    ("function", "args"),
    [
        (os.system, ("touch {sentinel}",)),
        (builtins.eval, ("open({sentinel!r}, 'w')",)),
        (builtins.exec, ("open({sentinel!r}, 'w')",)),
        (subprocess.Popen, (["touch", "{sentinel}"],)),
        (subprocess.check_output, (["touch", "{sentinel}"],)),
        (pathlib.Path, ("{sentinel}",)),
        (np.save, ("{sentinel}", 0)),
        (np.load, ("{sentinel}",)),
        (DummyVecEnv, ([],)),
        (SubprocVecEnv, ([],)),
        (TrainConfig, ()),
        (pickle.loads, (b"",)),
    ],
    ids=lambda value: getattr(value, "__qualname__", None),
)
def test_checkpoint_naming_a_class_or_function_outside_the_list_is_refused(function, args, sentinel, tmp_path):
    args = tuple(
        [a.format(sentinel=str(sentinel)) for a in arg]
        if isinstance(arg, list)
        else arg.format(sentinel=str(sentinel))
        if isinstance(arg, str)
        else arg
        for arg in args
    )
    message = refused(dumps(Call(function, *args)), tmp_path)
    assert f"never holds {qualified(function)}" in message
    assert not sentinel.exists()


@pytest.mark.parametrize(
    ("module", "name"),
    [
        ("shopgym.files", "Path"),  # pathlib.Path
        ("shopgym.params", "BaseModel"),  # pydantic
        ("shopgym.envs.sb3", "VecEnv"),  # stable-baselines3
        ("shopgym.envs.vector", "VectorEnv"),  # gymnasium
        ("shopgym.envs.single", "ShopEnv"),  # shopgym's own, but never in a checkpoint
    ],
)
def test_checkpoint_naming_a_class_through_a_shopgym_module_is_refused(module, name, tmp_path):
    """Any class a shopgym module imports was reachable by name: only the listed ones are now."""
    # GLOBAL module.name, then REDUCE it with one argument (a path), in pickle's protocol 0.
    payload = f"c{module}\n{name}\n(V{tmp_path / 'secret.yaml'}\ntR.".encode()
    assert f"never holds {module}.{name}" in refused(payload, tmp_path)


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (ShopperBatch, ("marketing", 1, "{scenario}")),  # would read the scenario file
        (ShopVecEnv, (1,)),
        (MarketSimulator, (None, 1, resolve_scenario)),
        (Scenario, ()),  # a pydantic model: validation runs code
    ],
    ids=lambda value: getattr(value, "__qualname__", None),
)
def test_checkpoint_calling_a_listed_class_is_refused(cls, args, sentinel, tmp_path):
    args = tuple(arg.format(scenario=str(tmp_path / "market.yaml")) if isinstance(arg, str) else arg for arg in args)
    message = refused(dumps(Call(cls, *args)), tmp_path)
    assert f"never calls {qualified(cls)}" in message
    assert not sentinel.exists()


def test_checkpoint_calling_the_scenario_resolver_with_a_path_is_refused(sentinel, tmp_path):
    message = refused(dumps(Call(resolve_scenario, str(tmp_path / "secret.yaml"))), tmp_path)
    assert "never calls shopgym.scenarios.resolve_scenario" in message
    assert not sentinel.exists()


def test_checkpoint_random_generator_helpers_build_only_pcg64(sentinel, tmp_path):
    # NumPy's own helpers call whatever class or function they are given.
    payloads = [
        Call(numpy_random_pickle.__bit_generator_ctor, ShopVecEnv),
        Call(numpy_random_pickle.__generator_ctor, "market.yaml", ShopperBatch),
    ]
    for payload in payloads:
        refused(dumps(payload), tmp_path)
    assert not sentinel.exists()


def test_checkpoint_setting_attributes_of_a_class_is_refused(tmp_path):
    # GLOBAL shopgym.core.MarketSimulator, then BUILD (None, {"step": 1}): setattr on the class itself.
    payload = b"cshopgym.core\nMarketSimulator\nN}Vstep\nI1\ns\x86b."
    message = refused(payload, tmp_path)
    assert "never sets attributes of shopgym.core.MarketSimulator" in message
    assert MarketSimulator.step is not None and callable(MarketSimulator.step)


def test_checkpoint_pickled_before_the_resolver_was_left_out_still_loads(tmp_path):
    """Older checkpoints hold the simulator's scenario resolver by name; it is never called, and replaced."""
    simulator = make_simulator(small_scenario())

    class OldPickler(pickle.Pickler):
        def reducer_override(self, obj):
            if isinstance(obj, MarketSimulator):
                return copyreg.__newobj__, (MarketSimulator,), dict(vars(obj))
            return NotImplemented

    buffer = io.BytesIO()
    OldPickler(buffer, protocol=pickle.HIGHEST_PROTOCOL).dump({"env": simulator})
    assert b"resolve_scenario" in buffer.getvalue()
    (tmp_path / "state.pkl").write_bytes(buffer.getvalue())
    loaded = read_state(tmp_path / "state.pkl")["env"]
    assert loaded._resolve is resolve_scenario
    assert b"resolve_scenario" not in pickle.dumps(loaded)


def _train(tmp_path: Path, algo: str, **config) -> tuple[RunDirectory, TrainConfig, Path]:
    hyperparams = tmp_path / f"{algo}.yml"
    hyperparams.write_text(TINY_HYPERPARAMS[algo])
    config = TrainConfig(algo=algo, n_timesteps=256, eval_freq=256, n_eval=8, checkpoint_freq=64, **config)
    run = RunDirectory(tmp_path / algo)
    train_agent(run, config, "cpu", hyperparams_file=hyperparams)
    (run.path / "summary.json").unlink()  # as if killed after its last checkpoint
    return run, config, hyperparams


@pytest.mark.parametrize("algo", sorted(ALGORITHMS))
def test_real_checkpoints_of_every_algorithm_resume(algo, tmp_path):
    """A mixed-market run with every kind of drift: everything its checkpoint holds is on the list."""
    run, config, _ = _train(tmp_path, algo, env="shopgym/Promote-v1", scenario=DRIFTING, train_mix=["fashion"])
    assert b"resolve_scenario" not in (run.path / "checkpoint" / "state.pkl").read_bytes()
    summary = train_agent(run, config, "cpu", resume=True)
    assert summary["resumes"] == 1 and summary["env_steps"] == 256


def test_resume_from_a_tampered_checkpoint_is_a_one_line_run_error(sentinel, tmp_path):
    run, config, _ = _train(tmp_path, "ppo")
    (run.path / "checkpoint" / "state.pkl").write_bytes(dumps(Call(os.system, f"touch {sentinel}")))
    with pytest.raises(RunError, match=r"cannot resume from '.*state\.pkl': ") as error:
        train_agent(run, config, "cpu", resume=True)
    assert f"never holds {qualified(os.system)}" in str(error.value) and "\n" not in str(error.value)
    assert not sentinel.exists()
