"""The click side of calibration: a logged click model, logs simulated from a scenario, and the fit between them.

**The logged click model.** In the core a slot's click utility is an item term (quality, taste affinity) minus
θ·ln(1 + j) at slot j = 0, 1, … against the utility of leaving. With one item per logged row (the Open Bandit
sample's rows are single impressions: its timestamps almost never repeat, so slates cannot be rebuilt), a click
on item i in slot j has log-odds

    logit P(click) = α − θ·ln(1 + j) + σ·z_i,   z_i ~ N(0, 1) per item,

with α the log-odds of an average item in the top slot, θ the position decay and σ the spread of item
attractiveness. The items' effects are integrated out (on a dense grid of z, exact per item because each row
shows one item), so the likelihood needs only the impressions and clicks per item and slot. Intervals are
profile-likelihood intervals (they stay honest at the boundary σ = 0, where Wald intervals do not).

Conditioning on the items shown makes the likelihood valid for any logging policy that chose items from past
data rather than from the shopper in front of it (uniform random, and the Open Bandit Dataset's Bernoulli
Thompson sampling, which ignores user features), so the propensities are not needed for the fit;
:mod:`shopgym.calibration.fidelity` uses them where it estimates a uniform policy's click rate from other logs.

**From the fit to a scenario (indirect inference).** The scenario's shoppers have more in them than the
logged model (taste affinity, fatigue, engagement), so its parameters are not the fitted ones. Logs of the
same format are simulated from the scenario under uniform random slates (:func:`simulate_impressions`), the
same model is fitted to them, and ``outside_utility``, ``position_decay`` and ``quality_sd`` are moved until the
simulated fit matches the real one (:func:`calibrate_clicks`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from shopgym.core import MarketSimulator
from shopgym.envs.batch import DEFAULT_HORIZON
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import resolve_scenario

__all__ = [
    "ClickCalibration",
    "ClickCounts",
    "ClickFit",
    "ClickLog",
    "Estimate",
    "calibrate_clicks",
    "fit_clicks",
    "simulate_impressions",
]

#: Half the 95 % quantile of χ²₁: a profile-likelihood interval holds the values within this of the maximum.
PROFILE_DROP = 0.5 * 3.841458820694124
_BOUNDS = {"intercept": (-30.0, 30.0), "position_decay": (-10.0, 10.0), "item_sd": (0.0, 10.0)}
_NAMES = tuple(_BOUNDS)


@dataclass(frozen=True)
class ClickLog:
    """Impressions in Open Bandit format: one row per item shown. ``item_id`` [R] int, ``position`` [R] int from 1
    (the top slot), ``click`` [R] 0 or 1."""

    item_id: np.ndarray
    position: np.ndarray
    click: np.ndarray

    def __len__(self) -> int:
        return len(self.item_id)

    def take(self, rows: np.ndarray | slice) -> ClickLog:
        """The log of the given rows."""
        return ClickLog(self.item_id[rows], self.position[rows], self.click[rows])

    def resample(self, rng: np.random.Generator, unit: str | None = None) -> ClickLog:
        """A bootstrap resample by item (``unit`` None or "item", the only unit): as many items as the log has, drawn
        with replacement, each with all its rows; an item drawn twice counts as two items. Rows of one item share
        its attractiveness, so resampling rows would understate the uncertainty and make clicks look more
        concentrated than they are."""
        if unit not in (None, "item"):
            raise ParameterError(f"unit = {unit!r}: a click log resamples by item only")
        items, index = np.unique(self.item_id, return_inverse=True)
        order = np.argsort(index, kind="stable")
        starts = np.searchsorted(index[order], np.arange(items.size + 1))
        drawn = rng.integers(0, items.size, items.size)
        rows = np.concatenate([order[starts[i] : starts[i + 1]] for i in drawn])
        copy = np.repeat(np.arange(items.size), starts[drawn + 1] - starts[drawn])
        return ClickLog(copy, self.position[rows], self.click[rows])

    @property
    def click_rate(self) -> float:
        """Clicks per impression."""
        return float(self.click.mean())


@dataclass(frozen=True)
class ClickCounts:
    """Sufficient statistics of a :class:`ClickLog`: ``impressions`` and ``clicks`` [items, positions]."""

    item_id: np.ndarray
    impressions: np.ndarray
    clicks: np.ndarray

    @classmethod
    def of(cls, log: ClickLog) -> ClickCounts:
        """Count a log's impressions and clicks per item and position (positions 1 … max)."""
        if len(log) == 0:
            raise ParameterError("the click log is empty: nothing to fit")
        if log.position.min() < 1:
            raise ParameterError(f"position = {int(log.position.min())} in the click log: positions start at 1")
        items, index = np.unique(log.item_id, return_inverse=True)
        shape = (items.size, int(log.position.max()))
        flat = index * shape[1] + (log.position - 1)
        size = shape[0] * shape[1]
        impressions = np.bincount(flat, minlength=size).reshape(shape)
        clicks = np.bincount(flat, weights=log.click, minlength=size).reshape(shape)
        return cls(items, impressions.astype(np.float64), clicks)


