"""Regenerate the ablation tables of docs/calibration.md (the `tafeng` preset): which mechanism makes which of the
log's structures, each measured by turning it off in the preset's simulated store.

Run: ``python benchmarks/tafeng_mechanisms.py`` (about 10 minutes on 2 cores; needs ``shopgym data fetch tafeng``).
It rewrites docs/calibration.md between each table's ``<!-- tafeng-mechanisms:NAME:begin -->`` and
``<!-- tafeng-mechanisms:NAME:end -->`` markers, and prints the tables. ``--scenario FILE`` measures a scenario
file with a provenance block instead (a refit's output) and only prints; ``--check`` says whether the page's tables
are as computed (exit status 1 where not) and writes nothing.

Every store has 6,000 shopper slots (the fit's), the preset's November to January shelf and 92 days; what else
each table keeps is in its caption (:data:`CAPTIONS`).
"""

from __future__ import annotations

import argparse
import json
import re
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from shopgym.calibration.clicks import Estimate
from shopgym.calibration.fidelity import real_side
from shopgym.calibration.later_policy import STORE_TARGETS
from shopgym.calibration.recording import record, recorded_share
from shopgym.calibration.reference_prices import fit_category_response, fit_price_response, fit_reference_price
from shopgym.calibration.store import StorePolicy, item_sales, simulate_store
from shopgym.calibration.tafeng import WINDOWS, days_before, tafeng_windows
from shopgym.calibration.tafeng_fidelity import STATISTICS, persistence_rows, store_calendar
from shopgym.calibration.transaction_log import TransactionLog
from shopgym.calibration.transactions import TRANSACTION_STATISTICS, customer_means, visit_gaps
from shopgym.core import MarketSimulator
from shopgym.datasets import load_tafeng
from shopgym.params import Scenario
from shopgym.scenarios import list_scenarios, preset_provenance, read_provenance, resolve_scenario

CALIBRATION = Path(__file__).resolve().parents[1] / "docs" / "calibration.md"
REPORT = CALIBRATION.parent / "calibration" / "tafeng_fit" / "fidelity.json"
SLOTS, DAYS = 6000, 92
NAMED = {s.name: s.compute for s in TRANSACTION_STATISTICS}
PERCENT = {s.name for s in TRANSACTION_STATISTICS if s.percent}
FIRST, HELD = WINDOWS


def segments(scenario: Scenario, **fields: float) -> Scenario:
    """``scenario`` with ``fields`` set on every segment."""
    return scenario.replace(segments=[s.model_dump() | fields for s in scenario.segments])


def visit_classes(log: TransactionLog) -> tuple[np.ndarray, np.ndarray]:
    """Per visit: its lines and the days since the customer's previous visit in the log (0: the first)."""
    visit, customer, day = log.visits
    since = np.zeros(day.size, dtype=np.int64)
    again = np.flatnonzero(customer[1:] == customer[:-1]) + 1
    since[again] = day[again] - day[again - 1]
    return np.bincount(visit), since


GAP_BANDS = (("first visit in the log", 0, 0), ("1 day", 1, 1), ("2–3", 2, 3), ("4–7", 4, 7), ("8–14", 8, 14),
             ("15–30", 15, 30), ("over 30", 31, 10**6))  # fmt: skip


def by_gap(logs: list[TransactionLog]) -> list[float]:
    """Lines per visit over ``logs``, then by :data:`GAP_BANDS`."""
    lines, since = (np.concatenate(parts) for parts in zip(*map(visit_classes, logs), strict=True))
    return [lines.mean(), *(lines[(since >= low) & (since <= high)].mean() for _, low, high in GAP_BANDS)]


def regulars(log: TransactionLog) -> list[float]:
    """Lines per visit of the customers with 3 visits or more by their mean gap (≤ 4, 4–8, 8–15, over 15 days), the
    share of visits from customers with 11 or more, and the 99th percentile of visits per customer."""
    count, gap, lines = customer_means(log)
    repeat = count >= 3
    edges = ((0, 4), (4, 8), (8, 15), (15, 10**6))
    classes = [lines[repeat & (gap > low) & (gap <= high)].mean() for low, high in edges]
    return [*classes, count[count >= 11].sum() / count.sum(), float(np.percentile(count, 99))]


