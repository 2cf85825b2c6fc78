"""Calibrating a scenario to a transaction log by indirect inference on simulated store logs.

The shopper model has no likelihood for a transaction log: a visit's lines depend on stock, reference prices and
the shelf of the day. So the fit matches statistics. Twenty-three parameters (:data:`KNOBS`) are moved until logs
simulated from the scenario (:func:`shopgym.calibration.store.simulate_store`, common random numbers: the same
seed at every step) give the real log's values of twenty-four statistics (:data:`TARGETS`):

- the catalog's price level, price spread and margin against the median unit price, its p75/p25 and the gross
  margin;
- the mean days between visits, its log-normal spread across shoppers, the churn hazard and the share of trial
  shoppers who leave after their first visit against the mean gap, the share of gaps of at most 7 days, the share
  of one-visit customers, the visits per customer and the share of the first 30 days' customers seen again later;
- the routine-line chance, its spread across shoppers, extra units and stockpiling rate against lines per visit,
  their sd, units per line and units per discounted line;
- the catalog's popularity noise and the share of the simulated store's slots kept in the log (a store thinned
  to the log's sales per product) against the products sold per customer and the top 10 % of products' share of
  lines;
- the shoppers' price sensitivity β and gain coefficient η⁺ against the slopes of log units per product-day below
  and above the regular price (:func:`shopgym.calibration.reference_prices.fit_price_response`);
- the store's logging policy (:class:`StorePolicy`): its share of item-days on promotion, their length, depth and
  how much they favour the best sellers, its share of item-days priced above list and the rise, and its discounts
  at the till (share, depth), against the share of lines sold below the regular price, their mean depth, the
  length of discount spells, the top 10 % of products' share of the lines above the regular price (where a best
  seller's promotion makes the promotional price its regular one, its list-price days sell above it), the share
  of discounted lines beside a regular-price line of the same day and their depth, the share of lines above the
  regular price and their mean rise.

The reference regression's coefficients are not targets: the fidelity report checks them. Gaps are measured on a
scale where each is comparable (log for levels, relative for shares and slopes). The search takes bounded
Levenberg–Marquardt steps (``scipy.optimize.lsq_linear`` within the parameters' ranges) on a Jacobian measured by
finite differences and updated by Broyden's rule after every step; a step that does not lower the distance raises
the damping tenfold (shorter steps, turned toward steepest descent; one that does lowers it tenfold), and after two
such steps in a row the Jacobian is measured again and the damping dropped. The log's other statistics are not
fitted: they are what the fidelity report checks.

Longer than the house's 350 lines because the knobs, the targets, the map between them and the search are read
together; the search (:class:`_Search`) is the part to move out if it grows.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy import optimize

from shopgym.calibration.reference_prices import REFERENCE_STATISTICS
from shopgym.calibration.store import StorePolicy, simulate_store
from shopgym.calibration.transaction_log import TransactionLog
from shopgym.calibration.transactions import TRANSACTION_STATISTICS
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import resolve_scenario

__all__ = [
    "KNOBS",
    "TARGETS",
    "Knob",
    "StoreCalibration",
    "calibrate_later_policy",
    "calibrate_store",
    "store_statistics",
]

#: The margin is fitted at the centre of a uniform range this wide on each side.
MARGIN_HALF_WIDTH = 0.1
#: The key of the simulated log's number of customers among a simulation's statistics.
CUSTOMERS = "customers"


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _sigmoid(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


@dataclass(frozen=True)
class Knob:
    """One fitted parameter: its name, the map between its value and the search coordinate z (where a step of
    0.1 is small), and the range of z."""

    name: str
    value: Callable[[float], float]
    coordinate: Callable[[float], float]
    low: float
    high: float


def _same(z: float) -> float:
    return z


KNOBS: tuple[Knob, ...] = (
    Knob("catalog.price_log_mean", _same, _same, -5.0, 12.0),
    Knob("catalog.price_log_sd", math.exp, math.log, math.log(0.05), math.log(5.0)),
    Knob("catalog.margin", _same, _same, MARGIN_HALF_WIDTH + 0.01, 0.98 - MARGIN_HALF_WIDTH),
    Knob("segments.visit_interval", lambda z: 1.0 + math.exp(z), lambda v: math.log(v - 1.0), -5.0, math.log(364.0)),
    Knob("segments.visit_interval_sd", _same, _same, 0.0, 3.0),
    Knob("dynamics.churn", _sigmoid, _logit, _logit(1e-4), _logit(0.99)),
    Knob("segments.first_visit_churn", _sigmoid, _logit, _logit(1e-4), _logit(0.95)),
    Knob("segments.routine_purchase", _sigmoid, _logit, _logit(1e-4), _logit(0.99)),
    Knob("segments.routine_purchase_sd", _same, _same, 0.0, 5.0),
    Knob("segments.routine_extra_units", _same, _same, 0.0, 20.0),
    Knob("choice.stockpile_rate", _same, _same, 0.0, 100.0),
    Knob("segments.price_sensitivity", _same, _same, 0.0, 20.0),
    Knob("segments.gain_coef", _same, _same, 0.0, 50.0),
    Knob("catalog.popularity_noise", _same, _same, 0.0, 10.0),
    # the share of the simulated slots whose lines make the log: a store thinned to the real sales per product
    Knob("store.kept", math.exp, math.log, math.log(0.01), 0.0),
    # at most 40 % of the item-days: the regular price is the most frequent one, so a store that discounts an item
    # on most days (or sells most of its units on those days) makes a discounted price its regular one
    Knob("store.discount_chance", _sigmoid, _logit, _logit(1e-4), _logit(0.4)),
    Knob("store.discount_days", lambda z: 1.0 + math.exp(z), lambda v: math.log(v - 1.0), -5.0, math.log(364.0)),
    Knob("store.discount_depth", _same, _same, 0.02, 0.9),
    Knob("store.discount_focus", _same, _same, 0.0, 4.0),
    Knob("store.rise_chance", _sigmoid, _logit, _logit(1e-4), _logit(0.4)),
    Knob("store.rise_size", _same, _same, 0.02, 2.0),
    Knob("store.checkout_chance", _sigmoid, _logit, _logit(1e-4), _logit(0.9)),
    Knob("store.checkout_depth", _same, _same, 0.02, 0.9),
)

_STATISTICS = {s.name: s for s in (*TRANSACTION_STATISTICS, *REFERENCE_STATISTICS)}
#: The fitted statistics and the scale their gaps are measured on: ``log`` (log of the ratio) or ``relative`` (the
#: difference as a share of the real value).
TARGETS: dict[str, str] = {
    "unit price (median)": "log",
    "unit price p75 / p25": "log",
    "gross margin (products priced above ASSET)": "relative",
    "days between visits (mean)": "log",
    "customers with one visit (share)": "relative",
    "visits per customer": "log",
    "gaps of at most 7 days (share)": "relative",
    "customers of the first 30 days back later (share)": "relative",
    "lines per visit": "log",
    "lines per visit (sd)": "log",
    "units per line": "log",
    "units per discounted line": "log",
    "products sold per customer": "log",
    "lines of the top 10 % of products (share)": "relative",
    "price response: slope below the regular price": "relative",
    "price response: slope above the regular price": "relative",
    "lines discounted > 2 % below regular (share)": "relative",
    "discount depth (mean, discounted lines)": "relative",
    "discounted days of sale in a row (mean)": "log",
    "discounted lines beside a regular-price line (share)": "relative",
    "discount depth (mean, lines beside a regular-price line)": "relative",
    "lines > 2 % above regular (share)": "relative",
    "price rise (mean, lines above regular)": "relative",
    "lines above regular of the top 10 % of products (share)": "relative",
}


def store_statistics(log: TransactionLog) -> dict[str, float]:
    """Every transaction and reference-regression statistic of ``log``, by name."""
    return {name: statistic.compute(log) for name, statistic in _STATISTICS.items()}


def _gap(simulated: float, real: float, scale: str) -> float:
    if not np.isfinite(simulated):
        return 10.0  # the simulated log does not define it (no discounted line, nothing to regress): far off
    if scale == "log":
        return math.log(max(simulated, 1e-9) / real)
    return (simulated - real) / (abs(real) or 1.0)  # relative


def _apply(base: Scenario, policy: StorePolicy, values: dict[str, float]) -> tuple[Scenario, StorePolicy]:
    """The base scenario and store policy with the knobs' ``values`` set (segment values on every segment)."""
    segments = [
        s.model_dump() | {k.split(".")[1]: v for k, v in values.items() if k.startswith("segments.")}
        for s in base.segments
    ]
    sd, margin, churn = values["catalog.price_log_sd"], values["catalog.margin"], values["dynamics.churn"]
    scenario = base.replace(
        segments=segments,
        catalog={
            "popularity_noise": values["catalog.popularity_noise"],
            "price_log_mean": values["catalog.price_log_mean"],
            "price_log_sd_between": sd,
            "price_log_sd_within": sd,
            "margin_low": margin - MARGIN_HALF_WIDTH,
            "margin_high": margin + MARGIN_HALF_WIDTH,
        },
        dynamics={"churn_min": churn, "churn_max": churn},
        choice={"stockpile_rate": values["choice.stockpile_rate"]},
    )
    store = {k.split(".")[1]: v for k, v in values.items() if k.startswith("store.") and k != "store.kept"}
    return scenario, StorePolicy(**(policy.model_dump() | store))