@dataclass(frozen=True)
class Estimate:
    """A fitted value with its 95 % interval."""

    value: float
    low: float
    high: float

    def as_dict(self, digits: int = 4) -> dict[str, float]:
        """``{"value", "low", "high"}`` rounded to ``digits`` decimals (for reports and provenance blocks)."""
        return {key: round(float(v), digits) for key, v in zip(("value", "low", "high"), self.astuple(), strict=True)}

    def astuple(self) -> tuple[float, float, float]:
        return (self.value, self.low, self.high)


@dataclass(frozen=True)
class ClickFit:
    """The logged click model fitted to a log: α (``intercept``, log-odds), θ (``position_decay``, per unit of
    ln(1 + slot)) and σ (``item_sd``, log-odds), each with a profile-likelihood 95 % interval."""

    intercept: Estimate
    position_decay: Estimate
    item_sd: Estimate
    log_likelihood: float
    rows: int
    clicks: int

    def values(self) -> np.ndarray:
        """(α, θ, σ) as an array."""
        return np.array([self.intercept.value, self.position_decay.value, self.item_sd.value])


class _Likelihood:
    """The marginal log-likelihood of (α, θ, σ) given per-item, per-position counts."""

    def __init__(self, counts: ClickCounts, nodes: int) -> None:
        # A dense even grid, not Gauss–Hermite: with hundreds of clicks per item (large simulated logs) an item's
        # posterior is narrower than Gauss–Hermite's node spacing, which makes the likelihood bumpy.
        self.z = np.linspace(-8.0, 8.0, nodes)
        self.log_w = -0.5 * self.z**2 - 0.5 * math.log(2 * math.pi) + math.log(self.z[1] - self.z[0])
        self.n = counts.impressions[:, :, None]
        self.c = counts.clicks[:, :, None]
        self.slot = np.log1p(np.arange(counts.impressions.shape[1]))[None, :, None]

    def __call__(self, params: np.ndarray) -> float:
        return self.value_and_gradient(params)[0]

    def value_and_gradient(self, params: np.ndarray) -> tuple[float, np.ndarray]:
        """The log-likelihood and its gradient in (α, θ, σ)."""
        alpha, theta, sigma = params
        eta = alpha - theta * self.slot + sigma * self.z[None, None, :]
        per_node = (self.c * eta - self.n * np.logaddexp(0.0, eta)).sum(axis=1) + self.log_w  # [items, nodes]
        per_item = np.logaddexp.reduce(per_node, axis=1)
        posterior = np.exp(per_node - per_item[:, None])  # weight of each node given the item's clicks
        score = (self.c - self.n / (1.0 + np.exp(-eta))) * posterior[:, None, :]  # ∂/∂η, weighted
        gradient = np.array([score.sum(), -(score * self.slot).sum(), (score * self.z[None, None, :]).sum()])
        return float(per_item.sum()), gradient


