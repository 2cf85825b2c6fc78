"""Agents: every policy implements :class:`shopgym.agents.base.Policy` (act on a batch; optional update; save/load).

:func:`make_policy` builds the non-SB3 policies by name for a task.
"""

from __future__ import annotations

from typing import Any

from shopgym.agents.bandits import EpsilonGreedyBandit, LinUCBBandit, ThompsonBandit
from shopgym.agents.base import BasePolicy, Policy, TaskInfo
from shopgym.agents.baselines import (
    CalendarPolicy,
    ConstantPricePolicy,
    GreedyPolicy,
    MarginPolicy,
    NeverDiscountPolicy,
    PopularPolicy,
    RandomPolicy,
)
from shopgym.agents.oracles import DPPricingPolicy, MyopicOracle

__all__ = ["POLICIES", "BasePolicy", "Policy", "TaskInfo", "make_policy"]

#: Policies built from a task alone (plus keyword parameters), by name.
POLICIES: dict[str, type[BasePolicy]] = {
    cls.name: cls
    for cls in (
        RandomPolicy,
        PopularPolicy,
        MarginPolicy,
        NeverDiscountPolicy,
        CalendarPolicy,
        ConstantPricePolicy,
        GreedyPolicy,
        EpsilonGreedyBandit,
        LinUCBBandit,
        ThompsonBandit,
        MyopicOracle,
    )
}


def make_policy(name: str, info: TaskInfo, seed: int | None = None, **params: Any) -> BasePolicy:
    """A policy by name (see :data:`POLICIES`); ``DPPricingPolicy`` needs a solved market: use its ``solve``."""
    if name == DPPricingPolicy.name:
        raise ValueError("build the DP policy with DPPricingPolicy.solve(batch)")
    try:
        cls = POLICIES[name]
    except KeyError:
        raise ValueError(f"unknown policy {name!r}; known: {', '.join(sorted(POLICIES))}") from None
    return cls(info, seed=seed, **params)