def window_correlations(log: TransactionLog, starts: tuple[int, ...] = (0, 30, 61)) -> list[float]:
    """The rank correlation of the customers' mean gap with their mean basket in 28-day windows from ``starts``."""
    name = "days between visits vs lines per visit, across customers (rank correlation)"
    return [NAMED[name](log.between(*(str(log.origin + np.timedelta64(d, "D")) for d in (s, s + 27)))) for s in starts]


def table(header: list[str], rows: list[tuple[str, list[str]]]) -> list[str]:
    """A Markdown table (minus signs as −)."""
    rows = [(label, [cell.replace("-", "−") for cell in cells]) for label, cells in rows]
    return [
        "| " + " | ".join(header) + " |",
        "|---|" + "---:|" * (len(header) - 1),
        *("| " + " | ".join([label, *cells]) + " |" for label, cells in rows),
    ]


def ci(estimate: Estimate) -> str:
    return f"{estimate.value:.2f} [{estimate.low:.2f}, {estimate.high:.2f}]"


class Store:
    """The preset's November to January store, simulated on demand for a variant of the scenario or shelf."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.scenario = resolve_scenario(name)
        calendar, _ = store_calendar(name)
        self.policy: StorePolicy = calendar[0][1]
        self.calendar = calendar
        provenance = preset_provenance(name) if name in list_scenarios() else read_provenance(name)
        self.provenance = provenance
        self.kept = float(provenance["fitted"]["store.kept"])
        self.real = tafeng_windows()
        self.share = recorded_share(self.real[FIRST])

    def log(self, seed: int, scenario: Scenario | None = None, policy: StorePolicy | None = None,
            kept: float = 1.0, recorded: bool = False) -> TransactionLog:  # fmt: skip
        log = simulate_store(scenario or self.scenario, DAYS, SLOTS, seed, policy or self.policy, 365, kept)
        return record(log, self.share, np.random.default_rng(seed)) if recorded else log


def baskets_by_gap(store: Store) -> list[str]:
    s, pantry = store.scenario, {"choice": {"pantry_weight": 0.0}}
    variants: list[tuple[str, Scenario]] = [
        ("the preset", s),
        ("no pantry (ψ_p = 0)", s.replace(**pantry)),
        ("κ = 0", segments(s, routine_interval_correlation=0.0)),
        ("κ = 0, no pantry", segments(s, routine_interval_correlation=0.0).replace(**pantry)),
        ("new shoppers with half a unit per category (I₀ = ½)", segments(s, initial_stock=0.5)),
        ("no pantry, I₀ = ½", segments(s, initial_stock=0.5).replace(**pantry)),
    ]
    rows = [("the log", [f"{v:.1f}" for v in by_gap([store.real[FIRST]])])]
    for label, scenario in variants:
        rows.append((label, [f"{v:.1f}" for v in by_gap([store.log(seed, scenario) for seed in range(3)])]))
    return table(["", "lines per visit", *(band for band, _, _ in GAP_BANDS)], rows)


def kappa(store: Store) -> list[str]:
    s = store.scenario
    spread = 0.3
    variants = [
        ("the preset", s),
        ("κ = 0", segments(s, routine_interval_correlation=0.0)),
        (f"interval spread {spread}", segments(s, visit_interval_sd=spread)),
        ("both", segments(s, routine_interval_correlation=0.0, visit_interval_sd=spread)),
    ]
    names = ("days between visits vs lines per visit, across customers (rank correlation)", "lines per visit",
             "gaps of one day (share)", "visits per customer")  # fmt: skip

    def cells(log: TransactionLog) -> list[str]:
        values = [NAMED[n](log) for n in names]
        return [f"{values[0]:.3f}", f"{values[1]:.2f}", f"{100 * values[2]:.1f} %", f"{values[3]:.2f}"]

    rows = [("the log", cells(store.real[FIRST]))] + [
        (label, cells(store.log(0, scenario))) for label, scenario in variants
    ]
    return table(["", "rank correlation", "lines per visit", "gaps of one day", "visits per customer"], rows)


def regular_shoppers(store: Store) -> list[str]:
    log = store.log(0)
    gaps = [visit_gaps(x) for x in (store.real[FIRST], log)]
    rows = []
    for label, x, g in (("the log", store.real[FIRST], gaps[0]), ("the preset", log, gaps[1])):
        r = regulars(x)
        rows.append((label, [*(f"{v:.1f}" for v in r[:4]), f"{100 * r[4]:.0f} %", f"{r[5]:.0f}",
                             f"{100 * (g == 1).mean():.1f} %", f"{100 * (g == 7).mean():.1f} %"]))  # fmt: skip
    header = ["", "mean gap ≤ 4 days", "4–8", "8–15", "over 15", "visits from customers with ≥ 11",
              "visits per customer, p99", "gaps of 1 day", "gaps of 7 days"]  # fmt: skip
    return table(header, rows)


def windows(store: Store) -> list[str]:
    real = store.real[FIRST]
    name = "days between visits vs lines per visit, across customers (rank correlation)"
    log = simulate_store(store.scenario, 120, SLOTS, 0, store.calendar, 365)
    rows = [
        ("the log", [f"{v:.2f}" for v in window_correlations(real)] + [f"{NAMED[name](store.real[HELD]):.2f}"]),
        ("the preset", [f"{v:.2f}" for v in window_correlations(log, (0, 30, 61, 92))]),
    ]
    return table(["", "days 0–27", "30–57", "61–88", "February (92–119)"], rows)


def february(store: Store) -> list[str]:
    """Lines per visit in the simulated February (days 92–119) under February's fitted shelf and others."""
    (_, winter), (start, later) = store.calendar
    no_sales = later.model_copy(update={"sale_chance": 0.0})
    variants = [
        ("February's shelf, as fitted", store.calendar),
        ("November to January's shelf kept", [(0, winter)]),
        ("February's shelf without its short sales", [(0, winter), (start, no_sales)]),
        ("February's shelf, shoppers with η⁺ = 0", store.calendar),
    ]  # fmt: skip
    names = ("lines per visit", "lines per visit a day after the last", "lines discounted > 2 % below regular (share)")
    rows = [("the log", [f"{NAMED[names[0]](store.real[FIRST]):.2f}",
                         *(f"{NAMED[n](store.real[HELD]):.2f}" for n in names[:2])])]  # fmt: skip
    for label, calendar in variants:
        scenario = segments(store.scenario, gain_coef=0.0) if "η⁺" in label else store.scenario
        logs = [simulate_store(scenario, DAYS + 28, SLOTS, seed, calendar, 365) for seed in range(3)]
        first = [log.between("2000-11-01", "2001-01-31") for log in logs]
        held = [log.between("2001-02-01", "2001-02-28") for log in logs]
        rows.append((label, [f"{np.mean([NAMED[names[0]](x) for x in first]):.2f}",
                             *(f"{np.mean([NAMED[n](x) for x in held]):.2f}" for n in names[:2])]))  # fmt: skip
    return table(
        ["", "lines per visit, Nov – Jan", "lines per visit, February", "February, a day after the last"], rows
    )


