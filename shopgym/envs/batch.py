"""A task and the batched simulator wired together: the runtime every env adapter drives.

``ShopperBatch`` owns N shopper slots. The single Gymnasium env is a batch of one; the Gymnasium vector env and
the SB3 VecEnv are batches of N. They differ only in how they reset finished slots.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

from shopgym.choice import ChoiceModel
from shopgym.core import MarketSimulator, VisitOutcome
from shopgym.params import ParameterError, Scenario
from shopgym.reward import COMPONENTS, RewardFunction
from shopgym.scenarios import resolve_scenario
from shopgym.tasks import DEFAULT_DISCOUNT_LEVELS, DEFAULT_PRICE_LEVELS, Task, make_task, pricing_scenario

__all__ = ["DEFAULT_HORIZON", "ShopperBatch"]

DEFAULT_HORIZON = 50


class ShopperBatch:
    """N shopper slots of one task in one market.

    Args:
        task: one of ``recommend``, ``slate``, ``promote``, ``marketing``, ``pricing``.
        num_shoppers: N.
        scenario: preset name, YAML path, mapping or :class:`~shopgym.params.Scenario`.
        observability: ``"partial"`` (what a platform logs) or ``"full"`` (adds the hidden state).
        horizon: visits per episode (the env reports ``truncated`` when a shopper reaches it).
        n_candidates, slate_size, discount_levels, price_levels, action_encoding: task options.
        choice_model, reward_fn: injected components (defaults: MNL choice, the scenario's KPI reward).
    """

    def __init__(
        self,
        task: str,
        num_shoppers: int,
        scenario: str | os.PathLike[str] | Scenario | dict[str, Any] = "default",
        observability: str = "partial",
        horizon: int = DEFAULT_HORIZON,
        n_candidates: int = 20,
        slate_size: int = 5,
        discount_levels: Sequence[float] = DEFAULT_DISCOUNT_LEVELS,
        price_levels: Sequence[float] = DEFAULT_PRICE_LEVELS,
        action_encoding: str = "discrete",
        choice_model: ChoiceModel | None = None,
        reward_fn: RewardFunction | None = None,
    ) -> None:
        if not isinstance(num_shoppers, int | np.integer) or num_shoppers < 1:
            raise ParameterError(f"num_envs = {num_shoppers!r} must be a positive integer")
        if not isinstance(horizon, int | np.integer) or horizon < 1:
            raise ParameterError(f"horizon (max_episode_steps) = {horizon!r} must be a positive integer")
        if observability not in ("partial", "full"):
            raise ParameterError(f"observability = {observability!r}; allowed: 'partial', 'full'")
        market = resolve_scenario(scenario)
        if task == "pricing":
            market = pricing_scenario(market)
        self.scenario = market
        self.task: Task = make_task(
            task,
            market.catalog.embed_dim,
            observability == "full",
            n_candidates=n_candidates,
            slate_size=slate_size,
            discount_levels=discount_levels,
            price_levels=price_levels,
            action_encoding=action_encoding,
        )
        self.num_shoppers = int(num_shoppers)
        self.horizon = int(horizon)
        self.simulator = MarketSimulator(
            market, self.task.n_candidates, resolve_scenario, choice_model=choice_model, reward_fn=reward_fn
        )
        self.state = None
        self.last_outcome: VisitOutcome | None = None
        self.last_action: np.ndarray | None = None

    # ------------------------------------------------------------------ lifecycle
    def seed(self, seed: int | np.random.SeedSequence | None) -> None:
        self.simulator.seed(seed)

    def reset(self) -> np.ndarray:
        """New shoppers in every slot (the market clock keeps running); returns observations [N, F]."""
        self.state = self.simulator.new_shoppers(self.num_shoppers)
        self.last_outcome, self.last_action = None, None
        return self.observe()

    def replace(self, rows: np.ndarray) -> None:
        """New shoppers in the slots of the bool mask ``rows``."""
        self.simulator.replace_shoppers(self.state, rows)

    def observe(self) -> np.ndarray:
        return self.task.observe(self.state, self.simulator.catalog, self.horizon)

    def step(
        self, actions: object, active: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
        """One visit per slot. Returns reward [N], terminated [N] (churn), truncated [N] (horizon), info.

        ``active`` (bool [N]) marks the slots whose visit counts on the market clock; the caller discards the
        others (a next-step autoreset).
        """
        if self.state is None:
            raise RuntimeError("call reset() before step()")
        checked = self.task.check(actions, self.num_shoppers)
        slate, paid_fraction = self.task.decode(checked)
        outcome = self.simulator.step(self.state, slate, paid_fraction, active)
        self.last_outcome, self.last_action = outcome, checked
        terminated = outcome.churned
        truncated = ~terminated & (self.state.visits >= self.horizon)
        info = {name: outcome.components[name] for name in COMPONENTS}
        info["discount"] = np.where(outcome.purchased, 1.0 - outcome.paid_fraction, 0.0)
        return outcome.reward, terminated, truncated, info

    # ------------------------------------------------------------------ rendering
    def render_visit(self, row: int = 0) -> str:
        """A readable account of the last visit (or the next one, before any step) of shopper ``row``."""
        sim, state = self.simulator, self.state
        if state is None:
            return "(no shoppers yet: call reset())"
        catalog = sim.catalog
        lines = [
            f"market clock {sim.clock} · scenario {self.scenario.name} · task {self.task.name}",
            (
                f"shopper {row}: segment {self.scenario.segments[state.segment[row]].name}, "
                f"visit {state.visits[row]}/{self.horizon}, engagement {state.engagement[row]:.2f}, "
                f"reference price {state.reference_price[row]:.2f}, wallet {state.wallet[row]:.0f}"
            ),
        ]
        if self.last_outcome is not None and self.last_action is not None:
            out = self.last_outcome
            lines.append(f"last action: {self.task.describe_action(self.last_action[row])}")
            if out.item[row] < 0:
                lines.append("outcome: left without clicking")
            else:
                verb = "bought" if out.purchased[row] else "clicked, did not buy"
                lines.append(
                    f"outcome: {verb} item {out.item[row]} at {100 * (1 - out.paid_fraction[row]):.0f}% off, "
                    f"reward {out.reward[row]:.2f}" + (" · churned" if out.churned[row] else "")
                )
        lines.append("next candidates:  item  category   price  margin  rating")
        for position, item in enumerate(state.candidates[row][:10]):
            lines.append(
                f"  [{position:2d}] {item:9d} {catalog.category[item]:9d} {catalog.price[item]:7.2f} "
                f"{catalog.margin[item]:6.0%} {catalog.quality[item]:+7.2f}"
            )
        if self.task.n_candidates > 10:
            lines.append(f"  … {self.task.n_candidates - 10} more")
        return "\n".join(lines)
