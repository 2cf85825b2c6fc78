"""A later window's store policy, fitted with the shoppers of an earlier window's fit (Ta Feng's February after
November to January): the store changed its shelf, the shoppers stayed.

:func:`calibrate_later_policy` keeps the earlier policy's long promotions, whose spells outlast a month, and moves
its rises, its till and a chain of short sales (:class:`shopgym.calibration.store.StorePolicy`) until stores
simulated through both windows give, on average, the later window's store statistics, by the search of
:mod:`shopgym.calibration.search`. Each store steps the earlier window once; every point of the search continues it
from the later window's first day (:meth:`shopgym.calibration.store.StoreRun.with_policy`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np

from shopgym.calibration.recording import record, recorded_share
from shopgym.calibration.search import Knob, Search, days_knob, identity, logit, sigmoid
from shopgym.calibration.store import StorePolicy, StoreRun
from shopgym.calibration.store_fit import BLOCKS, KNOBS, TARGETS, store_statistics
from shopgym.calibration.transaction_log import TransactionLog
from shopgym.params import Scenario

__all__ = ["LATER_KNOBS", "REPLICATES", "SALE_KNOBS", "STORE_TARGETS", "calibrate_later_policy"]

#: The knobs of a later window's short sales (:class:`StorePolicy`), which the first window's fit leaves off.
SALE_KNOBS: tuple[Knob, ...] = (
    Knob("store.sale_chance", sigmoid, logit, logit(1e-4), logit(0.4)),
    days_knob("store.sale_days"),
    Knob("store.sale_depth", identity, identity, 0.02, 0.9),
)
#: The store-side statistics (the store's block) and the knobs a later window's shelf policy moves: the store's
#: block but its long promotions (``discount_*``), whose spells outlast a month and which a month of the log cannot
#: refit (refitted on February, they deepened from 12 % to 16 % off and the baskets grew from 7.3 to 8.8 lines a
#: visit), plus short sales of the window's own.
LATER_KNOBS = (
    *(knob for knob in KNOBS if knob.name in BLOCKS[1][0] and not knob.name.startswith("store.discount")),
    *SALE_KNOBS,
)
STORE_TARGETS = {name: TARGETS[name] for name in BLOCKS[1][1]}
#: Stores (seeds ``seed`` onwards) whose store statistics each step of the search averages. A store's own shelf
#: moves them: fitted on one store, February's policy sold 8.4 % of its lines discounted there and 9.9 % on
#: average over 20 (the log: 8.3 %), since a few best sellers' long promotions dominate a month.
REPLICATES = 3


def calibrate_later_policy(
    real: TransactionLog,
    scenario: Scenario,
    policy: StorePolicy,
    first_day: int,
    kept: float = 1.0,
    seed: int = 0,
    shoppers: int = 6000,
    steps: int = 8,
    burn_in: int = 365,
    progress: Callable[[str], None] | None = None,
) -> StorePolicy:
    """The store policy from ``first_day`` on that gives the discounted and raised lines of ``real`` (that window's
    log), with the shoppers of ``scenario`` and ``policy`` before it (the store thinned to a share ``kept`` of its
    slots, as fitted): the store changed its shelf, the shoppers stayed. It keeps ``policy``'s long promotions and
    moves :data:`LATER_KNOBS` (its rises, short sales and till discounts), starting from ``policy``'s, with a few
    short sales at the window's visible depth where ``policy`` has none. Each step matches the statistics averaged
    over :data:`REPLICATES` stores (seeds ``seed`` onwards)."""
    days = int(real.day.max()) + 1 if len(real) else 0
    share = recorded_share(real)

    # the earlier window, stepped once per store; the later policy's place is held by the earlier one
    earlier = [
        StoreRun(scenario, first_day + days, shoppers, seed + r, [(0, policy), (first_day, policy)], burn_in, kept).run(
            first_day
        )
        for r in range(REPLICATES)
    ]

    def store(later: StorePolicy, r: int) -> dict[str, float]:
        log = earlier[r].with_policy(1, later).run().log()
        window = log.take(np.flatnonzero(log.day >= first_day))
        window = replace(window, day=window.day - first_day)
        return store_statistics(record(window, share, np.random.default_rng(seed + r)))

    def simulate(values: dict[str, float]) -> dict[str, float]:
        later = StorePolicy(**(policy.model_dump() | {k.split(".")[1]: v for k, v in values.items()}))
        stores = [store(later, r) for r in range(REPLICATES)]
        return {name: float(np.mean([s[name] for s in stores])) for name in STORE_TARGETS}

    real_statistics = store_statistics(real)
    search = Search(LATER_KNOBS, STORE_TARGETS, real_statistics, simulate)
    start = {f"store.{k}": v for k, v in policy.model_dump().items()}
    if not policy.sale_chance:  # a few short sales at the window's visible depth
        depth = real_statistics["discount depth (mean, discounted lines)"]
        start |= {"store.sale_chance": 0.02, "store.sale_days": 2.0, "store.sale_depth": min(max(depth, 0.03), 0.85)}
    search.run({knob.name: start[knob.name] for knob in LATER_KNOBS}, steps, progress or (lambda _: None))
    moved = {name.split(".")[1]: round(value, 4) for name, value in search.best[1].items()}
    return StorePolicy(**(policy.model_dump() | moved))