def stores(store: Store) -> list[str]:
    """Lines per visit of single stores (the fit's size, thinned as fitted), one row per seed: each is one draw of
    the catalog and of the promotions' calendar."""
    (_, winter), (start, _) = store.calendar
    rows = [("the log", [f"{NAMED['lines per visit'](store.real[w]):.2f}" for w in (FIRST, HELD)] + ["—"])]
    for seed in range(6):
        logs = [simulate_store(store.scenario, DAYS + 28, SLOTS, seed, calendar, 365, store.kept)
                for calendar in (store.calendar, [(0, winter)])]  # fmt: skip
        values = [NAMED["lines per visit"](logs[0].take(np.flatnonzero(logs[0].day < start)))]
        values += [NAMED["lines per visit"](log.take(np.flatnonzero(log.day >= start))) for log in logs]
        rows.append((f"seed {seed}", [f"{v:.2f}" for v in values]))
    return table(["", "Nov – Jan", "February", "February, November to January's shelf kept"], rows)


def value_weight(store: Store) -> list[str]:
    """The weight ω of a category's prices in the chance of a routine line: the category and product responses on
    November to January, and the baskets of both windows (February's shelf from day 92), the rest as fitted."""
    (_, _), (start, _) = store.calendar
    fitted = store.scenario.choice.routine_value_weight
    real = [fit_category_response(store.real[FIRST]).below.value, fit_price_response(store.real[FIRST]).below.value,
            NAMED["lines per visit"](store.real[FIRST]), NAMED["lines per visit"](store.real[HELD])]  # fmt: skip
    rows = [("the log", [f"{v:.2f}" for v in real] + [f"{real[3] / real[2]:.2f}"])]
    for weight in dict.fromkeys((fitted, 1.0, 0.5, 0.0)):
        scenario = store.scenario.replace(choice={"routine_value_weight": weight})
        values = []
        for seed in range(2):
            log = simulate_store(scenario, DAYS + 28, SLOTS, seed, store.calendar, 365, store.kept)
            first = record(log.take(np.flatnonzero(log.day < start)), store.share, np.random.default_rng(seed))
            held = log.take(np.flatnonzero(log.day >= start))
            values.append([fit_category_response(first).below.value, fit_price_response(first).below.value,
                           NAMED["lines per visit"](first), NAMED["lines per visit"](held)])  # fmt: skip
        v = np.mean(values, axis=0)
        label = f"ω = {weight:g}" + (" (the preset)" if weight == fitted else "")
        rows.append((label, [f"{x:.2f}" for x in v] + [f"{v[3] / v[2]:.2f}"]))
    header = ["", "category response below the regular price", "product response below it", "lines per visit, "
              "Nov – Jan", "February", "February / Nov – Jan"]  # fmt: skip
    return table(header, rows)


