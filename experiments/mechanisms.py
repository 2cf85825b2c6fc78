"""Which mechanism of shopper model v2 produces which optimal price path on ``Pricing-v1`` (for docs/results.md).

``Pricing-v1`` ends episodes geometrically, so its optimum (:mod:`shopgym.pricing_optimum`) is a stationary policy
of the reference price ρ, and the price path it follows from ρ₀ is deterministic. :func:`classify_path` names the
path's structure: constant from the first visit, converging to a constant after a transient, cycling, or (on no
period up to half the tail) irregular, and whether its steady state lies strictly inside the price levels.

Every preset is solved as it is and in the :data:`VARIANTS` below; each variant sets, in **every segment** of the
preset (the pricing reduction then averages the segments, :func:`shopgym.tasks.pricing_scenario`):

* ``no deal response``: promotion affinity π = 0, so a discount below ρ no longer draws extra clicks;
* ``gain = loss``: η⁺ = η⁻ = (η⁺ + η⁻)/2;
* ``loss > gain`` (loss-averse): η⁺ = S/3, η⁻ = 2S/3, with S = η⁺ + η⁻ of the segment kept;
* ``gain > loss`` (gain-seeking): η⁺ = 2S/3, η⁻ = S/3;
* the three reference settings again with π = 0: the reference effect alone, the setting of Popescu & Wu (2007,
  loss-averse or neutral shoppers: the optimal path converges monotonically to a constant) and of Hu, Chen & Hu
  (2016, gain-seeking shoppers: cyclic prices can be optimal).

The myopic price maximises the one-visit expected reward :meth:`PricingModel.expected_reward` at the current ρ; its
return is the exact sum Σ cᵗ·r(ρₜ, xₜ) over the model's own reward and ρ transition (c the continuation
probability), over enough visits that the weight c^V of the rest is below :data:`RETURN_TOLERANCE`.

Run: ``python -m shopgym.experiments.mechanisms [--grid-size N]`` (about a minute and a half on one core).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import gymnasium as gym
import numpy as np

import shopgym  # noqa: F401  (registers the ids)
from shopgym.experiments.report import table as markdown_table
from shopgym.params import Scenario
from shopgym.pricing_optimum import PricingModel, PricingSolution, solve_pricing
from shopgym.scenarios import get_scenario, list_scenarios

__all__ = [
    "VARIANTS",
    "PathStructure",
    "Variant",
    "classify_path",
    "mechanism_section",
    "myopic_outcome",
    "myopic_path",
    "optimal_structure",
    "path_return",
    "solve_market",
    "variant_scenario",
]

ENV_ID = "shopgym/Pricing-v1"
#: Paths whose return is summed are followed until c^V, the weight of what is left, falls below this.
RETURN_TOLERANCE = 1e-12
#: Two prices closer than this are the same level.
PRICE_TOLERANCE = 1e-9
#: Visits of the price paths that are classified.
VISITS = 300
KINDS = ("constant", "converges", "cycles", "irregular")


# ---------------------------------------------------------------------- path structure
@dataclass(frozen=True)
class PathStructure:
    """The structure of a price path: a periodic tail (a constant one has period 1) after ``transient`` visits."""

    kind: str  #: "constant" (from visit 1), "converges" (after a transient), "cycles" or "irregular"
    transient: int  #: visits before the periodic tail (0: periodic from visit 1)
    cycle: tuple[float, ...]  #: one period of the tail, in order (irregular: the whole examined tail)
    interior: bool  #: every steady-state price is strictly inside the range of price levels

    @property
    def period(self) -> int:
        """Visits per cycle (1 for a constant price; 0 when irregular)."""
        return 0 if self.kind == "irregular" else len(self.cycle)

    @property
    def mean_price(self) -> float:
        """Mean steady-state price (over a cycle): also the mean steady-state reference price, since ρ averages the
        prices."""
        return float(np.mean(self.cycle))

    def describe(self) -> str:
        """A table cell, e.g. ``converges → 0.85 in 3 (interior)`` or ``cycles p=4: 0.85–1.50 (bound)``."""
        where = "interior" if self.interior else "bound"
        low, high = min(self.cycle), max(self.cycle)
        if self.kind == "constant":
            return f"constant {low:.2f} ({where})"
        if self.kind == "converges":
            return f"converges → {low:.2f} in {self.transient} ({where})"
        if self.kind == "cycles":
            return f"cycles p={self.period}: {low:.2f}–{high:.2f} ({where})"
        return f"irregular: {low:.2f}–{high:.2f} ({where})"


def classify_path(prices: Sequence[float] | np.ndarray, low: float, high: float) -> PathStructure:
    """The structure of the price path ``prices`` [V] on price levels from ``low`` to ``high``.

    Its second half must repeat with some period p ≤ V/4 (so at least twice); the smallest such p is the period,
    and the tail is followed back as far as it keeps repeating. Period 1 from visit 1 is "constant", period 1 later
    "converges", a longer period "cycles"; no period is "irregular". The steady state is interior when all its prices
    lie strictly between ``low`` and ``high``.
    """
    path = np.asarray(prices, dtype=np.float64)
    if path.ndim != 1 or path.size < 4:
        raise ValueError(f"a price path needs at least 4 visits, got shape {path.shape}")
    tail = path[path.size // 2 :]
    period = next(
        (p for p in range(1, tail.size // 2 + 1) if np.allclose(tail[p:], tail[:-p], rtol=0.0, atol=PRICE_TOLERANCE)),
        None,
    )
    if period is None:
        cycle, start, kind = tail, path.size // 2, "irregular"
    else:
        start = path.size - tail.size
        while start > 0 and abs(path[start - 1] - path[start - 1 + period]) <= PRICE_TOLERANCE:
            start -= 1
        cycle = path[start : start + period]
        kind = "cycles" if period > 1 else ("constant" if start == 0 else "converges")
    interior = bool(np.all((cycle > low + PRICE_TOLERANCE) & (cycle < high - PRICE_TOLERANCE)))
    return PathStructure(kind, int(start), tuple(float(x) for x in cycle), interior)


# ---------------------------------------------------------------------- variants
@dataclass(frozen=True)
class Variant:
    """A change to a preset: deal response off, and / or the reference coefficients re-split in every segment, and /
    or only examined prices forming the reference."""

    name: str
    deal_response: bool = True  #: False: promotion affinity π = 0
    gain_share: float | None = None  #: η⁺ / (η⁺ + η⁻) with the sum kept; None: as in the preset
    examined_only: bool = False  #: True: ν = 0, a price moves ρ only when the shopper clicks (examines) it

    def apply(self, scenario: Scenario) -> Scenario:
        """The preset with this variant's settings in every segment."""
        segments = []
        for segment in scenario.segments:
            update: dict[str, float] = {}
            if not self.deal_response:
                update["promo_affinity"] = 0.0
            if self.gain_share is not None:
                total = segment.gain_coef + segment.loss_coef
                update["gain_coef"] = self.gain_share * total
                update["loss_coef"] = (1.0 - self.gain_share) * total
            segments.append(segment.model_copy(update=update).model_dump())
        dynamics = {"unexamined_price_weight": 0.0} if self.examined_only else {}
        return scenario.replace(name=f"{scenario.name}-{self.name}"[:64], segments=segments, dynamics=dynamics)


