"""The Gymnasium environment: one shopper, i.e. a :class:`~shopgym.envs.batch.ShopperBatch` of one."""

from __future__ import annotations

import sys
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium.wrappers import TimeLimit

from shopgym.envs.batch import DEFAULT_HORIZON, RENDER_MODES, ShopperBatch, check_render_mode
from shopgym.params import ParameterError, check_count

__all__ = ["ShopEnv"]


class ShopEnv(gym.Env):
    """## Description

    One shopper visits the shop until churn, the end of the episode (after ``max_episode_steps`` visits, or at
    random with mean ``mean_visits`` for the planning tasks) or both. At every visit the platform proposes K
    candidate items; the agent decides what to show (and, depending on the task, at what discount). The shopper
    clicks at most one item or leaves (a nested logit over the slate's categories with an outside option), may
    buy the clicked item in one or more units, and then updates a hidden state: reference prices per category,
    deal wear, stock at home, owned items, category fatigue, engagement, taste, wallet. Low engagement raises the
    churn hazard. See ``docs/model.md`` for the equations.

    ## Action space (per task)

    * ``recommend``: ``Discrete(K)``: which candidate to show at list price.
    * ``slate``: ``MultiDiscrete([K] * S)``: an ordered slate (repeats leave later slots empty).
    * ``promote``: ``Discrete(L)``: discount level for the platform's one proposed item.
    * ``marketing``: ``Discrete(K·L)`` (action = item·L + level) or ``MultiDiscrete([K, L])``.
    * ``pricing``: ``Discrete(L)``: price as a fraction of list price for the single product.

    ## Observation space

    ``Box(float32)`` of fixed size: shopper history features, then per candidate its price, margin, rating,
    popularity, public embedding, affinity to the shopper's history, category share and recent exposure.
    Catalog-agnostic, so one policy runs on any catalog with the same embedding dimension. ``observability=
    "full"`` appends the hidden state. ``pricing`` observes ``[ρ, t/H]``.

    ## Rewards

    Profit of the visit by default (``p·x − k`` for a purchase); ``revenue``, ``clicks`` or ``clv`` by the
    scenario's ``reward.kind``. ``info`` carries every component: revenue, profit, discount_cost, clicks,
    purchases, churn, discount.

    ## Starting state

    A new shopper drawn from the scenario's segment mixture. ``reset(seed=s)`` also restarts the market
    (catalog, drift clock); ``reset()`` without a seed keeps the market and its clock running.

    ## Episode end

    ``terminated`` when the shopper churns or, with ``episode_end="geometric"`` (the default of Promote,
    Marketing and Pricing), after every visit with probability 1/``mean_visits``; ``truncated`` at the horizon H,
    the env's ``max_episode_steps`` (for those tasks a far safety cap).

    The horizon is also in the observation (``time_fraction = t/H``), so the env must know the H that ends its
    episodes. ``gymnasium.make(id, max_episode_steps=N)`` passes N only to the ``TimeLimit`` wrapper it adds
    (the registered spec's 50 by default); the env reads it from that wrapper at every ``reset`` (see
    :func:`_time_limits`), so ``gymnasium.make``, ``gymnasium.make_vec(..., max_episode_steps=N)`` (the vector
    env takes N as an argument) and ``make_sb3_vec_env(..., max_episode_steps=N)`` give the same episodes.
    Built directly, ``ShopEnv(max_episode_steps=N)`` (default 50) ends episodes itself.

    ## Arguments

    ``task``, ``scenario`` (preset name, YAML path, mapping or Scenario), ``observability``, the task's options
    (``n_candidates``, ``slate_size``, ``discount_levels``, ``price_levels``, ``action_encoding``: only those the
    task takes, see :data:`shopgym.tasks.TASK_OPTIONS`), ``max_episode_steps`` (when built without
    ``gymnasium.make``), ``render_mode`` (``"ansi"``), ``choice_model``, ``reward_fn``. Every argument is checked
    here: a bad one raises :class:`~shopgym.params.ParameterError`, never a failure at the first ``step``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": list(RENDER_MODES), "render_fps": 4}

    def __init__(
        self,
        task: str = "marketing",
        max_episode_steps: int | None = None,
        render_mode: str | None = None,
        **kwargs: Any,
    ) -> None:
        self.render_mode = check_render_mode(render_mode)
        self._max_episode_steps = max_episode_steps
        horizon = DEFAULT_HORIZON if max_episode_steps is None else max_episode_steps
        self.batch = ShopperBatch.for_env(task, 1, horizon, **kwargs)
        self.observation_space = self.batch.task.observation_space
        self.action_space = self.batch.task.action_space
        self._market_seeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self._follow_time_limit(_time_limits(self))
        if seed is not None or not self._market_seeded:
            entropy = seed if seed is not None else int(self.np_random.integers(2**63))
            self.batch.seed(entropy)
            self._market_seeded = True
        obs = self.batch.reset()[0]
        return obs, {"market_clock": self.batch.simulator.clock}

    def _follow_time_limit(self, limits: list[int]) -> None:
        """Take the horizon from the ``TimeLimit`` wrappers this reset came through (the shortest one ends the
        episode), unless the constructor was given another one."""
        if not limits:
            return
        horizon = check_count("max_episode_steps", min(limits), 1)
        if self._max_episode_steps is not None and horizon != self._max_episode_steps:
            raise ParameterError(
                f"max_episode_steps = {self._max_episode_steps!r} given to ShopEnv, but its TimeLimit wrapper ends "
                f"episodes after {horizon} steps; give the horizon in one place"
            )
        self.batch.horizon = horizon

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, terminated, truncated, info = self.batch.step([action])  # a batch of one, checked by the task
        obs = self.batch.observe()[0]
        details = {key: float(value[0]) for key, value in info.items()}
        details["market_clock"] = self.batch.simulator.clock
        return obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]), details

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self.batch.render_visit(0)
        return None


def _time_limits(env: ShopEnv) -> list[int]:
    """``max_episode_steps`` of every ``TimeLimit`` wrapper of ``env`` that the running ``env.reset`` was called
    through.

    ``gymnasium.make(id, max_episode_steps=N)`` gives N to the ``TimeLimit`` it wraps around the env and to nobody
    else (the env's own spec says None), so the env finds that wrapper among the callers of its ``reset``: the
    wrappers' frames (and Gymnasium's own, e.g. its checkers and vector envs) sit right above it on the stack.
    """
    limits = []
    frame = sys._getframe(1)
    while frame is not None:
        caller = frame.f_locals.get("self")
        if isinstance(caller, gym.Wrapper) and caller.unwrapped is env:
            if isinstance(caller, TimeLimit):
                limits.append(caller._max_episode_steps)  # the attribute TimeLimit itself counts against
        elif caller is not env and not str(frame.f_globals.get("__name__")).startswith("gymnasium."):
            break
        frame = frame.f_back
    return limits