def prices(store: Store) -> list[str]:
    s, p = store.scenario, store.policy
    variants = [
        ("the preset", s, p),
        ("promotions on every item alike (focus 0)", s, p.model_copy(update={"discount_focus": 0.0})),
        ("no gain response (η⁺ = 0)", segments(s, gain_coef=0.0), p),
        ("both", segments(s, gain_coef=0.0), p.model_copy(update={"discount_focus": 0.0})),
        ("no shelf rises", s, p.model_copy(update={"rise_chance": 0.0})),
    ]
    above, top = "lines > 2 % above regular (share)", "lines above regular of the top 10 % of products (share)"
    rows = []
    for label, scenario, policy in variants:
        log = store.log(1, scenario, policy, store.kept)
        slopes, reference = fit_price_response(log), fit_reference_price(log)
        rows.append((label, [f"{100 * NAMED[above](log):.1f} %", f"{100 * NAMED[top](log):.0f} %",
                             ci(slopes.below), ci(slopes.above), ci(reference.price_elasticity), ci(reference.gain),
                             ci(reference.loss)]))  # fmt: skip
    header = ["variant", "lines above regular", "top 10 % products' share of them", "slope below", "slope above",
              "reference: log(P / regular)", "gain", "loss"]  # fmt: skip
    return table(header, rows)


def visits(store: Store) -> list[str]:
    s = store.scenario
    seg = s.segments[0]
    churn = s.dynamics.churn_min
    once = 1.0 - (1.0 - churn) * (1.0 - seg.first_visit_churn)  # leaving after the first visit, as with trial shoppers
    mean_gap = (1.0 - seg.topup_chance) * seg.visit_interval + seg.topup_chance * seg.topup_interval
    variants = [
        ("the preset", s, True),
        ("no trial shoppers (f₁ = 0)", segments(s, first_visit_churn=0.0), True),
        (f"no trial shoppers, churn {once:.2f} at every visit",
         segments(s, first_visit_churn=0.0).replace(dynamics={"churn_min": once, "churn_max": once}), True),
        ("no top-up trips (q = 0)", segments(s, topup_chance=0.0), True),
        (f"no top-up trips, the same mean gap (interval {mean_gap:.1f} days)",
         segments(s, topup_chance=0.0, visit_interval=mean_gap), True),
        ("every visit recorded (no recording gaps)", s, False),
    ]  # fmt: skip
    names = ("visits per customer", "customers with one visit (share)", "days between visits (median)",
             "days between visits (mean)", "gaps of at most 7 days (share)",
             "customers of the first 30 days back later (share)")  # fmt: skip
    formats = dict(zip(names, ("{:.2f}", "{:.1%}", "{:.0f}", "{:.1f}", "{:.1%}", "{:.1%}"), strict=True))

    def cells(log: TransactionLog) -> list[str]:
        return [formats[n].format(NAMED[n](log)).replace("%", " %") for n in names]

    rows = [("Ta Feng, Nov – Jan", cells(store.real[FIRST]))]
    rows += [
        (label, cells(store.log(1, scenario, None, store.kept, recorded))) for label, scenario, recorded in variants
    ]
    header = ["variant", "visits per customer", "one-visit customers", "median gap (days)", "mean gap",
              "gaps ≤ 7 days", "first 30 days' customers back"]  # fmt: skip
    return table(header, rows)


