"""The tasks: what an action means and what the agent observes.

A task turns a batch of actions into a slate (candidate positions) and paid fractions for the core, and
builds observations. ``Recommend`` picks one of K candidates at list price; ``RecommendSlate`` orders S of
them; ``Promote`` picks a discount level for the platform's one proposed item; ``Marketing`` picks item and
discount jointly; ``Pricing`` sets the price of the single product of a reduced market whose only shopper
state is the reference price.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from gymnasium import spaces

from shopgym.catalog import Catalog
from shopgym.observation import (
    ObservationLayout,
    feature_bounds,
    item_feature_names,
    observation_names,
    observe,
    shopper_feature_names,
)
from shopgym.params import ParameterError, Scenario, SegmentParams, check_count, clip
from shopgym.shoppers import ShopperState

__all__ = [
    "DEFAULT_DISCOUNT_LEVELS",
    "DEFAULT_PRICE_LEVELS",
    "MAX_CANDIDATES",
    "TASK_DEFAULTS",
    "TASK_NAMES",
    "TASK_OPTIONS",
    "Task",
    "make_task",
    "pricing_scenario",
]

DEFAULT_DISCOUNT_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.5)
DEFAULT_PRICE_LEVELS = tuple(np.round(np.linspace(0.5, 1.0, 11), 2).tolist())
#: Candidates per visit K: at most this many.
MAX_CANDIDATES = 1000
#: The options of each task (besides the scenario, observability and horizon every env takes).
TASK_OPTIONS: dict[str, tuple[str, ...]] = {
    "recommend": ("n_candidates",),
    "slate": ("n_candidates", "slate_size"),
    "promote": ("discount_levels",),
    "marketing": ("n_candidates", "discount_levels", "action_encoding"),
    "pricing": ("price_levels",),
}
TASK_NAMES = tuple(TASK_OPTIONS)
#: The value of each task option that is not given.
TASK_DEFAULTS: dict[str, Any] = {
    "n_candidates": 20,
    "slate_size": 5,
    "discount_levels": DEFAULT_DISCOUNT_LEVELS,
    "price_levels": DEFAULT_PRICE_LEVELS,
    "action_encoding": "discrete",
}


def _levels(values: object, name: str, low: float, high: float, high_open: bool) -> np.ndarray:
    try:
        raw = np.asarray(values)
    except (TypeError, ValueError):  # e.g. a ragged list
        raw = np.asarray(None)
    if raw.dtype.kind not in "iuf" or raw.ndim != 1 or raw.size == 0:
        raise ParameterError(f"{name} must be a non-empty list of numbers, got {clip(repr(values))}")
    levels = raw.astype(np.float64)
    bad = ~np.isfinite(levels) | (levels < low) | ((levels >= high) if high_open else (levels > high))
    if bad.any():
        bracket = ")" if high_open else "]"
        raise ParameterError(f"{name} = {levels[bad][0]!r} is outside the allowed range [{low}, {high}{bracket}")
    if np.unique(levels).size != levels.size:
        raise ParameterError(f"{name} has repeated values: {clip(repr(values))}")
    return levels


class Task:
    """Base class: action decoding, action checks and observations for a batch of shoppers."""

    name: str
    slate_size: int = 1

    def __init__(self, n_candidates: int, embed_dim: int, full: bool) -> None:
        self.n_candidates = check_count("n_candidates", n_candidates, 1, MAX_CANDIDATES)
        self.embed_dim = embed_dim
        self.full = full
        self.action_space = self._action_space()
        self.feature_names = observation_names(self.n_candidates, embed_dim, full)
        self.layout = ObservationLayout(
            shopper_feature_names(full), item_feature_names(embed_dim, full), self.n_candidates
        )
        low, high = feature_bounds(tuple(name.rsplit(".", 1)[-1] for name in self.feature_names))
        self.observation_space = spaces.Box(low, high, dtype=np.float32)

    def _action_space(self) -> spaces.Space:
        raise NotImplementedError

    def observe(self, state: ShopperState, catalog: Catalog, horizon: int) -> np.ndarray:
        return observe(state, catalog, horizon, self.full)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Checked batch of actions → (slate [N, S] candidate positions, paid_fraction [N, S])."""
        raise NotImplementedError

    def check(self, actions: object, n: int) -> np.ndarray:
        """Validate a batch of ``n`` actions; raise ``ValueError`` naming the problem."""
        space = self.action_space
        expected = (n, *space.shape)
        try:
            array = np.asarray(actions)
        except (TypeError, ValueError, OverflowError):  # ragged nesting, integers beyond 64 bits
            array = np.asarray(None)
        kind = array.dtype.kind
        if kind in "iuf" and array.shape != expected:
            raise ValueError(f"{self.name}: action batch has shape {array.shape}, expected {expected} for {space}")
        whole = kind in "iu" or (kind == "f" and np.all(np.isfinite(array)) and np.all(array == np.round(array)))
        if not whole:
            raise ValueError(f"{self.name}: actions must be integers for {space}, got {clip(repr(actions))}")
        high = space.n if isinstance(space, spaces.Discrete) else space.nvec
        bad = (array < 0) | (array >= high)
        if bad.any():
            raise ValueError(f"{self.name}: action {array[bad].ravel()[0]} is outside {space}")
        return array.astype(np.int64, copy=False)

    def describe_action(self, action: np.ndarray) -> str:
        slate, paid = self.decode(np.asarray(action)[None])
        parts = [f"candidate {p} at {100 * (1 - x):.0f}% off" for p, x in zip(slate[0], paid[0], strict=True) if p >= 0]
        return "; ".join(parts) or "nothing shown"