def _start(base: Scenario, real: dict[str, float]) -> dict[str, float]:
    """Where the search starts: the base scenario's shoppers and catalog, price responses from the real log's
    slopes, and a store with the real log's shares, depths and rises (its discounted lines split between the shelf
    and the till as the lines beside a regular-price line suggest; what a store would show if every item-day sold
    alike). A start, not a fit."""
    segment = base.segments[0]
    below = real["price response: slope below the regular price"]
    above = real["price response: slope above the regular price"]
    discounted = real["lines discounted > 2 % below regular (share)"]
    mixed = real["discounted lines beside a regular-price line (share)"]  # what the till's discounts explain
    return {
        "catalog.price_log_mean": base.catalog.price_log_mean,
        "catalog.price_log_sd": max(0.5 * (base.catalog.price_log_sd_between + base.catalog.price_log_sd_within), 0.05),
        "catalog.margin": min(max(0.5 * (base.catalog.margin_low + base.catalog.margin_high), 0.12), 0.85),
        "segments.visit_interval": max(segment.visit_interval, 7.0),
        "segments.visit_interval_sd": max(segment.visit_interval_sd, 0.5),
        "dynamics.churn": min(max(base.dynamics.churn_max, 0.01), 0.5),
        "segments.first_visit_churn": 0.3,
        "segments.routine_purchase": max(segment.routine_purchase, 0.05),
        "segments.routine_purchase_sd": 1.0,
        "segments.routine_extra_units": segment.routine_extra_units,
        "choice.stockpile_rate": base.choice.stockpile_rate,
        # twice the log's slopes: units per product-day given a sale move less than the utility (a guess)
        "segments.price_sensitivity": min(max(-2 * below, 0.1), 19.0),
        "segments.gain_coef": min(max(2 * (below - above), 0.1), 49.0),
        "catalog.popularity_noise": base.catalog.popularity_noise,
        "store.kept": 0.5,
        "store.discount_chance": min(max(discounted * (1 - mixed), 0.01), 0.35),
        "store.discount_days": 7.0,
        "store.discount_depth": min(max(real["discount depth (mean, discounted lines)"], 0.03), 0.85),
        # the log's lines above the regular price are the best sellers': promotions that became their regular price
        "store.discount_focus": 2.0,
        "store.rise_chance": min(max(real["lines > 2 % above regular (share)"], 0.01), 0.35),
        "store.rise_size": min(max(real["price rise (mean, lines above regular)"], 0.03), 1.9),
        "store.checkout_chance": min(max(discounted * mixed, 0.01), 0.85),
        "store.checkout_depth": min(max(real["discount depth (mean, lines beside a regular-price line)"], 0.03), 0.85),
    }


