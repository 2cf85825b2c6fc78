"""Calibrating a scenario to a transaction log by indirect inference on simulated store logs.

The shopper model has no likelihood for a transaction log: a visit's lines depend on stock, reference prices and
the shelf of the day. So the fit matches statistics. Twenty-seven parameters (:data:`KNOBS`) are moved until logs
simulated from the scenario (:func:`shopgym.calibration.store.simulate_store`, common random numbers: the same
seed at every step) give the real log's values of twenty-eight statistics (:data:`TARGETS`):

- the catalog's price level, price spread and margin against the median unit price, its p75/p25 and the gross
  margin;
- the mean days between visits, its log-normal spread across shoppers, the churn hazard, the share of trial
  shoppers who leave after their first visit and the share of returns that are top-up trips (the base's
  ``topup_interval`` days later on average) against the mean gap, the share of gaps of at most 7 days, the share
  of one-visit customers, the visits per customer and the share of the first 30 days' customers seen again later;
- the routine-line chance, its spread across shoppers, extra units, its correlation with the shoppers' visit
  interval, stockpiling rate and pantry weight against lines per visit, their sd, the lines of a visit a day after
  the last, the rank correlation of the customers' mean gap with their mean basket, units per line and units per
  discounted line;
- the catalog's popularity noise and the share of the simulated store's slots kept in the log (a store thinned
  to the log's sales per product) against the products sold per customer and the top 10 % of products' share of
  lines;
- the shoppers' price sensitivity β, gain coefficient η⁺ and the weight ω of a category's prices in the chance of a
  routine line against the slopes of log units per product-day below and above the regular price
  (:func:`shopgym.calibration.reference_prices.fit_price_response`) and of a category's lines per visit of a day
  (:func:`shopgym.calibration.reference_prices.fit_category_response`);
- the store's logging policy (:class:`StorePolicy`): its share of item-days on promotion, their length, depth and
  how much they favour the best sellers, its share of item-days priced above list and the rise, and its discounts
  at the till (share, depth), against the share of lines sold below the regular price, their mean depth, the
  length of discount spells, the top 10 % of products' share of the lines above the regular price (where a best
  seller's promotion makes the promotional price its regular one, its list-price days sell above it), the share
  of discounted lines beside a regular-price line of the same day and their depth, the share of lines above the
  regular price and their mean rise.

The simulated log is recorded through the real log's recording gaps (:mod:`shopgym.calibration.recording`): a visit
on a day the real log holds only part of is kept with that day's share, so both logs lose the same visits. The
reference regression's coefficients are not targets: the fidelity report checks them. Gaps are measured on a scale
where each is comparable (log for levels, relative for shares and slopes, absolute for the category response's
slopes, which may be about 0). The search starts where each block of
knobs (:data:`BLOCKS`, the pairs above) was fitted on its own statistics, the others fixed, in turn for two rounds;
then it takes bounded Levenberg–Marquardt steps (``scipy.optimize.lsq_linear`` within the parameters' ranges) on a
Jacobian measured by finite differences and updated by Broyden's rule after every step; a step that does not lower
the distance raises the damping tenfold (shorter steps, turned toward steepest descent; one that does lowers it
tenfold), and after two such steps in a row the Jacobian is measured again and the damping dropped, unless it was
measured at that very point: then the search stops, since the same simulations would repeat the same two steps.
The log's other statistics are not fitted: they are what the fidelity report checks.

"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from shopgym.calibration.recording import record, recorded_share
from shopgym.calibration.reference_prices import REFERENCE_STATISTICS
from shopgym.calibration.search import Knob, Search, days_knob, identity, logit, sigmoid, statistic_gap
from shopgym.calibration.store import StorePolicy, simulate_store
from shopgym.calibration.transaction_log import TransactionLog
from shopgym.calibration.transactions import TRANSACTION_STATISTICS
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import resolve_scenario

__all__ = [
    "BLOCKS",
    "KNOBS",
    "TARGETS",
    "StoreCalibration",
    "calibrate_store",
    "store_statistics",
]

#: The margin is fitted at the centre of a uniform range this wide on each side.
MARGIN_HALF_WIDTH = 0.1
#: The key of the simulated log's number of customers among a simulation's statistics.
CUSTOMERS = "customers"


KNOBS: tuple[Knob, ...] = (
    Knob("catalog.price_log_mean", identity, identity, -5.0, 12.0),
    Knob("catalog.price_log_sd", math.exp, math.log, math.log(0.05), math.log(5.0)),
    Knob("catalog.margin", identity, identity, MARGIN_HALF_WIDTH + 0.01, 0.98 - MARGIN_HALF_WIDTH),
    days_knob("segments.visit_interval"),
    Knob("segments.visit_interval_sd", identity, identity, 0.0, 3.0),
    Knob("dynamics.churn", sigmoid, logit, logit(1e-4), logit(0.99)),
    Knob("segments.first_visit_churn", sigmoid, logit, logit(1e-4), logit(0.95)),
    Knob("segments.topup_chance", sigmoid, logit, logit(1e-4), logit(0.9)),
    Knob("segments.routine_purchase", sigmoid, logit, logit(1e-4), logit(0.99)),
    Knob("segments.routine_purchase_sd", identity, identity, 0.0, 5.0),
    Knob("segments.routine_extra_units", identity, identity, 0.0, 20.0),
    Knob("segments.routine_interval_correlation", identity, identity, -0.95, 0.95),
    Knob("choice.stockpile_rate", identity, identity, 0.0, 100.0),
    Knob("choice.pantry_weight", identity, identity, 0.0, 5.0),
    Knob("segments.price_sensitivity", identity, identity, 0.0, 20.0),
    Knob("segments.gain_coef", identity, identity, 0.0, 50.0),
    Knob("choice.routine_value_weight", identity, identity, 0.0, 1.0),
    Knob("catalog.popularity_noise", identity, identity, 0.0, 10.0),
    # the share of the simulated slots whose lines make the log: a store thinned to the real sales per product
    Knob("store.kept", math.exp, math.log, math.log(0.01), 0.0),
    # at most 40 % of the item-days: the regular price is the most frequent one, so a store that discounts an item
    # on most days (or sells most of its units on those days) makes a discounted price its regular one
    Knob("store.discount_chance", sigmoid, logit, logit(1e-4), logit(0.4)),
    days_knob("store.discount_days"),
    Knob("store.discount_depth", identity, identity, 0.02, 0.9),
    Knob("store.discount_focus", identity, identity, 0.0, 4.0),
    Knob("store.rise_chance", sigmoid, logit, logit(1e-4), logit(0.4)),
    Knob("store.rise_size", identity, identity, 0.02, 2.0),
    Knob("store.checkout_chance", sigmoid, logit, logit(1e-4), logit(0.9)),
    Knob("store.checkout_depth", identity, identity, 0.02, 0.9),
)

_STATISTICS = {s.name: s for s in (*TRANSACTION_STATISTICS, *REFERENCE_STATISTICS)}
#: The fitted statistics and the scale their gaps are measured on: ``log`` (log of the ratio), ``relative`` (the
#: difference as a share of the real value) or ``absolute`` (:func:`shopgym.calibration.search.statistic_gap`).
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
    "lines per visit a day after the last": "log",
    "days between visits vs lines per visit, across customers (rank correlation)": "relative",
    "units per line": "log",
    "units per discounted line": "log",
    "products sold per customer": "log",
    "lines of the top 10 % of products (share)": "relative",
    "price response: slope below the regular price": "relative",
    "price response: slope above the regular price": "relative",
    "category response: slope below the regular price": "absolute",
    "category response: slope above the regular price": "absolute",
    "lines discounted > 2 % below regular (share)": "relative",
    "discount depth (mean, discounted lines)": "relative",
    "discounted days of sale in a row (mean)": "log",
    "discounted lines beside a regular-price line (share)": "relative",
    "discount depth (mean, lines beside a regular-price line)": "relative",
    "lines > 2 % above regular (share)": "relative",
    "price rise (mean, lines above regular)": "relative",
    "lines above regular of the top 10 % of products (share)": "relative",
}


#: The knobs in blocks, each with the statistics it is matched on alone (the pairs of the module docstring). The
#: joint search starts where each block in turn, for :data:`START_CYCLES` rounds, was fitted on its own statistics
#: with the other knobs fixed: a joint search from a rough start spends its first steps on the large gaps and then
#: stalls (in the simulation noise) far from where the blocks alone would have gone.
BLOCKS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (
        ("catalog.price_log_mean", "catalog.price_log_sd", "catalog.margin"),
        ("unit price (median)", "unit price p75 / p25", "gross margin (products priced above ASSET)"),
    ),
    (
        tuple(knob.name for knob in KNOBS if knob.name.startswith("store.") and knob.name != "store.kept"),
        (
            "lines discounted > 2 % below regular (share)",
            "discount depth (mean, discounted lines)",
            "discounted days of sale in a row (mean)",
            "discounted lines beside a regular-price line (share)",
            "discount depth (mean, lines beside a regular-price line)",
            "lines > 2 % above regular (share)",
            "price rise (mean, lines above regular)",
            "lines above regular of the top 10 % of products (share)",
        ),
    ),
    (
        (
            "segments.visit_interval",
            "segments.visit_interval_sd",
            "dynamics.churn",
            "segments.first_visit_churn",
            "segments.topup_chance",
        ),
        (
            "days between visits (mean)",
            "customers with one visit (share)",
            "visits per customer",
            "gaps of at most 7 days (share)",
            "customers of the first 30 days back later (share)",
        ),
    ),
    (
        (
            "segments.routine_purchase",
            "segments.routine_purchase_sd",
            "segments.routine_extra_units",
            "segments.routine_interval_correlation",
            "choice.stockpile_rate",
            "choice.pantry_weight",
        ),
        (
            "lines per visit",
            "lines per visit (sd)",
            "lines per visit a day after the last",
            "days between visits vs lines per visit, across customers (rank correlation)",
            "units per line",
            "units per discounted line",
        ),
    ),
    (
        ("catalog.popularity_noise", "store.kept"),
        ("products sold per customer", "lines of the top 10 % of products (share)"),
    ),
    (
        ("segments.price_sensitivity", "segments.gain_coef", "choice.routine_value_weight"),
        (
            "price response: slope below the regular price",
            "price response: slope above the regular price",
            "category response: slope below the regular price",
            "category response: slope above the regular price",
        ),
    ),
)
#: Rounds over the blocks before the joint search.
START_CYCLES = 2
#: Levenberg–Marquardt steps per block and round.
BLOCK_STEPS = 5


def store_statistics(log: TransactionLog) -> dict[str, float]:
    """Every transaction and reference-regression statistic of ``log``, by name."""
    return {name: statistic.compute(log) for name, statistic in _STATISTICS.items()}


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
        choice={k.split(".")[1]: v for k, v in values.items() if k.startswith("choice.")},
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
        # regular trips every few weeks, a fifth of returns top-ups, trial shoppers: where a sketch of the visit
        # process alone (Nelder-Mead on the visit statistics) went
        "segments.visit_interval": 25.0,
        "segments.visit_interval_sd": 0.3,
        "dynamics.churn": 0.05,
        "segments.first_visit_churn": 0.6,
        "segments.topup_chance": 0.2,
        "segments.routine_purchase": max(segment.routine_purchase, 0.05),
        "segments.routine_purchase_sd": 1.0,
        "segments.routine_extra_units": segment.routine_extra_units,
        "segments.routine_interval_correlation": 0.0,
        "choice.stockpile_rate": base.choice.stockpile_rate,
        "choice.pantry_weight": max(base.choice.pantry_weight, 0.05),  # a guess: a few lines fewer a day later
        # twice the log's slopes: units per product-day given a sale move less than the utility (a guess)
        "segments.price_sensitivity": min(max(-2 * below, 0.1), 19.0),
        "segments.gain_coef": min(max(2 * (below - above), 0.1), 49.0),
        "choice.routine_value_weight": base.choice.routine_value_weight,
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
    both), the real statistics and those of the returned scenario and policy simulated once more (by name), the
    path of the joint search: per simulation, the knobs' values and the distance (root mean square of the gaps),
    and the simulations of its start (the blocks' searches, :data:`BLOCKS`). The search returns the closest of
    its simulated stores, a draw picked for its luck among hundreds; simulated once more at the rounded values
    (which draws other random numbers), its statistics and :attr:`distance` are a fair measure of the fit."""

    scenario: Scenario
    policy: StorePolicy
    values: dict[str, float]
    real: dict[str, float]
    simulated: dict[str, float]
    path: list[dict[str, float]]
    start_simulations: int = 0

    @property
    def distance(self) -> float:
        """The distance of the returned scenario's simulated statistics from the real ones."""
        gaps = [statistic_gap(self.simulated[name], self.real[name], scale) for name, scale in TARGETS.items()]
        return float(np.sqrt(np.mean(np.square(gaps))))

    @property
    def kept(self) -> float:
        """The share of the simulated slots kept in the log (the thinned store's size)."""
        return self.values["store.kept"]

    @property
    def customers_per_item(self) -> float:
        """Customers in the fitted (thinned) simulated log per catalog item: the store's size relative to its
        catalog, which a simulation of the real store's customers keeps by scaling the catalog with them."""
        return self.simulated[CUSTOMERS] / self.scenario.catalog.n_items


