"""The native Gymnasium vector env: N shoppers stepped by the batched core in one call (not N env copies)."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from shopgym.envs.batch import DEFAULT_HORIZON, RENDER_MODES, ShopperBatch, check_render_mode
from shopgym.reward import COMPONENTS

__all__ = ["ShopVectorEnv"]


class ShopVectorEnv(VectorEnv):
    """``num_envs`` shopper slots of one market, autoreset in ``next_step`` mode (Gymnasium's default).

    A slot whose episode ended (churn or horizon) is refilled with a new shopper on the *next* call to
    :meth:`step`: that call ignores the slot's action and returns the new shopper's first observation with
    reward 0 and no termination. All slots share one market (catalog, clock, drift) and one seed.

    ``info`` holds arrays [num_envs] for every reward component (and ``_name`` masks, all True).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(
        self,
        num_envs: int = 1,
        task: str = "marketing",
        max_episode_steps: int = DEFAULT_HORIZON,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.render_mode = check_render_mode(render_mode)
        self.batch = ShopperBatch.for_env(task, num_envs, max_episode_steps, **kwargs)
        self.num_envs = self.batch.num_shoppers
        self.single_observation_space = self.batch.task.observation_space
        self.single_action_space = self.batch.task.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._autoreset = np.zeros(self.num_envs, dtype=bool)
        self._market_seeded = False

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None and not isinstance(seed, int | np.integer):
            raise ValueError(f"seed must be an int or None for {type(self).__name__} (one market), got {seed!r}")
        if seed is not None or not self._market_seeded:
            self._np_random, self._np_random_seed = seeding.np_random(seed)
            self.batch.seed(seed if seed is not None else int(self._np_random.integers(2**63)))
            self._market_seeded = True
        self._autoreset[:] = False
        return self.batch.reset(), {"market_clock": self.batch.simulator.clock}

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        restarting = self._autoreset
        if restarting.all():
            # nobody visits, so the core is skipped (a vector env of one then matches the single env exactly)
            self.batch.task.check(actions, self.num_envs)
            zeros = np.zeros(self.num_envs)
            reward, terminated, truncated = zeros, zeros.astype(bool), zeros.astype(bool)
            info = {key: zeros for key in (*COMPONENTS, "discount")}
        else:
            reward, terminated, truncated, info = self.batch.step(actions, active=~restarting)
        if restarting.any():
            self.batch.replace(restarting)
            reward = np.where(restarting, 0.0, reward)
            terminated, truncated = terminated & ~restarting, truncated & ~restarting
            info = {key: np.where(restarting, 0.0, value) for key, value in info.items()}
        self._autoreset = terminated | truncated
        every = np.ones(self.num_envs, dtype=bool)
        info.update({f"_{key}": every for key in list(info)})
        return self.batch.observe(), reward, terminated, truncated, info

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self.batch.render_visit(0)
        return None

    def close_extras(self, **kwargs: Any) -> None:
        pass