class Recommend(Task):
    """Show one of K candidates at list price. Action: ``Discrete(K)``."""

    name = "recommend"

    def _action_space(self) -> spaces.Space:
        return spaces.Discrete(self.n_candidates)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return actions[:, None], np.ones((actions.shape[0], 1))


class RecommendSlate(Task):
    """Show an ordered slate of S candidates at list price. Action: ``MultiDiscrete([K] * S)``; a candidate
    repeated in the slate is shown only at its first position (later copies leave the slot empty)."""

    name = "slate"

    def __init__(self, n_candidates: int, embed_dim: int, full: bool, slate_size: int) -> None:
        n_candidates = check_count("n_candidates", n_candidates, 1, MAX_CANDIDATES)
        self.slate_size = check_count("slate_size", slate_size, 1, n_candidates)
        super().__init__(n_candidates, embed_dim, full)

    def _action_space(self) -> spaces.Space:
        return spaces.MultiDiscrete([self.n_candidates] * self.slate_size)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        slate = actions.copy()
        repeated = np.triu(slate[:, :, None] == slate[:, None, :], k=1).any(axis=1)
        slate[repeated] = -1
        return slate, np.ones(slate.shape)


class Promote(Task):
    """Choose the discount for the platform's proposed item (K = 1). Action: ``Discrete(L)`` over levels."""

    name = "promote"

    def __init__(self, embed_dim: int, full: bool, discount_levels: Sequence[float]) -> None:
        self.discount_levels = _levels(discount_levels, "discount_levels", 0.0, 1.0, high_open=True)
        super().__init__(1, embed_dim, full)

    def _action_space(self) -> spaces.Space:
        return spaces.Discrete(self.discount_levels.size)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((actions.shape[0], 1), dtype=np.int64), 1.0 - self.discount_levels[actions][:, None]


class Marketing(Task):
    """Choose item and discount jointly. ``Discrete(K·L)`` (action = item·L + level, for DQN) or
    ``MultiDiscrete([K, L])`` with ``action_encoding="multidiscrete"``."""

    name = "marketing"

    def __init__(
        self, n_candidates: int, embed_dim: int, full: bool, discount_levels: Sequence[float], action_encoding: str
    ) -> None:
        if not isinstance(action_encoding, str) or action_encoding not in ("discrete", "multidiscrete"):
            raise ParameterError(
                f"action_encoding = {clip(repr(action_encoding))}; allowed: 'discrete', 'multidiscrete'"
            )
        self.action_encoding = action_encoding
        self.discount_levels = _levels(discount_levels, "discount_levels", 0.0, 1.0, high_open=True)
        super().__init__(n_candidates, embed_dim, full)

    def _action_space(self) -> spaces.Space:
        n_levels = self.discount_levels.size
        if self.action_encoding == "discrete":
            return spaces.Discrete(self.n_candidates * n_levels)
        return spaces.MultiDiscrete([self.n_candidates, n_levels])

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_levels = self.discount_levels.size
        if self.action_encoding == "discrete":
            item, level = np.divmod(actions, n_levels)
        else:
            item, level = actions[:, 0], actions[:, 1]
        return item[:, None], 1.0 - self.discount_levels[level][:, None]


