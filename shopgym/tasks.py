"""The tasks: what an action means and what the agent observes.

A task turns a batch of actions into a slate (candidate positions) and paid fractions for the core, and
builds observations. ``Recommend`` picks one of K candidates at list price; ``RecommendSlate`` orders S of
them; ``Promote`` picks a discount level for the platform's one proposed item; ``Marketing`` picks item and
discount jointly; ``Pricing`` sets the price of the single product of a reduced market whose only shopper
state is the reference price.

A task owns its actions: its *arms* (every (candidate, level, paid fraction) one action can show, candidate-major),
:meth:`Task.encode` / :meth:`Task.arm_index` between arms and actions, :meth:`Task.show_best` (the action showing
the best-scored candidates at list price), the :class:`CandidateLayout` of the candidate networks, the list-price
level and the market it needs (:meth:`Task.market`). Agents ask the task, never its name. Policies that apply to
some tasks only name the *capabilities* they need (:data:`CAPABILITIES`, class attributes of every task).

How to add a task: subclass :class:`Task` (or a task close to it) with a unique ``name``, its Gymnasium
``env_id``, its ``options`` (names from :data:`TASK_DEFAULTS`), ``_action_space``, ``decode``, the capability flags
and ``paid_levels``; override ``encode`` / ``arm_index`` / ``show_best`` / ``candidate_layout`` only where the
default candidate-major encoding ``action = item·L + level`` of a ``Discrete(K·L)`` space does not hold; then
:func:`register_task` it (here, for a built-in) and test it. Nothing in the agents or experiments changes.

(Longer than the house's 350 lines because every task owns its actions here, in one registry: adding a task
touches this module and its tests only.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import registry

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
    "CAPABILITIES",
    "DEFAULT_DISCOUNT_LEVELS",
    "DEFAULT_PRICE_LEVELS",
    "ENV_IDS",
    "MAX_CANDIDATES",
    "TASKS",
    "TASK_DEFAULTS",
    "TASK_NAMES",
    "TASK_OPTIONS",
    "CandidateLayout",
    "Task",
    "make_task",
    "pricing_scenario",
    "register_task",
    "task_class",
    "unregister_task",
]

DEFAULT_DISCOUNT_LEVELS = (0.0, 0.1, 0.2, 0.3, 0.5)
DEFAULT_PRICE_LEVELS = tuple(np.round(np.linspace(0.5, 1.5, 21), 2).tolist())
#: Highest price level: twice the list price.
MAX_PRICE_LEVEL = 2.0
#: Candidates per visit K: at most this many.
MAX_CANDIDATES = 1000
#: The value of each task option that is not given.
TASK_DEFAULTS: dict[str, Any] = {
    "n_candidates": 20,
    "slate_size": 5,
    "discount_levels": DEFAULT_DISCOUNT_LEVELS,
    "price_levels": DEFAULT_PRICE_LEVELS,
    "action_encoding": "discrete",
}
#: Capability flags every task sets (class attributes); a policy lists those it needs in ``requires``.
CAPABILITIES: dict[str, str] = {
    "chooses_item": "the action picks among the candidate items",
    "chooses_level": "the action picks a discount or price level",
    "arm_actions": "every action shows one arm (one candidate at one level), so encode / arm_index apply",
    "item_features": "the observation carries features of every candidate item",
    "sets_price": "the levels are prices of the single product of the pricing reduction",
}


class CandidateLayout(NamedTuple):
    """How the candidate networks read a task's observation and write its actions."""

    n_shopper: int  #: shopper features (the observation's first columns)
    n_item: int  #: features per candidate (then K blocks of these)
    n_candidates: int  #: K
    per_candidate: int  #: outputs per candidate (levels L, or slate positions S)
    slate: int  #: slate positions S (outputs are S blocks of K), or 0 (candidate-major: candidate·L + level)


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
    """Base class: action decoding, action checks, observations and arms for a batch of shoppers.

    The default encoding is candidate-major over ``Discrete(K·L)``: ``action = item·L + level`` with L =
    ``paid_levels.size`` (Recommend: L = 1; Promote and Pricing: K = 1)."""

    name: str
    #: the Gymnasium id that :func:`register_task` registers for the task
    env_id: str
    #: the task's own options (names from :data:`TASK_DEFAULTS`), handed to the constructor by keyword
    options: tuple[str, ...] = ()
    slate_size: int = 1
    # Capabilities (see CAPABILITIES).
    chooses_item = False
    chooses_level = False
    arm_actions = True
    item_features = True
    sets_price = False
    #: how episodes end unless the env is told otherwise: ``"fixed"`` after H visits, or ``"geometric"``: after
    #: every visit with probability 1/H, so nothing in the observation tells when the last visit comes (the
    #: planning tasks, whose agents would otherwise learn to harvest in the last visits)
    episode_end = "fixed"

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

    @staticmethod
    def market(scenario: Scenario) -> Scenario:
        """The market the task runs in, given the scenario asked for (the scenario itself by default)."""
        return scenario

    def _action_space(self) -> spaces.Space:
        raise NotImplementedError

    @property
    def paid_levels(self) -> np.ndarray:
        """[L] paid fraction of list price at each level the action can choose (list price only by default)."""
        return np.ones(1)

    @property
    def list_price_level(self) -> int:
        """The level that charges list price (the first level for discount tasks)."""
        return 0

    def arms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(candidate position [A], level index [A], paid fraction [A]) of every arm, candidate-major."""
        levels = self.paid_levels
        item = np.repeat(np.arange(self.n_candidates), levels.size)
        level = np.tile(np.arange(levels.size), self.n_candidates)
        return item, level, levels[level]

    def encode(self, item: np.ndarray, level: np.ndarray) -> np.ndarray:
        """Actions [N, ...] that show candidate ``item`` [N] at ``level`` [N]."""
        return item * self.paid_levels.size + level

    def arm_index(self, actions: np.ndarray) -> np.ndarray:
        """[N] position in :meth:`arms` of each action (the inverse of :meth:`encode`)."""
        return np.asarray(actions)

    def show_best(self, scores: np.ndarray) -> np.ndarray:
        """Actions showing the best-scored candidate(s) of ``scores`` [N, K] at the first level."""
        return self.encode(np.argmax(scores, axis=1), np.zeros(scores.shape[0], dtype=np.int64))

    def candidate_layout(self) -> CandidateLayout | None:
        """The layout for the candidate networks, or None where they do not apply (the action does not pick a
        candidate, or is not the candidate-major ``Discrete(K·L)``)."""
        if not (self.chooses_item and isinstance(self.action_space, spaces.Discrete)):
            return None
        layout = self.layout
        return CandidateLayout(
            len(layout.shopper_names), len(layout.item_names), self.n_candidates, int(self.paid_levels.size), 0
        )

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
    env_id = "shopgym/Recommend-v1"
    options = ("n_candidates",)
    chooses_item = True

    def __init__(self, embed_dim: int, full: bool, n_candidates: int) -> None:
        super().__init__(n_candidates, embed_dim, full)

    def _action_space(self) -> spaces.Space:
        return spaces.Discrete(self.n_candidates)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return actions[:, None], np.ones((actions.shape[0], 1))


class RecommendSlate(Task):
    """Show an ordered slate of S candidates at list price. Action: ``MultiDiscrete([K] * S)``; a candidate
    repeated in the slate is shown only at its first position (later copies leave the slot empty). An action is
    a slate, not one arm: :meth:`encode` does not apply."""

    name = "slate"
    env_id = "shopgym/RecommendSlate-v1"
    options = ("n_candidates", "slate_size")
    chooses_item = True
    arm_actions = False

    def __init__(self, embed_dim: int, full: bool, n_candidates: int, slate_size: int) -> None:
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

    def encode(self, item: np.ndarray, level: np.ndarray) -> np.ndarray:
        raise ValueError(f"an action of the {self.name!r} task is a slate, not one arm")

    def arm_index(self, actions: np.ndarray) -> np.ndarray:
        raise ValueError(f"an action of the {self.name!r} task is a slate, not one arm")

    def show_best(self, scores: np.ndarray) -> np.ndarray:
        """The S best-scored candidates, best first."""
        return np.argsort(-scores, axis=1, kind="stable")[:, : self.slate_size]

    def candidate_layout(self) -> CandidateLayout | None:
        layout = self.layout
        n_shopper, n_item = len(layout.shopper_names), len(layout.item_names)
        return CandidateLayout(n_shopper, n_item, self.n_candidates, self.slate_size, self.slate_size)


class Promote(Task):
    """Choose the discount for the platform's proposed item (K = 1). Action: ``Discrete(L)`` over levels."""

    name = "promote"
    env_id = "shopgym/Promote-v1"
    episode_end = "geometric"
    options = ("discount_levels",)
    chooses_level = True

    def __init__(self, embed_dim: int, full: bool, discount_levels: Sequence[float]) -> None:
        self.discount_levels = _levels(discount_levels, "discount_levels", 0.0, 1.0, high_open=True)
        super().__init__(1, embed_dim, full)

    @property
    def paid_levels(self) -> np.ndarray:
        return 1.0 - self.discount_levels

    def _action_space(self) -> spaces.Space:
        return spaces.Discrete(self.discount_levels.size)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((actions.shape[0], 1), dtype=np.int64), 1.0 - self.discount_levels[actions][:, None]