VARIANTS: tuple[Variant, ...] = (
    Variant("as-is"),
    Variant("no deal response", deal_response=False),
    Variant("gain = loss", gain_share=1 / 2),
    Variant("loss > gain", gain_share=1 / 3),
    Variant("gain > loss", gain_share=2 / 3),
    Variant("gain = loss, no deals", deal_response=False, gain_share=1 / 2),
    Variant("loss > gain, no deals", deal_response=False, gain_share=1 / 3),
    Variant("gain > loss, no deals", deal_response=False, gain_share=2 / 3),
    Variant("loss > gain, no deals, examined prices", deal_response=False, gain_share=1 / 3, examined_only=True),
    Variant("gain > loss, no deals, examined prices", deal_response=False, gain_share=2 / 3, examined_only=True),
)
#: The variants of the two reference-price theorems (the reference effect alone), with every shown price and with
#: only examined prices forming the reference.
POPESCU_WU = ("loss > gain, no deals", "loss > gain, no deals, examined prices")
HU_CHEN_HU = ("gain > loss, no deals", "gain > loss, no deals, examined prices")


def variant_scenario(preset: str, variant: Variant) -> Scenario:
    """A preset by name with ``variant`` applied."""
    return variant.apply(get_scenario(preset))


# ---------------------------------------------------------------------- solving
def solve_market(scenario: Scenario, grid_size: int) -> PricingSolution:
    """The exact optimum of ``Pricing-v1`` in ``scenario`` (undiscounted: γ = 1)."""
    envs = gym.make_vec(ENV_ID, num_envs=1, scenario=scenario)
    try:
        envs.reset(seed=0)
        model = PricingModel.from_batch(envs.batch)
    finally:
        envs.close()
    return solve_pricing(model, gamma=1.0, grid_size=grid_size)