def focus(store: Store) -> list[str]:
    simulator = MarketSimulator(store.scenario, 1, resolve_scenario)
    simulator.seed(0)  # the catalog has a seed of its own (catalog_seed): this seed does not change it
    sales = item_sales(simulator.catalog)
    chance = np.broadcast_to(store.policy.promotion_chance(sales), sales.shape)
    order = np.argsort(-sales)
    top1, top10 = order[: max(1, sales.size // 100)], order[: max(1, sales.size // 10)]
    cells = [f"{100 * store.policy.discount_chance:.1f} %", f"{100 * chance.mean():.1f} %",
             f"{int((chance >= 0.95).sum())}", f"{100 * chance[top1].mean():.0f} %",
             f"{100 * chance[top10].mean():.0f} %", f"{100 * np.median(chance):.1f} %"]  # fmt: skip
    header = ["", "share before the cap", "item-days on promotion", "items at the 95 % cap", "top 1 % of items",
              "top 10 %", "median item"]  # fmt: skip
    return table(header, [("the preset's November to January shelf", cells)])


def steady(store: Store) -> list[str]:
    """The store's window after burn-ins of one and three years: the slots start steady, but the shoppers' reference
    prices keep settling, which the gain response (η⁺) turns into baskets."""
    names = ("lines per visit", "visits per customer", "customers with one visit (share)", "days between visits (mean)")
    rows = []
    for label, scenario in (("the preset", store.scenario), ("η⁺ = 0", segments(store.scenario, gain_coef=0.0))):
        for burn_in in (365, 1095):
            logs = [simulate_store(scenario, DAYS, SLOTS, seed, store.policy, burn_in) for seed in range(2)]
            values = np.mean([[NAMED[n](log) for n in names] for log in logs], axis=0)
            rows.append((f"{label}, burn-in {burn_in} days", [
                f"{values[0]:.2f}", f"{values[1]:.2f}", f"{100 * values[2]:.1f} %", f"{values[3]:.2f}"]))  # fmt: skip
    return table(["", *names[:2], "one-visit customers", "mean gap"], rows)


def fit(store: Store) -> list[str]:
    """The fitted statistics, real and simulated, from the provenance block (what the fit itself measured)."""

    def cell(name: str, value: float) -> str:
        return f"{100 * value:.1f} %" if name in PERCENT else f"{value:.2f}"

    statistics = store.provenance["statistics"]
    rows = [(name, [cell(name, v["real"]), cell(name, v["simulated"])]) for name, v in statistics.items()]
    return table(["statistic", "Ta Feng, Nov – Jan", "simulated store"], rows)


def _judged(log: TransactionLog, target: tuple[str, str], before: tuple[str, str]) -> dict[str, bool]:
    """Each statistic's verdict on the log's days ``target`` (first, last) predicted by its days ``before``: 20
    bootstrap resamples of those (by each statistic's unit), judged by the fidelity report's rule against the
    target's 95 % intervals (200 resamples), as the report judges its persistence forecast (the same seeds)."""
    rows = real_side(STATISTICS, log.between(*target), bootstrap=200, seed=0)
    judged = persistence_rows(rows, log.between(*before), 20, np.random.default_rng(0))
    return {row.statistic: row.within for row in judged if row.within is not None}


def _count(verdict: dict[str, bool], leave_out: tuple[str, ...] = ()) -> str:
    kept = [within for name, within in verdict.items() if name not in leave_out]
    return f"{sum(kept)} of {len(kept)}"


def persistence(store: Store) -> list[str]:
    """February predicted by the log's own earlier days, 28 at a time (no model, no change), judged as the fidelity
    report judges the preset: what a model that reproduced the log's past exactly would score on February; then
    each earlier month predicted by the 28 days before it. The preset's row is its shipped report's
    (docs/calibration/tafeng_fit); its February shelf is fitted to February's store statistics, so the last column
    leaves those out."""
    log = TransactionLog.of(load_tafeng())
    february = WINDOWS[HELD]
    spans = {"1–28 November": ("2000-11-01", "2000-11-28"), "1–28 December": ("2000-12-01", "2000-12-28"),
             "4–31 January (the report's persistence)": tuple(str(day) for day in days_before(HELD))}  # fmt: skip
    verdicts = {label: _judged(log, february, span) for label, span in spans.items()}
    if store.name == "tafeng":
        report = json.loads(REPORT.read_text(encoding="utf-8"))
        verdicts["the preset (its fidelity report)"] = {
            r["statistic"]: r["within"] for r in report if r["window"] == HELD and r["within"] is not None
        }
    always = set.intersection(*({n for n, w in verdicts[label].items() if not w} for label in spans))
    store_rows = tuple(STORE_TARGETS)
    header = ["the prediction of February", "statistics within", "without the 8 store statistics"]
    first = [(label, [_count(v), _count(v, store_rows)]) for label, v in verdicts.items()]
    months = {  # each earlier span of 28 days predicted by the 28 days before it
        "29 November – 26 December from 1–28 November": (("2000-11-29", "2000-12-26"), ("2000-11-01", "2000-11-28")),
        "1–28 December from 1–28 November": (("2000-12-01", "2000-12-28"), ("2000-11-01", "2000-11-28")),
        "1–28 January from 1–28 December": (("2001-01-01", "2001-01-28"), ("2000-12-01", "2000-12-28")),
    }
    earlier = [(label, [_count(v), _count(v, store_rows)]) for label, v in
               ((label, _judged(log, *pair)) for label, pair in months.items())]  # fmt: skip
    return [
        *table(header, first),
        "",
        f"Missed by all three spans of the log: {'; '.join(sorted(always))}.",
        "",
        *table(["each earlier month from the 28 days before it", *header[1:]], earlier),
    ]


#: Each table by its marker name, and the function that computes it.
TABLES: dict[str, Callable[[Store], list[str]]] = {
    "fit": fit,
    "steady": steady,
    "baskets-by-gap": baskets_by_gap,
    "kappa": kappa,
    "regulars": regular_shoppers,
    "windows": windows,
    "february": february,
    "stores": stores,
    "value-weight": value_weight,
    "prices": prices,
    "visits": visits,
    "focus": focus,
    "persistence": persistence,
}
CAPTIONS = {
    "fit": "the fit's statistics, from the preset's provenance block",
    "steady": "seeds 0–1, every line kept",
    "baskets-by-gap": "lines per visit by days since the customer's previous visit; seeds 0–2, every line kept",
    "kappa": "seed 0, every line kept",
    "regulars": "customers with 3 visits or more by their mean gap; seed 0, every line kept",
    "windows": "the rank correlation in 28-day windows; 120 days with February's shelf from day 92, seed 0",
    "february": "120 days, seeds 0–2, every line kept",
    "stores": "120 days, 6,000 slots each, the fitted share of slots kept",
    "value-weight": "120 days, seeds 0–1, the fitted share of slots kept, November to January recorded through the "
    "log's gaps",
    "prices": "seed 1, the fitted share of slots kept; 95 % intervals clustered by product",
    "visits": "seed 1, the fitted share of slots kept, recorded through the log's gaps but the last row",
    "focus": "the promotions' share of days per item, from the catalog's sales at list price",
    "persistence": "the log alone; 20 bootstrap resamples of each span (by each statistic's unit), the predicted "
    "span's 95 % intervals from 200",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", default="tafeng", help="a preset name or a scenario file with provenance")
    parser.add_argument("--only", nargs="*", choices=list(TABLES), help="compute only these tables")
    parser.add_argument("--check", action="store_true", help="compare with docs/calibration.md instead of writing")
    args = parser.parse_args()
    store = Store(args.scenario)
    blocks = {}
    for name in args.only or TABLES:
        start = time.perf_counter()
        lines = TABLES[name](store)
        begin, end = (f"<!-- tafeng-mechanisms:{name}:{edge} -->" for edge in ("begin", "end"))
        blocks[name] = (begin, end, "\n".join([begin, *lines, end]))
        print(f"{name} ({CAPTIONS[name]}; {time.perf_counter() - start:.0f} s)", *lines, "", sep="\n", flush=True)
    text = CALIBRATION.read_text(encoding="utf-8")  # read now: edits made while the tables computed are kept
    stale = [name for name, (_, _, block) in blocks.items() if block not in text]
    for begin, end, block in blocks.values():
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _, b=block: b, text, flags=re.S)
    if args.check:
        print(
            f"docs/calibration.md: tables not as computed: {', '.join(stale)}"
            if stale
            else "docs/calibration.md: in step"
        )
        return 1 if stale else 0
    if args.scenario == "tafeng":
        CALIBRATION.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