class Marketing(Task):
    """Choose item and discount jointly. ``Discrete(K·L)`` (action = item·L + level, for DQN) or
    ``MultiDiscrete([K, L])`` with ``action_encoding="multidiscrete"``."""

    name = "marketing"
    env_id = "shopgym/Marketing-v1"
    episode_end = "geometric"
    options = ("n_candidates", "discount_levels", "action_encoding")
    chooses_item = True
    chooses_level = True

    def __init__(
        self, embed_dim: int, full: bool, n_candidates: int, discount_levels: Sequence[float], action_encoding: str
    ) -> None:
        if not isinstance(action_encoding, str) or action_encoding not in ("discrete", "multidiscrete"):
            raise ParameterError(
                f"action_encoding = {clip(repr(action_encoding))}; allowed: 'discrete', 'multidiscrete'"
            )
        self.action_encoding = action_encoding
        self.discount_levels = _levels(discount_levels, "discount_levels", 0.0, 1.0, high_open=True)
        super().__init__(n_candidates, embed_dim, full)

    @property
    def paid_levels(self) -> np.ndarray:
        return 1.0 - self.discount_levels

    def _action_space(self) -> spaces.Space:
        n_levels = self.discount_levels.size
        if self.action_encoding == "discrete":
            return spaces.Discrete(self.n_candidates * n_levels)
        return spaces.MultiDiscrete([self.n_candidates, n_levels])

    def encode(self, item: np.ndarray, level: np.ndarray) -> np.ndarray:
        if self.action_encoding == "discrete":
            return super().encode(item, level)
        return np.column_stack([item, level])

    def arm_index(self, actions: np.ndarray) -> np.ndarray:
        actions = np.asarray(actions)
        if actions.ndim == 2:
            return actions[:, 0] * self.discount_levels.size + actions[:, 1]
        return actions

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n_levels = self.discount_levels.size
        if self.action_encoding == "discrete":
            item, level = np.divmod(actions, n_levels)
        else:
            item, level = actions[:, 0], actions[:, 1]
        return item[:, None], 1.0 - self.discount_levels[level][:, None]