@dataclass(frozen=True)
class StoreCalibration:
    """A calibrated scenario and store policy, the knobs' fitted ``values`` (rounded to 4 decimals, as set in
    both), the real and the closest simulated statistics (by name), and the path of the search: per simulation,
    the knobs' values and the distance (root mean square of the gaps)."""

    scenario: Scenario
    policy: StorePolicy
    values: dict[str, float]
    real: dict[str, float]
    simulated: dict[str, float]
    path: list[dict[str, float]]

    @property
    def distance(self) -> float:
        """The distance of the returned scenario's simulated statistics from the real ones."""
        return min(step["distance"] for step in self.path)

    @property
    def kept(self) -> float:
        """The share of the simulated slots kept in the log (the thinned store's size)."""
        return self.values["store.kept"]

    @property
    def customers_per_item(self) -> float:
        """Customers in the fitted (thinned) simulated log per catalog item: the store's size relative to its
        catalog, which a simulation of the real store's customers keeps by scaling the catalog with them."""
        return self.simulated[CUSTOMERS] / self.scenario.catalog.n_items


class _Search:
    """Bounded Levenberg–Marquardt on the gaps of ``targets`` over ``knobs`` (module docstring), keeping the path
    and the closest point. ``simulate`` maps the knobs' values to the simulated statistics."""

    def __init__(
        self,
        knobs: tuple[Knob, ...],
        targets: dict[str, str],
        real: dict[str, float],
        simulate: Callable[[dict[str, float]], dict[str, float]],
    ) -> None:
        missing = [name for name in targets if not np.isfinite(real[name])]
        if missing:
            raise ParameterError(f"the real log does not define {missing[0]!r}: too small to calibrate to")
        nonpositive = [name for name, scale in targets.items() if scale == "log" and real[name] <= 0]
        if nonpositive:
            raise ParameterError(f"the real log's {nonpositive[0]!r} is {real[nonpositive[0]]}: need > 0 to match")
        self.knobs, self.targets, self.real, self.simulate = knobs, targets, real, simulate
        self.path: list[dict[str, float]] = []
        self.best: tuple[float, dict[str, float], dict[str, float]] = (math.inf, {}, {})

    def gaps(self, z: np.ndarray) -> np.ndarray:
        values = {knob.name: knob.value(float(v)) for knob, v in zip(self.knobs, z, strict=True)}
        simulated = self.simulate(values)
        gap = np.array([_gap(simulated[name], self.real[name], scale) for name, scale in self.targets.items()])
        distance = float(np.sqrt(np.mean(gap**2)))
        self.path.append({**{k: round(v, 6) for k, v in values.items()}, "distance": round(distance, 6)})
        if distance < self.best[0]:
            self.best = (distance, values, simulated)
        return gap

    def run(self, start: dict[str, float], steps: int, say: Callable[[str], None]) -> None:
        z = np.array([knob.coordinate(start[knob.name]) for knob in self.knobs])
        low, high = np.array([k.low for k in self.knobs]), np.array([k.high for k in self.knobs])
        gap = self.gaps(z)
        say(f"start: distance {self.path[-1]['distance']:.4f}")
        jacobian, failures, damping = self.jacobian(z, gap, high, say), 0, 0.0
        for index in range(steps):
            if failures == 2:  # the updated Jacobian no longer points downhill: measure it again here, undamped
                jacobian, failures, damping = self.jacobian(z, gap, high, say), 0, 0.0
            # Levenberg–Marquardt: min |J·s + gap|² + damping·|s|² within the bounds, as one bounded least squares
            system = np.vstack([jacobian, math.sqrt(damping) * np.eye(z.size)])
            target = np.concatenate([-gap, np.zeros(z.size)])
            step = optimize.lsq_linear(system, target, bounds=(low - z, high - z)).x
            step *= min(1.0, 1.0 / max(np.abs(step).max(), 1e-12))  # no coordinate moves more than 1 at once
            new_gap = self.gaps(z + step)
            jacobian += np.outer(new_gap - gap - jacobian @ step, step) / max(float(step @ step), 1e-12)
            if np.sum(new_gap**2) < np.sum(gap**2):
                z, gap, failures, damping = z + step, new_gap, 0, damping / 10
            else:  # a shorter step, turned toward steepest descent
                failures, damping = failures + 1, max(10 * damping, 0.01 * float(np.sum(jacobian**2)) / z.size)
            say(f"step {index + 1}: distance {math.sqrt(np.mean(gap**2)):.4f}")

    def jacobian(self, z: np.ndarray, gap: np.ndarray, high: np.ndarray, say: Callable[[str], None]) -> np.ndarray:
        """Forward differences of the gaps, a step of 0.1 in each coordinate (backward at the upper bound)."""
        jacobian = np.empty((gap.size, z.size))
        for k in range(z.size):
            h = 0.1 if z[k] + 0.1 <= high[k] else -0.1
            moved = z.copy()
            moved[k] += h
            jacobian[:, k] = (self.gaps(moved) - gap) / h
        say(f"Jacobian measured ({z.size} simulations)")
        return jacobian


