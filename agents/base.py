"""The one policy protocol every agent in shopgym implements.

A policy acts on a *batch* of observations [N, F] and returns a batch of actions for the task's action space.
Oracles may also read the simulator's hidden state: the evaluation loop passes the env's
:class:`~shopgym.envs.batch.ShopperBatch` as ``batch`` (``envs.batch`` of a vector env,
``env.unwrapped.batch`` of a single env); every other policy ignores it. Learning policies implement
``update`` with the transitions of one step; ``save`` / ``load`` write and read only plain files the policy
itself produced (JSON and ``.npz`` arrays, or torch state dicts loaded with ``weights_only=True``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from shopgym.envs.batch import ShopperBatch
from shopgym.files import write_atomic
from shopgym.tasks import Task

__all__ = ["BasePolicy", "Policy", "TaskInfo"]


@runtime_checkable
class Policy(Protocol):
    """What evaluation and comparison need from an agent."""

    name: str

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        """Actions [N, ...] for observations [N, F]; ``batch`` exposes the hidden state to oracles."""
        ...

    def update(
        self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray, dones: np.ndarray
    ) -> None:
        """Learn from one step of transitions (no-op for fixed policies)."""
        ...

    def save(self, path: str | Path) -> None: ...

    def load(self, path: str | Path) -> None: ...


class TaskInfo:
    """What a policy may know about its task without the hidden state: spaces, layout, levels."""

    def __init__(self, task: Task, horizon: int) -> None:
        self.task = task
        self.name = task.name
        self.horizon = horizon
        self.layout = task.layout
        self.n_candidates = task.n_candidates
        self.action_space = task.action_space
        self.discount_levels = getattr(task, "discount_levels", np.zeros(1))
        self.price_levels = getattr(task, "price_levels", None)

    @classmethod
    def of(cls, env: Any) -> TaskInfo:
        """From a shopgym single env, Gymnasium vector env, SB3 VecEnv or ShopperBatch."""
        batch = env if isinstance(env, ShopperBatch) else getattr(getattr(env, "unwrapped", env), "batch", None)
        if batch is None:
            raise TypeError(f"{type(env).__name__} is not a shopgym environment")
        return cls(batch.task, batch.horizon)

    def encode(self, item: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Actions for candidate positions ``item`` [N] and discount / price ``level`` [N]."""
        if self.name in ("recommend",):
            return item
        if self.name in ("promote", "pricing"):
            return level
        if self.name == "marketing":
            if getattr(self.task, "action_encoding", "discrete") == "discrete":
                return item * self.discount_levels.size + level
            return np.column_stack([item, level])
        raise ValueError(f"encode() does not apply to the {self.name!r} task")

    def visit_index(self, obs: np.ndarray) -> np.ndarray:
        """[N] 0-based visit number recovered from the observed time fraction."""
        return np.rint(self.layout.shopper(obs, "time_fraction") * self.horizon).astype(np.int64)


class BasePolicy:
    """Defaults: no learning; ``save`` / ``load`` of the constructor parameters in ``params``."""

    name = "policy"
    #: tasks the policy can act in (by task name)
    tasks: tuple[str, ...] = ("recommend", "slate", "promote", "marketing", "pricing")
    #: whether ``update`` learns from transitions (such policies warm up online before a frozen evaluation)
    learns_online = False

    def __init__(self, info: TaskInfo, seed: int | None = None) -> None:
        if info.name not in self.tasks:
            raise ValueError(f"{self.name} does not support the {info.name!r} task (supports: {', '.join(self.tasks)})")
        self.info = info
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, Any] = {}

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        raise NotImplementedError

    def update(
        self, obs: np.ndarray, actions: np.ndarray, rewards: np.ndarray, next_obs: np.ndarray, dones: np.ndarray
    ) -> None:
        return None

    def save(self, path: str | Path) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        saved = {"name": self.name, "params": self.params, "rng_state": self.rng.bit_generator.state}
        write_atomic(path / "policy.json", json.dumps(saved, indent=1))

    def load(self, path: str | Path) -> None:
        saved = json.loads((Path(path) / "policy.json").read_text())
        if saved["name"] != self.name:
            raise ValueError(f"{path} holds a {saved['name']!r} policy, not {self.name!r}")
        self.params = saved["params"]
        self.rng.bit_generator.state = saved["rng_state"]