def calibrate_store(
    real: TransactionLog,
    base: Scenario | str = "grocery",
    seed: int = 0,
    shoppers: int = 6000,
    steps: int = 12,
    burn_in: int = 365,
    progress: Callable[[str], None] | None = None,
    start: dict[str, float] | None = None,
) -> StoreCalibration:
    """Fit the :data:`KNOBS` of ``base`` (and of a store policy) so that a log of the real log's length in days,
    simulated from ``shoppers`` slots, gives the real log's :data:`TARGETS` (module docstring): a start block by
    block (:data:`BLOCKS`) from ``start`` (a value for every knob; None: a guess from ``base`` and the real log),
    then ``steps`` joint Levenberg–Marquardt steps after the Jacobian; the statistics returned are those of the
    fitted scenario simulated once more. Same seed, same result."""
    if steps < 0 or shoppers < 1:
        raise ParameterError(f"steps = {steps}, shoppers = {shoppers}: allowed ≥ 0, ≥ 1")
    knobs = {knob.name for knob in KNOBS}
    if start is not None and set(start) != knobs:
        missing, unknown = sorted(knobs - set(start)), sorted(set(start) - knobs)
        raise ParameterError(f"start: missing {missing}, unknown {unknown}: give every knob")
    base = resolve_scenario(base)
    days = int(real.day.max()) + 1 if len(real) else 0
    policy = StorePolicy()
    share = recorded_share(real)

    def simulate(values: dict[str, float]) -> dict[str, float]:
        scenario, store = _apply(base, policy, values)
        log = simulate_store(scenario, days, shoppers, seed, store, burn_in, values["store.kept"])
        log = record(log, share, np.random.default_rng(seed))
        return store_statistics(log) | {CUSTOMERS: float(np.unique(log.customer).size)}

    say = progress or (lambda _: None)
    search = Search(KNOBS, TARGETS, store_statistics(real), simulate)
    start, started = _start(base, search.real) if start is None else dict(start), 0
    for cycle in range(START_CYCLES):
        for names, targets in BLOCKS:
            fixed = dict(start)
            block = Search(
                tuple(knob for knob in KNOBS if knob.name in names),
                {name: TARGETS[name] for name in targets},
                search.real,
                lambda values, fixed=fixed: simulate(fixed | values),
            )
            block.run({name: start[name] for name in names}, BLOCK_STEPS, lambda _: None)
            start, started = fixed | block.best[1], started + len(block.path)
            say(f"start, round {cycle + 1}: {names[0].split('.')[1]} and its block, distance {block.best[0]:.4f}")
    search.run(start, steps, say)
    values = {name: round(value, 4) for name, value in search.best[1].items()}
    scenario, store = _apply(base, policy, values)
    return StoreCalibration(scenario, store, values, search.real, simulate(values), search.path, started)