def optimal_structure(solution: PricingSolution, visits: int = VISITS) -> PathStructure:
    """The structure of the optimal price path over ``visits`` from ρ₀."""
    levels = solution.model.levels
    return classify_path(solution.path(visits)[1], float(levels.min()), float(levels.max()))


def myopic_path(model: PricingModel, visits: int) -> tuple[np.ndarray, np.ndarray]:
    """The ρ path [V + 1] and level indices [V] of charging, at every visit, the level with the highest one-visit
    expected reward at the current ρ."""
    rho, chosen = [model.rho0], []
    for _ in range(visits):
        chosen.append(int(np.argmax(model.expected_reward(np.array([rho[-1]]))[0])))
        rho.append(float(model.next_rho(np.array([rho[-1]]))[0, chosen[-1]]))
    return np.array(rho), np.array(chosen)


def path_return(model: PricingModel, rho: np.ndarray, chosen: np.ndarray, continuation: float) -> float:
    """Σₜ cᵗ·r(ρₜ, xₜ) of a deterministic path (``rho`` [V + 1], level indices ``chosen`` [V])."""
    rewards = model.expected_reward(rho[:-1])[np.arange(chosen.size), chosen]
    return float(rewards @ continuation ** np.arange(chosen.size))


def return_visits(continuation: float) -> int:
    """Visits after which the weight c^V of the rest of a path falls below :data:`RETURN_TOLERANCE`."""
    if continuation <= 0.0:
        return 1
    return max(VISITS, math.ceil(math.log(RETURN_TOLERANCE) / math.log(continuation)))


def myopic_outcome(solution: PricingSolution) -> tuple[PathStructure, float]:
    """The structure of the myopic price path from ρ₀ and its exact return, in the market of ``solution``."""
    model, continuation = solution.model, solution.continuation
    rho, chosen = myopic_path(model, return_visits(continuation))
    levels = model.levels
    structure = classify_path(levels[chosen[:VISITS]], float(levels.min()), float(levels.max()))
    return structure, path_return(model, rho, chosen, continuation)


# ---------------------------------------------------------------------- the section
def _names(presets: Sequence[str]) -> str:
    return ", ".join(f"`{p}`" for p in presets) if presets else "none"


def _counts(structures: Sequence[PathStructure]) -> str:
    kinds = [s.kind for s in structures]
    return ", ".join(f"{kind} in {kinds.count(kind)}" for kind in KINDS if kind in kinds)