def calibrate_store(
    real: TransactionLog,
    base: Scenario | str = "grocery",
    seed: int = 0,
    shoppers: int = 6000,
    steps: int = 24,
    burn_in: int = 365,
    progress: Callable[[str], None] | None = None,
) -> StoreCalibration:
    """Fit the :data:`KNOBS` of ``base`` (and of a store policy) so that a log of the real log's length in days,
    simulated from ``shoppers`` slots, gives the real log's :data:`TARGETS` (module docstring); ``steps``
    Levenberg–Marquardt steps after the Jacobian. Same seed, same result."""
    if steps < 0 or shoppers < 1:
        raise ParameterError(f"steps = {steps}, shoppers = {shoppers}: allowed ≥ 0, ≥ 1")
    base = resolve_scenario(base)
    days = int(real.day.max()) + 1 if len(real) else 0
    policy = StorePolicy()

    def simulate(values: dict[str, float]) -> dict[str, float]:
        scenario, store = _apply(base, policy, values)
        log = simulate_store(scenario, days, shoppers, seed, store, burn_in, values["store.kept"])
        return store_statistics(log) | {CUSTOMERS: float(np.unique(log.customer).size)}

    search = _Search(KNOBS, TARGETS, store_statistics(real), simulate)
    search.run(_start(base, search.real), steps, progress or (lambda _: None))
    values = {name: round(value, 4) for name, value in search.best[1].items()}
    scenario, store = _apply(base, policy, values)
    return StoreCalibration(scenario, store, values, search.real, search.best[2], search.path)


