"""The Gymnasium environment: one shopper, i.e. a :class:`~shopgym.envs.batch.ShopperBatch` of one."""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from shopgym.envs.batch import DEFAULT_HORIZON, ShopperBatch

__all__ = ["ShopEnv"]


class ShopEnv(gym.Env):
    """## Description

    One shopper visits the shop up to ``max_episode_steps`` times. At every visit the platform proposes K
    candidate items; the agent decides what to show (and, depending on the task, at what discount). The shopper
    clicks at most one item or leaves (multinomial logit with an outside option), may buy the clicked item, and
    then updates a hidden state: reference price (discount habituation), category fatigue, engagement, taste,
    wallet. Low engagement raises the churn hazard. See ``docs/model.md`` for the equations.

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

    ``terminated`` when the shopper churns; ``truncated`` at the horizon (``max_episode_steps`` of the spec).

    ## Arguments

    ``task``, ``scenario`` (preset name, YAML path, mapping or Scenario), ``observability``, ``n_candidates``,
    ``slate_size``, ``discount_levels``, ``price_levels``, ``action_encoding``, ``horizon`` (used when built
    without ``gymnasium.make``), ``render_mode`` (``"ansi"``), ``choice_model``, ``reward_fn``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self, task: str = "marketing", horizon: int = DEFAULT_HORIZON, render_mode: str | None = None, **kwargs: Any
    ) -> None:
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode = {render_mode!r}; allowed: None, 'ansi'")
        self.render_mode = render_mode
        self.batch = ShopperBatch(task, 1, horizon=horizon, **kwargs)
        self.observation_space = self.batch.task.observation_space
        self.action_space = self.batch.task.action_space
        self._market_seeded = False

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        if self.spec is not None and self.spec.max_episode_steps is not None:
            self.batch.horizon = self.spec.max_episode_steps
        if seed is not None or not self._market_seeded:
            entropy = seed if seed is not None else int(self.np_random.integers(2**63))
            self.batch.seed(entropy)
            self._market_seeded = True
        obs = self.batch.reset()[0]
        return obs, {"market_clock": self.batch.simulator.clock}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward, terminated, truncated, info = self.batch.step(np.asarray(action)[None])
        obs = self.batch.observe()[0]
        details = {key: float(value[0]) for key, value in info.items()}
        details["market_clock"] = self.batch.simulator.clock
        return obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]), details

    def render(self) -> str | None:
        if self.render_mode == "ansi":
            return self.batch.render_visit(0)
        return None