def _theorems(table: dict[str, dict[str, PathStructure]], high: float) -> list[str]:
    """Whether the Popescu–Wu and Hu–Chen–Hu structures appear, for each way of forming the reference."""
    n, lines = len(table), []
    for popescu_wu, hu_chen_hu in zip(POPESCU_WU, HU_CHEN_HU, strict=True):
        settled = [p for p, row in table.items() if row[popescu_wu].kind in ("constant", "converges")]
        settled = [p for p in settled if table[p][popescu_wu].interior]
        not_settled = [f"`{p}` ({row[popescu_wu].describe()})" for p, row in table.items() if p not in settled]
        cycling = [p for p, row in table.items() if row[hu_chen_hu].kind == "cycles"]
        interior = [p for p in cycling if table[p][hu_chen_hu].interior]
        not_cycling = [f"`{p}` ({row[hu_chen_hu].describe()})" for p, row in table.items() if p not in cycling]
        at_top = [p for p in cycling if abs(max(table[p][hu_chen_hu].cycle) - high) <= PRICE_TOLERANCE]
        lines += [
            f"Popescu–Wu (loss-averse shoppers, reference effect alone: *{popescu_wu}*): the optimal path settles at"
            f" a constant interior price in {len(settled)} of {n} presets ({_names(settled)})"
            + (f"; it does not in {', '.join(not_settled)}." if not_settled else "."),
            f"Hu–Chen–Hu (gain-seeking shoppers, reference effect alone: *{hu_chen_hu}*): the optimal path cycles in"
            f" {len(cycling)} of {n} presets ({_names(cycling)}), between interior prices in {len(interior)}"
            f" ({_names(interior)}), reaching the highest level, {high:.2f}, in {len(at_top)}"
            + (f"; it does not cycle in {', '.join(not_cycling)}." if not_cycling else "."),
        ]
    return lines


def _findings(table: dict[str, dict[str, PathStructure]], high: float) -> list[str]:
    """Sentences on what the structure table shows."""
    n = len(table)
    shown = [v.name for v in VARIANTS if not v.examined_only]
    cycles = [row[v] for row in table.values() for v in shown if row[v].kind == "cycles"]
    at_top = [s for s in cycles if abs(max(s.cycle) - high) <= PRICE_TOLERANCE]
    with_deals = [v.name for v in VARIANTS if v.deal_response]
    no_deals = [v.name for v in VARIANTS if not v.deal_response]
    return [
        f"With deal response on (*{'*, *'.join(with_deals)}*) the optimal path is "
        f"{_counts([row[v] for row in table.values() for v in with_deals])} of {n * len(with_deals)} cells; "
        f"with it off (*{'*, *'.join(no_deals)}*) {_counts([row[v] for row in table.values() for v in no_deals])} "
        f"of {n * len(no_deals)}.",
        *_theorems(table, high),
        f"With every shown price forming the reference, {len(at_top)} of the {len(cycles)} cycles in the table reach"
        f" the highest level, {high:.2f}: a visit there sells almost nothing but raises ρ. With only examined prices"
        " forming it (*…, examined prices*: ν = 0), an unsold price no longer moves ρ.",
    ]