#: The store-side knobs and statistics: what a later window's shelf policy is fitted on.
STORE_KNOBS = tuple(knob for knob in KNOBS if knob.name.startswith("store.") and knob.name != "store.kept")
STORE_TARGETS = {
    name: TARGETS[name]
    for name in (
        "lines discounted > 2 % below regular (share)",
        "discount depth (mean, discounted lines)",
        "discounted days of sale in a row (mean)",
        "discounted lines beside a regular-price line (share)",
        "discount depth (mean, lines beside a regular-price line)",
        "lines > 2 % above regular (share)",
        "price rise (mean, lines above regular)",
        "lines above regular of the top 10 % of products (share)",
    )
}


def calibrate_later_policy(
    real: TransactionLog,
    scenario: Scenario,
    policy: StorePolicy,
    first_day: int,
    kept: float = 1.0,
    seed: int = 0,
    shoppers: int = 6000,
    steps: int = 6,
    burn_in: int = 365,
    progress: Callable[[str], None] | None = None,
) -> StorePolicy:
    """The store policy from ``first_day`` on that gives the discounted and raised lines of ``real`` (that window's
    log), with the shoppers of ``scenario`` and ``policy`` before it (the store thinned to a share ``kept`` of its
    slots, as fitted): the store changed its shelf, the shoppers stayed."""
    days = int(real.day.max()) + 1 if len(real) else 0

    def simulate(values: dict[str, float]) -> dict[str, float]:
        later = StorePolicy(**(policy.model_dump() | {k.split(".")[1]: v for k, v in values.items()}))
        calendar = [(0, policy), (first_day, later)]
        log = simulate_store(scenario, first_day + days, shoppers, seed, calendar, burn_in, kept)
        window = log.take(np.flatnonzero(log.day >= first_day))
        return store_statistics(replace(window, day=window.day - first_day))

    search = _Search(STORE_KNOBS, STORE_TARGETS, store_statistics(real), simulate)
    search.run({f"store.{k}": v for k, v in policy.model_dump().items()}, steps, progress or (lambda _: None))
    return StorePolicy(**{name.split(".")[1]: round(value, 4) for name, value in search.best[1].items()})
