"""Policies from outside shopgym: a class by import path, a plugin entry point, or a saved plain SB3 model.

A comparison config names a policy as

- a built-in name (``never_discount``; see :data:`shopgym.agents.POLICIES`);
- an import path ``"package.module:ClassName"``: the module is imported, nothing else runs;
- the name of an entry point in the ``shopgym.policies`` group, which a package declares in its
  ``pyproject.toml`` (``[project.entry-points."shopgym.policies"] loyal = "mypkg.pricing:LoyalDiscount"``).

The class is called as ``cls(info, seed=seed, **kwargs)`` with the task's :class:`~shopgym.agents.base.TaskInfo`, and
what it returns must have the :class:`~shopgym.agents.base.Policy` methods. Nothing is ``eval``-ed.

:class:`SB3ModelPolicy` wraps a model saved by stable-baselines3 itself (``model.save("ppo_promote")``), so a policy
trained outside shopgym's commands enters a comparison as it is. Loading an SB3 ``.zip`` unpickles parts of it:
load only models you trained or trust, as with any SB3 model.
"""

from __future__ import annotations

import difflib
import importlib
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

from shopgym.agents.base import Policy, TaskInfo
from shopgym.envs.batch import ShopperBatch

__all__ = ["ENTRY_POINT_GROUP", "SB3ModelPolicy", "build_policy", "policy_class"]

ENTRY_POINT_GROUP = "shopgym.policies"


def _builtin() -> dict[str, type]:
    from shopgym.agents import POLICIES  # the package imports this module's users, not the other way round

    return POLICIES


def policy_class(name: str) -> type:
    """The class a config's ``policy`` names: built-in name, ``module:Class`` import path or entry point name.

    Raises ``ValueError`` naming what could not be found (with close built-in names)."""
    builtin = _builtin()
    if name in builtin:
        return builtin[name]
    if ":" in name:
        module_name, _, attribute = name.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError as error:
            raise ValueError(f"policy {name!r}: cannot import module {module_name!r} ({error})") from None
        found = getattr(module, attribute, None)
        if not isinstance(found, type):
            raise ValueError(f"policy {name!r}: module {module_name!r} has no class {attribute!r}")
        return found
    for entry in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            found = entry.load()
            if not isinstance(found, type):
                raise ValueError(f"policy {name!r}: entry point {entry.value!r} is not a class")
            return found
    plugins = sorted(entry.name for entry in metadata.entry_points(group=ENTRY_POINT_GROUP))
    close = difflib.get_close_matches(name, [*builtin, *plugins], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"unknown policy {name!r}{hint} Known: {', '.join(sorted(builtin))}"
        + (f"; plugins: {', '.join(plugins)}" if plugins else "")
        + "; or give an import path 'package.module:ClassName'"
    )


def build_policy(name: str, info: TaskInfo, seed: int | None = None, **kwargs: Any) -> Policy:
    """``policy_class(name)(info, seed=seed, **kwargs)``, checked to implement the :class:`Policy` protocol."""
    cls = policy_class(name)
    try:
        policy = cls(info, seed=seed, **kwargs)
    except TypeError as error:
        raise ValueError(f"policy {name!r} cannot be built with kwargs {sorted(kwargs)}: {error}") from None
    if not isinstance(policy, Policy):
        missing = [m for m in ("name", "act", "update", "save", "load") if not hasattr(policy, m)]
        raise ValueError(f"policy {name!r} ({cls.__name__}) lacks {', '.join(missing)} of the Policy protocol")
    return policy


class SB3ModelPolicy:
    """A model saved by stable-baselines3 (``.zip``), acting with its most likely action.

    Args:
        path: the saved model (``.zip`` may be left out, as SB3 allows).
        algo: the SB3 algorithm that saved it (``ppo``, ``dqn``, ``a2c`` or ``recurrentppo``).
        info: the task the model acts in; its observation and action spaces must match the model's.
        device: torch device for inference.
    """

    learns_online = False

    def __init__(self, path: str | Path, algo: str, info: TaskInfo, device: str = "cpu") -> None:
        from shopgym.agents.sb3_agents import ALGORITHMS

        if algo not in ALGORITHMS:
            raise ValueError(f"sb3 model {str(path)!r}: unknown algo {algo!r}; known: {', '.join(ALGORITHMS)}")
        path = Path(path)
        if not path.is_file() and not path.with_suffix(".zip").is_file():
            raise ValueError(f"sb3 model {str(path)!r} does not exist")
        self.model = ALGORITHMS[algo].load(path, device=device)
        self.name = f"{algo} model {path.name}"
        if self.model.action_space != info.action_space:
            raise ValueError(
                f"sb3 model {str(path)!r} acts in {self.model.action_space}, the task in {info.action_space}"
            )
        self._state: Any = None

    def act(self, obs: np.ndarray, batch: ShopperBatch | None = None) -> np.ndarray:
        actions, self._state = self.model.predict(obs, state=self._state, deterministic=True)
        return actions

    def update(self, *transition: np.ndarray) -> None:
        return None

    def save(self, path: str | Path) -> None:
        self.model.save(Path(path) / "model.zip")

    def load(self, path: str | Path) -> None:
        self.model = type(self.model).load(Path(path) / "model.zip", device=self.model.device)