def mechanism_section(grid_size: int = 2001, presets: Sequence[str] | None = None) -> list[str]:
    """Markdown lines of the section: the optimal path's structure per preset and variant, the myopic policy
    against the optimum, and what the tables show about Popescu–Wu and Hu–Chen–Hu (``presets``: all by default)."""
    presets = list(list_scenarios() if presets is None else presets)
    solutions = {p: {v.name: solve_market(variant_scenario(p, v), grid_size) for v in VARIANTS} for p in presets}
    table = {p: {name: optimal_structure(solution) for name, solution in row.items()} for p, row in solutions.items()}
    first = solutions[presets[0]][VARIANTS[0].name]
    levels = first.model.levels
    lines = [
        "## Pricing-v1: which mechanism produces which price path",
        "",
        f"The optimal stationary policy (value iteration on a {grid_size}-point reference-price grid, γ = 1, episodes "
        f"ending after every visit with probability {1 - first.continuation:.2g}) followed from ρ₀ for {VISITS} "
        f"visits on the {levels.size} price levels {levels.min():.2f}…{levels.max():.2f}. A cell gives the structure "
        "of the path and its steady-state price(s): *constant* from visit 1, *converges* to a constant after the "
        "stated number of visits, *cycles* with period p between the prices shown; *interior* when every "
        "steady-state price lies strictly between the lowest and highest level, *bound* otherwise. Each variant "
        "changes every segment of the preset before the pricing reduction averages them: *no deal response* sets "
        "promotion affinity π = 0; *gain = loss* sets η⁺ = η⁻ = (η⁺ + η⁻)/2; *loss > gain* sets η⁺ = S/3, "
        "η⁻ = 2S/3 (S = η⁺ + η⁻ kept); *gain > loss* mirrors it; *…, no deals* adds π = 0; *…, examined prices* "
        "also sets ν = 0, so a price moves ρ only when the shopper clicks (examines) it, and the path shown is the "
        "one through examined prices (`experiments/mechanisms.py`; every preset has ν = 1).",
        "",
        *markdown_table(
            ["preset", *(v.name for v in VARIANTS)],
            [[f"`{p}`", *(row[v.name].describe() for v in VARIANTS)] for p, row in table.items()],
            "l" * (1 + len(VARIANTS)),
        ),
    ]
    lines += [
        "",
        "Myopic pricing (the level with the highest one-visit expected reward at the current ρ) against the optimum, "
        "presets as they are. J(myopic) is the exact sum of the model's own expected rewards along the myopic path "
        f"(followed until the weight of the rest is below {RETURN_TOLERANCE:g}); J* is the DP value at ρ₀. Mean "
        "prices are over the steady-state cycle, so they are also the mean steady-state reference prices.",
        "",
    ]
    rows, lower, at_or_below_deal, ratios = [], [], [], []
    for p in presets:
        solution, optimal = solutions[p][VARIANTS[0].name], table[p][VARIANTS[0].name]
        myopic, myopic_return = myopic_outcome(solution)
        ratios.append(myopic_return / solution.j_star)
        rows.append(
            [
                f"`{p}`",
                f"{solution.j_star:.2f}",
                f"{myopic_return:.2f}",
                f"{ratios[-1]:.3f}",
                optimal.describe(),
                myopic.describe(),
                f"{optimal.mean_price:.3f}",
                f"{myopic.mean_price:.3f}",
            ]
        )
        if myopic.mean_price < optimal.mean_price - PRICE_TOLERANCE:
            lower.append(p)
        if max(myopic.cycle) <= min(optimal.cycle) + PRICE_TOLERANCE:
            at_or_below_deal.append(p)
    not_lower = [p for p in presets if p not in lower]
    header = ["preset", "J*", "J(myopic)", "J(myopic) / J*", "optimal path", "myopic path", "mean price, optimal"]
    lines += markdown_table([*header, "mean price, myopic"], rows, "lrrrllrr")
    lines += [
        "",
        *_findings(table, float(levels.max())),
        f"Myopic pricing's mean steady-state price is below the optimal one in {len(lower)} of {len(presets)} "
        f"presets ({_names(lower)})"
        + (f", not in {_names(not_lower)}" if not_lower else "")
        + f"; its steady-state prices are at or below the lowest optimal steady-state price in "
        f"{len(at_or_below_deal)} ({_names(at_or_below_deal)}); it earns {min(ratios):.1%}–{max(ratios):.1%} of J*.",
        "",
    ]
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    """Print the section and how long it took."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--grid-size", type=int, default=2001, help="reference-price grid points of the DP")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print("\n".join(mechanism_section(args.grid_size)))
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