class Pricing(Task):
    """Set the price of the single product as a fraction of list price. Action: ``Discrete(L)`` over
    ``price_levels``. Observation: [reference price ρ, time fraction t/H] — the whole state of the task."""

    name = "pricing"

    def __init__(self, price_levels: Sequence[float]) -> None:
        self.price_levels = _levels(price_levels, "price_levels", 0.01, 1.0, high_open=False)
        self.n_candidates, self.embed_dim, self.full = 1, 0, True
        self.action_space = spaces.Discrete(self.price_levels.size)
        self.feature_names = ("reference_price", "time_fraction")
        self.layout = ObservationLayout(self.feature_names)
        self.observation_space = spaces.Box(0.0, np.array([2.0, 1.0], dtype=np.float32), dtype=np.float32)

    def observe(self, state: ShopperState, catalog: Catalog, horizon: int) -> np.ndarray:
        return np.column_stack([state.reference_price, np.minimum(state.visits / horizon, 1.0)]).astype(np.float32)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((actions.shape[0], 1), dtype=np.int64), self.price_levels[actions][:, None]

    def describe_action(self, action: np.ndarray) -> str:
        return f"price at {100 * self.price_levels[int(action)]:.0f}% of list"


def pricing_scenario(scenario: Scenario) -> Scenario:
    """The single-product reduction of a market used by ``Pricing``.

    One item at the catalog's typical price (exp(price_log_mean)) with the mid margin; one aggregate shopper
    whose traits are the segment-weighted means; no taste, fatigue, engagement change, churn, budget limit or
    drift. The only state left is the reference price ρ, so the optimum is computable by dynamic programming.
    """
    segments = scenario.segments
    weights = np.array([s.weight for s in segments]) / sum(s.weight for s in segments)

    def mean(name: str) -> float:
        return float(weights @ np.array([getattr(s, name) for s in segments]))

    aggregate = SegmentParams(
        name="aggregate",
        taste_sd=0.0,
        price_sensitivity=mean("price_sensitivity"),
        price_sensitivity_sd=0.0,
        promo_affinity=mean("promo_affinity"),
        promo_affinity_sd=0.0,
        gain_coef=mean("gain_coef"),
        loss_coef=mean("loss_coef"),
        reference_price0=mean("reference_price0"),
        engagement0=0.5,
        engagement_sd=0.0,
        budget_income=1e6,
        budget_cap=1e6,
    )
    margin = 0.5 * (scenario.catalog.margin_low + scenario.catalog.margin_high)
    return scenario.replace(
        name=f"{scenario.name}-pricing",
        catalog={
            "n_items": 1,
            "n_categories": 1,
            "price_log_sd_between": 0.0,
            "price_log_sd_within": 0.0,
            "margin_low": margin,
            "margin_high": margin,
            "quality_sd": 0.0,
            "popularity_zipf": 0.0,
        },
        segments=[aggregate.model_dump()],
        choice={"affinity_weight": 0.0, "purchase_affinity_weight": 0.0, "fatigue_weight": 0.0},
        dynamics={
            "engagement_gain_purchase": 0.0,
            "engagement_loss_disappoint": 0.0,
            "engagement_loss_ignore": 0.0,
            "churn_min": 0.0,
            "churn_max": 0.0,
            "taste_drift": 0.0,
        },
        drift=[],
    )


def make_task(task: str, embed_dim: int, full: bool, **options: Any) -> Task:
    """Build a task by name (one of :data:`TASK_NAMES`) with its options (:data:`TASK_OPTIONS`; defaults in
    :data:`TASK_DEFAULTS`). An option the task does not take is an error, whatever its value: ignoring it would
    hide a mistake such as ``discount_levels`` passed to ``pricing``."""
    if not isinstance(task, str) or task not in TASK_OPTIONS:
        raise ParameterError(f"unknown task {clip(repr(task))}; known tasks: {', '.join(TASK_NAMES)}")
    for name, value in options.items():
        if name not in TASK_OPTIONS[task]:
            raise ParameterError(
                f"option {clip(name)} = {clip(repr(value))} does not apply to task {task!r} "
                f"(its options: {', '.join(TASK_OPTIONS[task])})"
            )
    settings = {**TASK_DEFAULTS, **options}
    if task == "recommend":
        return Recommend(settings["n_candidates"], embed_dim, full)
    if task == "slate":
        return RecommendSlate(settings["n_candidates"], embed_dim, full, settings["slate_size"])
    if task == "promote":
        return Promote(embed_dim, full, settings["discount_levels"])
    if task == "marketing":
        return Marketing(
            settings["n_candidates"], embed_dim, full, settings["discount_levels"], settings["action_encoding"]
        )
    return Pricing(settings["price_levels"])