def _maximise(loglik: _Likelihood, start: np.ndarray, fixed: dict[int, float]) -> tuple[np.ndarray, float]:
    """Maximise over the parameters not in ``fixed`` (index → value); several starts for σ, whose likelihood can
    have a second mode near zero."""
    free = [k for k in range(3) if k not in fixed]

    def full(x: np.ndarray) -> np.ndarray:
        params = start.copy()
        params[free] = x
        for k, v in fixed.items():
            params[k] = v
        return params

    def objective(x: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = loglik.value_and_gradient(full(x))
        return -value, -gradient[free]

    best: tuple[np.ndarray, float] | None = None
    starts = [start[free]]
    if 2 in free:
        starts += [np.where(np.array(free) == 2, s, start[free]) for s in (0.05, 1.0)]
    for x0 in starts:
        result = optimize.minimize(
            objective, x0, jac=True, method="L-BFGS-B", bounds=[_BOUNDS[_NAMES[k]] for k in free]
        )
        if best is None or -result.fun > best[1]:
            best = (full(result.x), -float(result.fun))
    assert best is not None
    return best


def _profile_bound(loglik: _Likelihood, mle: np.ndarray, top: float, k: int, side: int) -> float:
    """Where the profile log-likelihood of parameter k falls PROFILE_DROP below ``top``, on one side of the MLE
    (the parameter's bound if it never does)."""
    limit = _BOUNDS[_NAMES[k]][0 if side < 0 else 1]

    def gap(v: float) -> float:
        return _maximise(loglik, mle, {k: v})[1] - (top - PROFILE_DROP)

    inside, step = float(mle[k]), 0.25 if k != 2 else 0.1
    while True:
        outside = float(np.clip(inside + side * step, *sorted((mle[k], limit))))
        if gap(outside) < 0:
            return float(optimize.brentq(gap, *sorted((inside, outside)), xtol=1e-4))
        if outside == limit:
            return limit
        inside, step = outside, 2 * step


def fit_clicks(log: ClickLog, nodes: int = 801, intervals: bool = True) -> ClickFit:
    """Fit the logged click model (module docstring) by maximum likelihood, with profile-likelihood intervals
    (``intervals=False``: the estimates only, each interval reduced to its point)."""
    counts = ClickCounts.of(log)
    clicks = int(counts.clicks.sum())
    if clicks == 0:
        raise ParameterError(f"the click log has {len(log)} impressions and no click: the click rate cannot be fitted")
    loglik = _Likelihood(counts, nodes)
    ctr = clicks / counts.impressions.sum()
    mle, top = _maximise(loglik, np.array([math.log(ctr / (1 - ctr)), 0.0, 0.5]), {})
    estimates = [
        Estimate(float(mle[k]), _profile_bound(loglik, mle, top, k, -1), _profile_bound(loglik, mle, top, k, +1))
        if intervals
        else Estimate(float(mle[k]), float(mle[k]), float(mle[k]))
        for k in range(3)
    ]
    return ClickFit(*estimates, log_likelihood=top, rows=len(log), clicks=clicks)


def simulate_impressions(
    scenario: Scenario | str, rows: int, seed: int, slots: int = 3, mean_visits: int = DEFAULT_HORIZON
) -> ClickLog:
    """Impressions of ``scenario``'s shoppers shown uniform random slates of ``slots`` distinct catalog items at
    list price, in Open Bandit format (one row per slot shown; at most one click per visit, as in the core).

    Shoppers arrive as the envs' do and leave by churn or, after each visit, with probability 1/``mean_visits``
    (the envs' default random episode end); the log holds the first ``rows`` rows of a batch of shoppers stepped
    together. Same seed, same log.
    """
    scenario = resolve_scenario(scenario)
    n_items = scenario.catalog.n_items
    if not 1 <= slots <= n_items:
        raise ParameterError(f"slots = {slots} must be between 1 and the catalog's {n_items} items")
    simulator_seed, slate_seed = np.random.SeedSequence(seed).spawn(2)
    # The shown items are put in the shoppers' candidate sets, so the retrieval stage has nothing to do.
    simulator = MarketSimulator(scenario, slots, resolve_scenario)
    simulator.seed(simulator_seed)
    rng = np.random.default_rng(slate_seed)
    batch = int(min(max(rows // slots, 1), 4096))
    state = simulator.new_shoppers(batch)
    paid = np.ones((batch, slots))
    in_order = np.tile(np.arange(slots), (batch, 1))
    items, clicks = [], []
    for _ in range(-(-rows // (batch * slots))):
        keys = rng.random((batch, n_items))
        chosen = np.argpartition(keys, slots - 1, axis=1)[:, :slots]
        # ordered by their keys: a uniform random ordered subset of the catalog
        state.candidates[:] = np.take_along_axis(chosen, np.take_along_axis(keys, chosen, 1).argsort(1), 1)
        items.append(state.candidates.copy())
        outcome = simulator.step(state, in_order, paid)
        clicks.append(outcome.clicked[:, None] == in_order)
        simulator.replace_shoppers(state, outcome.churned | (rng.random(batch) < 1.0 / mean_visits))
    item = np.concatenate(items).ravel()[:rows]
    position = np.tile(np.arange(1, slots + 1), len(items) * batch)[:rows]
    return ClickLog(item, position, np.concatenate(clicks).ravel()[:rows].astype(np.int8))


def _logit(p: float) -> float:
    p = min(max(p, 1e-9), 1.0 - 1e-9)  # a simulated log without a click (or of clicks only) still gives a step
    return math.log(p / (1.0 - p))


def _rate(logit: float) -> str:
    return f"{100.0 / (1.0 + math.exp(-logit)):.3f} %"


@dataclass(frozen=True)
class ClickCalibration:
    """A calibrated scenario, the real log's fit, its last simulated fit, and the path of the search (one row of
    (outside_utility, position_decay, quality_sd, logit of the click rate, θ̂, σ̂) per simulation)."""

    scenario: Scenario
    real: ClickFit
    simulated: ClickFit
    path: list[tuple[float, ...]]


def calibrate_clicks(
    log: ClickLog,
    base: Scenario | str,
    seed: int = 0,
    simulated_rows: int = 5_000_000,
    iterations: int = 10,
    tolerance: float = 0.02,
    progress: Callable[[str], None] | None = None,
) -> ClickCalibration:
    """Fit ``base`` to a click log: the catalog gets the log's number of items, and ``outside_utility``,
    ``position_decay`` (θ ≥ 0) and ``quality_sd`` are moved until ``simulated_rows`` impressions simulated from the
    scenario (same seed every time: common random numbers) match ``log`` within ``tolerance`` in the logit of the
    click rate and in the logged click model's θ̂ and σ̂, or ``iterations`` simulations have run
    (the scenario of the last simulation is returned). The first steps move each parameter by the whole gap, later
    ones by a shrinking share of it (Robbins–Monro), so the simulation noise of single steps averages out.

    Each parameter moves by the gap in its own counterpart: the click rate's logit falls about one for one as
    ``outside_utility`` rises, θ̂ follows ``position_decay``, and σ̂² is ``quality_sd``² plus the item spread that
    taste adds. The level is matched on the click rate rather than on α̂ (the median item's log-odds), so the
    scenario clicks as often as the log even where the spread cannot be matched.
    """
    base = resolve_scenario(base)
    real = fit_clicks(log)
    n_items = int(np.unique(log.item_id).size)
    slots = int(log.position.max())
    catalog = {"n_items": n_items, "n_categories": min(base.catalog.n_categories, n_items)}
    outside, decay, spread = base.choice.outside_utility, base.choice.position_decay, base.catalog.quality_sd
    path: list[tuple[float, ...]] = []
    target = np.array([_logit(log.click_rate), *real.values()[1:]])
    for step in range(iterations):
        scenario = base.replace(
            catalog=catalog | {"quality_sd": spread},
            choice={"outside_utility": outside, "position_decay": decay},
        )
        simulated_log = simulate_impressions(scenario, simulated_rows, seed, slots)
        simulated = fit_clicks(simulated_log, intervals=False)
        got = np.array([_logit(simulated_log.click_rate), *simulated.values()[1:]])
        path.append((outside, decay, spread, *got))
        if progress is not None:
            progress(
                f"step {step + 1}: outside {outside:.3f}, θ {decay:.3f}, quality_sd {spread:.3f} → "
                f"click rate {_rate(got[0])}, θ̂ {got[1]:.3f}, σ̂ {got[2]:.3f} (real {_rate(target[0])}, "
                f"{target[1]:.3f}, {target[2]:.3f})"
            )
        if np.all(np.abs(got - target) <= tolerance) or step == iterations - 1:
            break
        gain = 1.0 / max(1, step - 1)  # full steps first, then shrinking ones that average out simulation noise
        variance = spread**2 + gain * (target[2] ** 2 - got[2] ** 2)
        # rounded, so a scenario file written from the result is the same on every machine
        outside = round(float(np.clip(outside + gain * (got[0] - target[0]), -20.0, 20.0)), 4)
        decay = round(float(np.clip(decay + gain * (target[1] - got[1]), 0.0, 20.0)), 4)
        spread = round(float(np.clip(math.sqrt(max(variance, 0.0)), 0.0, 10.0)), 4)
    return ClickCalibration(scenario, real, simulated, path)
