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
from shopgym.tasks import CAPABILITIES, Task

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
    """What a policy may know about its task without the hidden state: spaces, layout, levels. What an action
    means (arms, encoding, candidate layout) is the task's own: ask ``info.task``."""

    def __init__(self, task: Task, horizon: int) -> None:
        self.task = task
        self.name = task.name
        self.horizon = horizon  # the visits ``time_fraction`` counts in (the mean length for geometric ends)
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
        return cls(batch.task, batch.time_scale)

    def visit_index(self, obs: np.ndarray) -> np.ndarray:
        """[N] 0-based visit number recovered from the observed time fraction."""
        return np.rint(self.layout.shopper(obs, "time_fraction") * self.horizon).astype(np.int64)


class BasePolicy:
    """Defaults: no learning; ``save`` / ``load`` of the constructor parameters in ``params``.

    A policy that acts in some tasks only lists the task capabilities it relies on in ``requires`` (names from
    :data:`shopgym.tasks.CAPABILITIES`, e.g. ``("chooses_level",)`` for a discount calendar); it then acts in
    every task, built-in or added later, that has them, and the constructor refuses the others."""

    name = "policy"
    #: the task capabilities the policy needs (:data:`shopgym.tasks.CAPABILITIES`); none: it acts in every task
    requires: tuple[str, ...] = ()
    #: whether ``update`` learns from transitions (such policies warm up online before a frozen evaluation)
    learns_online = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "tasks" in cls.__dict__:  # the attribute of earlier versions, which would now be silently ignored
            raise TypeError(
                f"{cls.__name__}.tasks lists task names, which policies no longer declare: list the task "
                f"capabilities it needs in requires instead (one of {', '.join(CAPABILITIES)})"
            )
        unknown = sorted(set(cls.requires) - set(CAPABILITIES))
        if unknown:
            raise TypeError(
                f"{cls.__name__}.requires names unknown capabilities {unknown}; known: {list(CAPABILITIES)}"
            )

    def __init__(self, info: TaskInfo, seed: int | None = None) -> None:
        if not self.supports(info.task):
            needs = "; ".join(CAPABILITIES[capability] for capability in self.requires)
            raise ValueError(f"{self.name} does not support the {info.name!r} task: it needs a task where {needs}")
        self.info = info
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.params: dict[str, Any] = {}

    @classmethod
    def supports(cls, task: Task) -> bool:
        """Whether ``task`` has every capability the policy :attr:`requires`."""
        return all(getattr(task, capability) for capability in cls.requires)

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