class Pricing(Task):
    """Set the price of the single product as a fraction of list price. Action: ``Discrete(L)`` over
    ``price_levels``. Observation: [reference price ρ, time fraction t/H] — the whole state of the task, which
    runs in the single-product reduction of the market (:func:`pricing_scenario`)."""

    name = "pricing"
    env_id = "shopgym/Pricing-v1"
    episode_end = "geometric"
    options = ("price_levels",)
    chooses_level = True
    item_features = False
    sets_price = True

    def __init__(self, embed_dim: int, full: bool, price_levels: Sequence[float]) -> None:
        self.price_levels = _levels(price_levels, "price_levels", 0.01, MAX_PRICE_LEVEL, high_open=False)
        self.n_candidates, self.embed_dim, self.full = 1, 0, True
        self.action_space = spaces.Discrete(self.price_levels.size)
        self.feature_names = ("reference_price", "time_fraction")
        self.layout = ObservationLayout(self.feature_names)
        self.observation_space = spaces.Box(0.0, np.array([2.0, 1.0], dtype=np.float32), dtype=np.float32)

    @staticmethod
    def market(scenario: Scenario) -> Scenario:
        return pricing_scenario(scenario)

    @property
    def paid_levels(self) -> np.ndarray:
        return self.price_levels

    @property
    def list_price_level(self) -> int:
        """The level nearest to list price (levels may lie above it)."""
        return int(np.argmin(np.abs(self.price_levels - 1.0)))

    def observe(self, state: ShopperState, catalog: Catalog, horizon: int) -> np.ndarray:
        rho = state.reference_price[:, 0]  # the one category of the reduction
        return np.column_stack([rho, np.minimum(state.visits / horizon, 1.0)]).astype(np.float32)

    def decode(self, actions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros((actions.shape[0], 1), dtype=np.int64), self.price_levels[actions][:, None]

    def describe_action(self, action: np.ndarray) -> str:
        return f"price at {100 * self.price_levels[int(action)]:.0f}% of list"


def pricing_scenario(scenario: Scenario) -> Scenario:
    """The single-product reduction of a market used by ``Pricing``.

    One item at the catalog's typical price (exp(price_log_mean)) with the mid margin; one aggregate shopper
    whose traits are the segment-weighted means, without individual spread; no taste, fatigue, engagement change,
    churn, budget limit, stock (no inventory effect, one unit per purchase), owned-item effect, deal wear-out or
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
        reference_coef_sd=0.0,
        reference_price0=mean("reference_price0"),
        reference_price_sd=0.0,
        consumption_rate=0.0,
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
            "popularity_sharpness": 0.0,
        },
        segments=[aggregate.model_dump()],
        choice={
            "affinity_weight": 0.0,
            "purchase_affinity_weight": 0.0,
            "fatigue_weight": 0.0,
            "inventory_weight": 0.0,
            "stockpile_rate": 0.0,
            "repurchase_penalty": 0.0,
        },
        dynamics={
            "engagement_gain_purchase": 0.0,
            "engagement_loss_disappoint": 0.0,
            "engagement_loss_ignore": 0.0,
            "churn_min": 0.0,
            "churn_max": 0.0,
            "taste_drift": 0.0,
            "wearout_weight": 0.0,
        },
        drift=[],
    )


#: The registry: task name → class. :func:`register_task` keeps the views below in step with it.
TASKS: dict[str, type[Task]] = {}
#: The options of each task (besides the scenario, observability and horizon every env takes).
TASK_OPTIONS: dict[str, tuple[str, ...]] = {}
#: Registered Gymnasium ids → task name. Versions bump whenever the dynamics change.
ENV_IDS: dict[str, str] = {}
#: The names of the registered tasks (a live view of :data:`TASKS`).
TASK_NAMES = TASKS.keys()


def _add(cls: type[Task]) -> None:
    unknown = sorted(set(cls.options) - set(TASK_DEFAULTS))
    if unknown:
        raise ValueError(f"task {cls.name!r}: options {unknown} have no default in TASK_DEFAULTS")
    if cls.name in TASKS or cls.env_id in ENV_IDS:
        raise ValueError(f"task {cls.name!r} or id {cls.env_id!r} is registered already")
    TASKS[cls.name], TASK_OPTIONS[cls.name], ENV_IDS[cls.env_id] = cls, cls.options, cls.name


def register_task(cls: type[Task]) -> type[Task]:
    """Add a task class to the registry under ``cls.name`` and register its Gymnasium id ``cls.env_id``.
    Returns the class, so it works as a decorator. (The built-in tasks are listed at the end of this module.)"""
    from shopgym.envs import register_envs  # the envs import this module: registering an id needs them loaded

    _add(cls)
    register_envs()
    return cls


def unregister_task(name: str) -> None:
    """Remove a task registered by :func:`register_task`, and its Gymnasium id."""
    cls = TASKS.pop(name)
    del TASK_OPTIONS[name], ENV_IDS[cls.env_id]
    registry.pop(cls.env_id, None)


def task_class(task: str) -> type[Task]:
    """The registered class of a task name (one of :data:`TASK_NAMES`)."""
    if not isinstance(task, str) or task not in TASKS:
        raise ParameterError(f"unknown task {clip(repr(task))}; known tasks: {', '.join(TASK_NAMES)}")
    return TASKS[task]


def make_task(task: str, embed_dim: int, full: bool, **options: Any) -> Task:
    """Build a task by name (one of :data:`TASK_NAMES`) with its options (:data:`TASK_OPTIONS`; defaults in
    :data:`TASK_DEFAULTS`). An option the task does not take is an error, whatever its value: ignoring it would
    hide a mistake such as ``discount_levels`` passed to ``pricing``."""
    cls = task_class(task)
    for name, value in options.items():
        if name not in cls.options:
            raise ParameterError(
                f"option {clip(name)} = {clip(repr(value))} does not apply to task {task!r} "
                f"(its options: {', '.join(cls.options)})"
            )
    settings = {**TASK_DEFAULTS, **options}
    return cls(embed_dim, full, **{name: settings[name] for name in cls.options})


for _builtin in (Recommend, RecommendSlate, Promote, Marketing, Pricing):
    _add(_builtin)
