"""A stable-baselines3 ``VecEnv`` over the batched core, so PPO / DQN train on thousands of shoppers at once.

SB3 cannot take a Gymnasium ``VectorEnv``; this adapter gives it the interface it expects: same-step autoreset,
``terminal_observation``, ``TimeLimit.truncated`` and Monitor-style ``episode`` statistics (return in reward
units, length in visits) in the infos of finished slots, and seeding through
:meth:`ShopVecEnv.seed` before :meth:`reset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvStepReturn

from shopgym.envs.batch import DEFAULT_HORIZON, ShopperBatch

__all__ = ["ConcatShopVecEnv", "ShopVecEnv", "make_mixed_sb3_vec_env", "make_sb3_vec_env"]


def _slots(num_envs: int, indices: VecEnvIndices) -> list[int]:
    """SB3's ``indices`` argument (None, an int or a sequence) as a list of slots."""
    if indices is None:
        return list(range(num_envs))
    if isinstance(indices, int | np.integer):
        return [int(indices)]
    return list(indices)


class ShopVecEnv(VecEnv):
    """``num_envs`` shopper slots of one market as an SB3 ``VecEnv``.

    ``infos`` is a list of dicts as SB3 requires; only finished slots carry entries (building per-slot dicts of
    KPIs would cost a Python loop per shopper). The KPI arrays of the last step are in :attr:`last_info`.
    """

    def __init__(
        self,
        num_envs: int = 1,
        task: str = "marketing",
        max_episode_steps: int = DEFAULT_HORIZON,
        seed: int | None = None,
        **kwargs: Any,
    ) -> None:
        self.render_mode = None
        self.batch = ShopperBatch.for_env(task, num_envs, max_episode_steps, **kwargs)
        super().__init__(self.batch.num_shoppers, self.batch.task.observation_space, self.batch.task.action_space)
        self._seed: int | None = seed
        self._actions: np.ndarray | None = None
        self._market_seeded = False
        self.last_info: dict[str, np.ndarray] = {}
        self._episode_return = np.zeros(self.num_envs)
        self._episode_length = np.zeros(self.num_envs, dtype=np.int64)

    @property
    def market_clock(self) -> int:
        """Visits the market has seen since it was seeded: the clock drift runs on (the Gymnasium adapters report it
        as ``info["market_clock"]``)."""
        return self.batch.simulator.clock

    # ------------------------------------------------------------------ the VecEnv interface
    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed the market at the next :meth:`reset` (one seed for all slots: they share one market)."""
        self._seed = seed
        return [seed] * self.num_envs

    def reset(self) -> np.ndarray:
        if self._seed is not None or not self._market_seeded:
            entropy = self._seed if self._seed is not None else np.random.SeedSequence().entropy
            self.batch.seed(entropy)
            self._market_seeded = True
            self._seed = None
        self._episode_return[:] = 0.0
        self._episode_length[:] = 0
        return self.batch.reset()

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        reward, terminated, truncated, info = self.batch.step(self._actions)
        self.last_info = info
        self._episode_return += reward
        self._episode_length += 1
        done = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if done.any():
            finished = np.flatnonzero(done)
            terminal = self.batch.observe()[finished]
            for row, last_obs in zip(finished, terminal, strict=True):
                infos[row]["terminal_observation"] = last_obs
                infos[row]["TimeLimit.truncated"] = bool(truncated[row])
                # SB3's Monitor format: what fills ``ep_info_buffer`` (rollout/ep_rew_mean in logs).
                infos[row]["episode"] = {
                    "r": float(self._episode_return[row]),
                    "l": int(self._episode_length[row]),
                    "t": 0.0,
                }
            self._episode_return[finished] = 0.0
            self._episode_length[finished] = 0
            self.batch.replace(done)
        return self.batch.observe(), reward.astype(np.float32), done, infos

    def close(self) -> None:
        pass

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return _slots(self.num_envs, indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self, attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        result = getattr(self, method_name)(*method_args, **method_kwargs)
        return [result for _ in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]


def make_sb3_vec_env(env_id: str, num_envs: int, seed: int | None = None, **kwargs: Any) -> ShopVecEnv:
    """An SB3 ``VecEnv`` for a registered shopgym id (its task and horizon from the registry) plus kwargs;
    ``max_episode_steps=N`` sets the horizon as in ``gymnasium.make``."""
    spec = gym.spec(env_id)
    if not str(spec.entry_point).startswith("shopgym."):
        raise ValueError(f"{env_id!r} is not a shopgym environment")
    options = {**spec.kwargs, **kwargs}
    options.setdefault("max_episode_steps", spec.max_episode_steps or DEFAULT_HORIZON)
    return ShopVecEnv(num_envs=num_envs, seed=seed, **options)


class ConcatShopVecEnv(VecEnv):
    """Several :class:`ShopVecEnv` of one task (e.g. different scenarios) stepped as one SB3 ``VecEnv``: slots
    ``[0, n_0)`` belong to the first, the next ``n_1`` to the second, and so on. Used to train on a mix of
    markets (multi-task training, rehearsal of earlier markets)."""

    def __init__(self, parts: Sequence[ShopVecEnv]) -> None:
        if not parts:
            raise ValueError("ConcatShopVecEnv needs at least one part")
        first = parts[0]
        for part in parts[1:]:
            if part.observation_space != first.observation_space or part.action_space != first.action_space:
                raise ValueError("every part of a ConcatShopVecEnv must have the same observation and action spaces")
        self.parts = list(parts)
        self.render_mode = None
        self._bounds = np.cumsum([0] + [p.num_envs for p in self.parts])
        super().__init__(int(self._bounds[-1]), first.observation_space, first.action_space)

    def seed(self, seed: int | None = None) -> Sequence[int | None]:
        """Seed part ``i`` with ``seed + i`` at the next :meth:`reset`."""
        for i, part in enumerate(self.parts):
            part.seed(None if seed is None else seed + i)
        return [seed] * self.num_envs

    def reset(self) -> np.ndarray:
        return np.concatenate([part.reset() for part in self.parts])

    def step_async(self, actions: np.ndarray) -> None:
        for part, low, high in zip(self.parts, self._bounds[:-1], self._bounds[1:], strict=True):
            part.step_async(actions[low:high])

    def step_wait(self) -> VecEnvStepReturn:
        results = [part.step_wait() for part in self.parts]
        infos = [info for result in results for info in result[3]]
        return (
            np.concatenate([r[0] for r in results]),
            np.concatenate([r[1] for r in results]),
            np.concatenate([r[2] for r in results]),
            infos,
        )

    def close(self) -> None:
        for part in self.parts:
            part.close()

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        values = [v for part in self.parts for v in part.get_attr(attr_name)]
        return values if indices is None else [values[i] for i in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        for part in self.parts:
            part.set_attr(attr_name, value)

    def env_method(
        self, method_name: str, *method_args: Any, indices: VecEnvIndices = None, **method_kwargs: Any
    ) -> list[Any]:
        values = [v for part in self.parts for v in part.env_method(method_name, *method_args, **method_kwargs)]
        return values if indices is None else [values[i] for i in self._indices(indices)]

    def env_is_wrapped(self, wrapper_class: type[gym.Wrapper], indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        return _slots(self.num_envs, indices)


def make_mixed_sb3_vec_env(
    env_id: str, scenarios: Sequence[Any], num_envs: int, seed: int | None = None, **kwargs: Any
) -> ConcatShopVecEnv:
    """``num_envs`` slots split as evenly as possible over ``scenarios`` (names, YAML paths or mappings), each
    share its own market, as one SB3 ``VecEnv``."""
    if not 1 <= len(scenarios) <= num_envs:
        raise ValueError(f"need between 1 and num_envs = {num_envs} scenarios, got {len(scenarios)}")
    sizes = np.full(len(scenarios), num_envs // len(scenarios))
    sizes[: num_envs % len(scenarios)] += 1
    parts = [
        make_sb3_vec_env(env_id, int(size), seed=None if seed is None else seed + i, scenario=scenario, **kwargs)
        for i, (scenario, size) in enumerate(zip(scenarios, sizes, strict=True))
    ]
    return ConcatShopVecEnv(parts)
