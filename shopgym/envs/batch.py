"""A task and the batched simulator wired together: the runtime every env adapter drives.

``ShopperBatch`` owns N shopper slots. The single Gymnasium env is a batch of one; the Gymnasium vector env and
the SB3 VecEnv are batches of N. They differ only in how they reset finished slots.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from shopgym.choice import ChoiceModel
from shopgym.core import MarketSimulator, VisitOutcome
from shopgym.params import ParameterError, Scenario, check_count, clip
from shopgym.reward import COMPONENTS, RewardFunction
from shopgym.scenarios import resolve_scenario
from shopgym.tasks import Task, make_task, task_class

__all__ = [
    "DEFAULT_HORIZON",
    "EPISODE_ENDS",
    "GEOMETRIC_CAP",
    "MAX_BATCH_BYTES",
    "RENDER_MODES",
    "RenderModeError",
    "ShopperBatch",
    "bytes_per_shopper",
    "check_render_mode",
    "max_shoppers",
]

#: Visits per episode unless ``max_episode_steps`` says otherwise (the registered specs carry it); for a task whose
#: episodes end at random (``episode_end="geometric"``) the mean number of visits unless ``mean_visits`` says
#: otherwise.
DEFAULT_HORIZON = 50
#: How an episode can end besides churn: after H visits, or after every visit with probability 1/``mean_visits``.
EPISODE_ENDS = ("fixed", "geometric")
#: ``max_episode_steps`` registered for the ids whose episodes end at random: a safety cap, in units of the mean,
#: that an episode reaches with probability (1 − 1/H)^(20·H) ≈ e^−20 ≈ 2e−9.
GEOMETRIC_CAP = 20
#: The most memory a batch's arrays may take, by :func:`bytes_per_shopper`: a larger ``num_envs`` is refused before
#: anything is allocated, instead of failing (or swapping) somewhere inside NumPy.
MAX_BATCH_BYTES = 64 * 2**30


#: What ``render()`` can produce: a text account of the visit.
RENDER_MODES = ("ansi",)


class RenderModeError(ParameterError, TypeError):
    """A ``render_mode`` the envs do not support. It is also a ``TypeError``, what an env that takes no such argument
    raises, because that is what callers fall back on: stable-baselines3 (``make_vec_env(env_id)``,
    ``PPO("MlpPolicy", env_id)``) asks for ``render_mode="rgb_array"`` and retries without it on a ``TypeError``."""


def check_render_mode(render_mode: object) -> str | None:
    """``render_mode`` if it is None or one of :data:`RENDER_MODES`; else :class:`RenderModeError`."""
    if render_mode is None or (isinstance(render_mode, str) and render_mode in RENDER_MODES):
        return render_mode
    raise RenderModeError(f"render_mode = {clip(repr(render_mode))}; allowed: None, 'ansi'")


def bytes_per_shopper(task: Task, scenario: Scenario) -> int:
    """An upper estimate of the bytes one shopper slot takes: its state (arrays per category, embedding dimension
    and candidate), its observation and the temporaries of one step."""
    catalog = scenario.catalog
    per_value = 6 * catalog.n_categories + 4 * catalog.embed_dim + 4 * task.n_candidates
    per_value += task.slate_size * catalog.embed_dim + 64
    return 8 * per_value + 4 * 3 * task.observation_space.shape[0]


def max_shoppers(task: Task, scenario: Scenario) -> int:
    """The largest ``num_envs`` whose arrays fit in :data:`MAX_BATCH_BYTES`."""
    return MAX_BATCH_BYTES // bytes_per_shopper(task, scenario)


class ShopperBatch:
    """N shopper slots of one task in one market.

    Args:
        task: a registered task name (:data:`~shopgym.tasks.TASK_NAMES`).
        num_shoppers: N, at most what :data:`MAX_BATCH_BYTES` of arrays hold (see :func:`max_shoppers`).
        scenario: preset name, YAML path, mapping or :class:`~shopgym.params.Scenario`.
        observability: ``"partial"`` (what a platform logs) or ``"full"`` (adds the hidden state).
        horizon: the most visits of an episode (the env reports ``truncated`` when a shopper reaches it).
        episode_end: ``"fixed"`` (only the horizon ends an episode besides churn) or ``"geometric"`` (after every
            visit the episode also ends, ``terminated``, with probability 1/``mean_visits``); None: the task's own.
        mean_visits: the mean episode length of ``"geometric"`` ends, without churn (default
            :data:`DEFAULT_HORIZON`).
        choice_model, reward_fn: injected components (``None``: MNL choice, the scenario's KPI reward).
        task_options: the task's own options (:data:`~shopgym.tasks.TASK_OPTIONS`), e.g. ``n_candidates``,
            ``slate_size``, ``discount_levels``, ``price_levels``, ``action_encoding``; one the task does not
            take is an error.
    """

    def __init__(
        self,
        task: str,
        num_shoppers: int,
        scenario: str | os.PathLike[str] | Scenario | dict[str, Any] = "default",
        observability: str = "partial",
        horizon: int = DEFAULT_HORIZON,
        choice_model: ChoiceModel | None = None,
        reward_fn: RewardFunction | None = None,
        episode_end: str | None = None,
        mean_visits: int = DEFAULT_HORIZON,
        **task_options: Any,
    ) -> None:
        num_shoppers = check_count("num_envs", num_shoppers, 1)
        self.horizon = check_count("max_episode_steps", horizon, 1)
        episode_end = task_class(task).episode_end if episode_end is None else episode_end
        if not isinstance(episode_end, str) or episode_end not in EPISODE_ENDS:
            raise ParameterError(f"episode_end = {clip(repr(episode_end))}; allowed: 'fixed', 'geometric'")
        self.episode_end = episode_end
        self.mean_visits = check_count("mean_visits", mean_visits, 1)
        if not isinstance(observability, str) or observability not in ("partial", "full"):
            raise ParameterError(f"observability = {clip(repr(observability))}; allowed: 'partial', 'full'")
        market = resolve_scenario(scenario)
        market = task_class(task).market(market)
        self.scenario = market
        self.task: Task = make_task(task, market.catalog.embed_dim, observability == "full", **task_options)
        limit = max_shoppers(self.task, market)
        if num_shoppers > limit:
            raise ParameterError(
                f"num_envs = {num_shoppers:,} is outside the allowed range [1, {limit:,}] for this task and scenario "
                f"(about {bytes_per_shopper(self.task, market):,} bytes per shopper, at most "
                f"{MAX_BATCH_BYTES // 2**30} GiB in all)"
            )
        self.num_shoppers = num_shoppers
        self.simulator = MarketSimulator(
            market, self.task.n_candidates, resolve_scenario, choice_model=choice_model, reward_fn=reward_fn
        )
        self.state = None
        self.last_outcome: VisitOutcome | None = None
        self.last_action: np.ndarray | None = None

    @classmethod
    def for_env(cls, task: str, num_envs: int, max_episode_steps: int, **options: Any) -> ShopperBatch:
        """The batch of an env adapter, whose horizon is ``max_episode_steps`` (Gymnasium's name for it)."""
        if "horizon" in options:
            raise ParameterError(
                f"horizon = {clip(repr(options['horizon']))} is not an env option; the horizon is max_episode_steps"
            )
        return cls(task, num_envs, horizon=max_episode_steps, **options)

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

    @property
    def end_probability(self) -> float:
        """Probability that an episode ends after a visit besides churn and the horizon (0 for fixed ends)."""
        return 1.0 / self.mean_visits if self.episode_end == "geometric" else 0.0

    @property
    def time_scale(self) -> int:
        """The visits that ``time_fraction = t/scale`` counts in: the horizon, or the mean length of random ends."""
        return self.mean_visits if self.episode_end == "geometric" else self.horizon

    def observe(self) -> np.ndarray:
        return self.task.observe(self.state, self.simulator.catalog, self.time_scale)

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
        if self.episode_end == "geometric":  # drawn for every slot, so the stream does not depend on who churned
            terminated = terminated | (self.simulator.visit_rng.random(self.num_shoppers) < self.end_probability)
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
                f"visit {state.visits[row]}"
                + (
                    f" (episodes end at random, mean {self.mean_visits})"
                    if self.end_probability
                    else f"/{self.horizon}"
                )
                + f", engagement {state.engagement[row]:.2f}, "
                f"mean reference price {state.reference_price[row].mean():.2f}, wallet {state.wallet[row]:.0f}"
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
