"""The Ta Feng grocery log: what it says, and a scenario calibrated to it.

:func:`describe_tafeng` (``shopgym data describe tafeng``) writes its statistics per window, with
customer-bootstrap intervals, and the reference-price regression (:mod:`shopgym.calibration.reference_prices`) as
``tafeng.json``, ``tafeng.md`` and figures. :func:`calibrate_tafeng` (``shopgym calibrate tafeng``) fits a
scenario to the first window (:mod:`shopgym.calibration.store_fit`) and the store's shelf policy to each window.

The windows: November 2000 to January 2001 (the months a scenario is fitted on) and February 2001 (held out:
only the store's shelf policy, its share of item-days on promotion, their spells and depth, is fitted there; every
shopper parameter comes from the first window).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from shopgym.calibration.fidelity import Statistic, bootstrap_statistics, show_value
from shopgym.calibration.later_policy import calibrate_later_policy
from shopgym.calibration.recording import recorded_share
from shopgym.calibration.reference_prices import fit_price_response, fit_reference_price
from shopgym.calibration.store_fit import KNOBS, TARGETS, calibrate_store
from shopgym.calibration.transaction_log import TransactionLog
from shopgym.calibration.transactions import TRANSACTION_STATISTICS, discounted_lines, visit_gaps
from shopgym.datasets import load_tafeng
from shopgym.files import write_atomic
from shopgym.params import Scenario
from shopgym.scenarios import get_scenario

__all__ = [
    "WINDOWS",
    "calibrate_tafeng",
    "days_before",
    "describe_tafeng",
    "tafeng_base",
    "tafeng_windows",
    "windows_of",
]

#: The calibration's windows: the fitted months and the held-out month.
WINDOWS = {"Nov 2000 – Jan 2001": ("2000-11-01", "2001-01-31"), "Feb 2001 (held out)": ("2001-02-01", "2001-02-28")}
#: Categories of the calibrated catalog: Ta Feng's spend is spread over about 2,000 product subclasses, the top 10
#: taking a fifth of it; 125 equally likely categories give a similar top-10 share (a design choice, not a fit).
TAFENG_CATEGORIES = 125
#: Items of the calibrated catalog. The fit simulates a store of this catalog whose shoppers are thinned to the log's
#: products sold per customer; the fidelity report pools independent such stores to the log's customers.
TAFENG_ITEMS = 3000
#: Where the Ta Feng fit starts: the values the previous preset's fit (without a pantry) reached from the generic
#: start, with the pantry weight (0.028 there, rounded) and the routine-line chance where a fit with the pantry from
#: the generic start went (it stalled at a distance of 0.17, with the slope below the regular price at −1.57 against
#: −0.81; docs/calibration.md). The visit spread (1.0), top-up share (0.1) and the correlation κ of basket with
#: visit interval (0.5) start where the log's heavy shoppers are possible: from the previous start's spread (0.3,
#: top-ups 0.2) the spread did not move and κ went to its bound (0.95), reaching a rank correlation of 0.11 against
#: the log's 0.18 and a distance of 0.086. The weight ω of a category's prices in the chance of a routine line
#: starts at 1, the model before it (from 0.3 the visit knobs stayed near their start: docs/calibration.md).
TAFENG_START: dict[str, float] = {
    "catalog.price_log_mean": 4.2457,
    "catalog.price_log_sd": 0.6077,
    "catalog.margin": 0.217,
    "segments.visit_interval": 25.0,
    "segments.visit_interval_sd": 1.0,
    "dynamics.churn": 0.05,
    "segments.first_visit_churn": 0.6,
    "segments.topup_chance": 0.1,
    "segments.routine_purchase": 0.0295,
    "segments.routine_purchase_sd": 1.0461,
    "segments.routine_extra_units": 0.0,
    "segments.routine_interval_correlation": 0.5,
    "choice.stockpile_rate": 2.9502,
    "choice.pantry_weight": 0.03,
    "segments.price_sensitivity": 0.0,
    "segments.gain_coef": 6.4027,
    "choice.routine_value_weight": 1.0,
    "catalog.popularity_noise": 1.3271,
    "store.kept": 0.428,
    "store.discount_chance": 0.1653,
    "store.discount_days": 47.5148,
    "store.discount_depth": 0.1162,
    "store.discount_focus": 1.7398,
    "store.rise_chance": 0.0076,
    "store.rise_size": 0.7384,
    "store.checkout_chance": 0.1986,
    "store.checkout_depth": 0.0749,
}


def tafeng_windows(path: str | os.PathLike[str] | None = None) -> dict[str, TransactionLog]:
    """The Ta Feng log cut into :data:`WINDOWS`, each with its first day as day 0."""
    return windows_of(TransactionLog.of(load_tafeng(path)))


def windows_of(log: TransactionLog) -> dict[str, TransactionLog]:
    """``log`` (Ta Feng's, or one in its layout) cut into :data:`WINDOWS`, each with its first day as day 0."""
    return {name: log.between(*window) for name, window in WINDOWS.items()}


def days_before(name: str) -> tuple[np.datetime64, np.datetime64]:
    """The first and last day of as many days as window ``name`` of :data:`WINDOWS` has, just before it: the span
    of the log that the persistence forecast of that window (the log's own past as the prediction) reads."""
    first, last = (np.datetime64(day, "D") for day in WINDOWS[name])
    return first - (last - first) - 1, first - 1


def tafeng_base() -> Scenario:
    """The market the Ta Feng calibration starts from: ``grocery`` with :data:`TAFENG_CATEGORIES` categories of
    :data:`TAFENG_ITEMS` items, no loss coefficient η⁻ (the fit moves η⁺ instead: the log's steep fall of units
    above the regular price is the lift of long promotions on best sellers, whose regular price is the promotional
    one, and η⁻ hardly moves it) and new shoppers with nothing in stock (a customer's first visit in the log is its
    biggest, 8.0–8.8 lines against 7.0 on average; docs/calibration.md)."""
    grocery = get_scenario("grocery")
    return grocery.replace(
        catalog={"n_categories": TAFENG_CATEGORIES, "n_items": TAFENG_ITEMS},
        segments=[segment.model_dump() | {"loss_coef": 0.0, "initial_stock": 0.0} for segment in grocery.segments],
    )


def calibrate_tafeng(
    name: str = "tafeng",
    path: str | os.PathLike[str] | None = None,
    seed: int = 0,
    shoppers: int = 6000,
    steps: int = 12,
    burn_in: int = 365,
    progress: Callable[[str], None] | None = None,
) -> tuple[Scenario, dict[str, Any]]:
    """A scenario named ``name`` fitted to Ta Feng's first window, and its provenance block: the data, the method,
    the fitted values, the store's shelf policy of each window (what :func:`shopgym.calibration.tafeng_fidelity`
    replays), and the fitted statistics, real and simulated."""
    say = progress or (lambda _: None)
    windows = tafeng_windows(path)
    (fit_name, fitted), (held_name, held) = windows.items()
    fit = calibrate_store(fitted, tafeng_base(), seed, shoppers, steps, burn_in, say, TAFENG_START)
    say("February's shelf policy (the shoppers fixed)")
    first_day = int(fitted.day.max()) + 1
    later = calibrate_later_policy(
        held, fit.scenario, fit.policy, first_day, fit.kept, seed, shoppers, burn_in=burn_in, progress=say
    )
    first, last = WINDOWS[fit_name]
    description = (
        f"Calibrated to the Ta Feng grocery log ({first} to {last}): visits, days between them, churn, baskets, "
        "prices, margins and the shoppers' response to shelf prices, fitted by indirect inference on simulated store "
        "logs; the click side and the deal response of offers are grocery's, which these logs cannot identify."
    )
    provenance = {
        "data": "Ta Feng grocery transactions",
        "window": [first, last],
        "lines": len(fitted),
        "customers": int(np.unique(fitted.customer).size),
        "base": f"grocery with {TAFENG_CATEGORIES} categories of {TAFENG_ITEMS} items, no loss coefficient and new "
        "shoppers with nothing in stock",
        "method": f"indirect inference: {len(KNOBS)} parameters moved by bounded Levenberg-Marquardt steps until a "
        f"store log simulated from the scenario gives the real log's {len(TARGETS)} statistics "
        "(shopgym.calibration.store_fit)",
        "seed": seed,
        "shoppers": shoppers,
        "steps": steps,
        "burn_in_days": burn_in,
        "fitted": fit.values,
        "customers_per_item": round(fit.customers_per_item, 4),
        "store_policy": {first: fit.policy.model_dump(), WINDOWS[held_name][0]: later.model_dump()},
        "partly_recorded_days": _partly_recorded(fitted),
        "statistics": {
            name: {"real": round(fit.real[name], 4), "simulated": round(fit.simulated[name], 4)} for name in TARGETS
        },
        "distance": round(fit.distance, 4),
        "simulations": fit.start_simulations + len(fit.path) + 1,  # and the returned scenario once more
    }
    return fit.scenario.replace(name=name, description=description), provenance


def _partly_recorded(log: TransactionLog) -> dict[str, float]:
    """The log's partly recorded days (:func:`shopgym.calibration.recording.recorded_share`): date → share."""
    share = recorded_share(log)
    return {str(log.origin + day): round(float(share[day]), 4) for day in np.flatnonzero(share < 1)}


def _figures(logs: dict[str, TransactionLog], out: Path) -> list[str]:
    fig, (gaps, depth) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, log), color in zip(logs.items(), ("tab:blue", "tab:orange"), strict=False):
        gaps.hist(visit_gaps(log), bins=np.arange(1, 62), density=True, histtype="step", lw=2, color=color, label=name)
        cut = discounted_lines(log)
        depth.hist(
            1 - log.unit_price[cut] / log.regular_price[cut], bins=np.linspace(0, 0.6, 31), density=True,
            histtype="step", lw=2, color=color, label=f"{name}: {100 * cut.mean():.1f} % of lines",
        )  # fmt: skip
    gaps.set(xlabel="days between a customer's visits", ylabel="share of gaps (density)", title="Inter-visit gaps")
    depth.set(xlabel="discount below the product's regular price", ylabel="density", title="Discount depth")
    for ax in (gaps, depth):
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "tafeng_gaps_and_discounts.png", dpi=120)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(11, 3.2))
    for (name, log), color in zip(logs.items(), ("tab:blue", "tab:orange"), strict=False):
        _, _, day = log.visits
        visits = np.bincount(day)
        dates = log.origin + np.arange(visits.size)
        share = recorded_share(log)
        ax.bar(dates, visits, width=1.0, color=color, label=name)
        gaps = share < 1
        if gaps.any():
            ax.bar(dates[gaps], visits[gaps], width=1.0, color="tab:red", label=f"{name}: partly recorded")
    ax.set(ylabel="visits (customer-days)", title="Visits per day")
    ax.legend(fontsize=8, ncol=3, loc="upper left")
    fig.tight_layout()
    fig.savefig(out / "tafeng_visits_per_day.png", dpi=120)
    plt.close(fig)
    return ["tafeng_gaps_and_discounts.png", "tafeng_visits_per_day.png"]


def describe_tafeng(
    out: Path, path: str | os.PathLike[str] | None = None, bootstrap: int = 200, seed: int = 0, memory: float = 0.7
) -> dict:
    """Write the Ta Feng report into ``out`` and return its content: per window, every statistic with a 95 %
    percentile-bootstrap interval over customers or products (``bootstrap`` resamples, by each statistic's unit),
    and the reference-price regression (smoothing ``memory``) on each window."""
    logs = tafeng_windows(path)
    statistics: tuple[Statistic[TransactionLog], ...] = TRANSACTION_STATISTICS
    report: dict = {"data": "Ta Feng grocery transactions", "bootstrap": bootstrap, "seed": seed, "windows": {}}
    for name, window in logs.items():
        rows = bootstrap_statistics(statistics, window, bootstrap, seed)
        fit = fit_reference_price(window, memory=memory)
        response = fit_price_response(window)
        report["windows"][name] = {
            "dates": list(WINDOWS[name]),
            "lines": len(window),
            "customers": int(np.unique(window.customer).size),
            "statistics": [
                {"statistic": s.name, "value": _number(v), "ci": [_number(c) for c in ci]}
                for s, (v, ci) in zip(statistics, rows, strict=True)
            ],
            "reference_price": {
                "memory": memory,
                "product_days": fit.product_days,
                "products": fit.products,
                **{k: getattr(fit, k).as_dict() for k in ("price_elasticity", "gain", "loss", "loss_aversion")},
            },
            "price_response": {"below": response.below.as_dict(), "above": response.above.as_dict()},
            "partly_recorded_days": _partly_recorded(window),
        }
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(logs, out)
    write_atomic(out / "tafeng.json", json.dumps(report, indent=2, allow_nan=False) + "\n")
    write_atomic(out / "tafeng.md", _markdown(report, statistics, figures))
    return report


def _number(value: float) -> float | None:  # JSON has no NaN
    return float(value) if np.isfinite(value) else None


def _markdown(report: dict, statistics: tuple[Statistic, ...], figures: list[str]) -> str:
    windows = report["windows"]
    names = list(windows)
    lines = ["# What the Ta Feng log says", "", "| statistic | " + " | ".join(names) + " |"]
    lines.append("|---|" + "---:|" * len(names))
    for k, statistic in enumerate(statistics):
        cells = []
        for name in names:
            row = windows[name]["statistics"][k]
            low, high = (show_value(v, statistic.percent, ".3g") for v in row["ci"])
            cells.append(f"{show_value(row['value'], statistic.percent, '.3g')} [{low}, {high}]")
        lines.append(f"| {statistic.name} | " + " | ".join(cells) + " |")
    sizes = ", ".join(f"{n}: {w['lines']:,} lines of {w['customers']:,} customers" for n, w in windows.items())
    lines += [
        "",
        f"{sizes}. Intervals: 95 % percentile bootstrap over customers, or over products for the statistics of "
        f"products' prices and sales ({report['bootstrap']} resamples each, seed {report['seed']}). A visit is a "
        "customer's day in the store (the log has no receipt id).",
        "",
        "## Reference prices (log units sold per product-day, product fixed effects, clustered by product)",
        "",
        "| coefficient | " + " | ".join(names) + " |",
        "|---|" + "---:|" * len(names),
    ]
    rows = {  # (block of the window's report, coefficient): label
        ("reference_price", "price_elasticity"): "log(price / regular price)",
        ("reference_price", "gain"): "gain: (R − P)⁺ / R",
        ("reference_price", "loss"): "loss: (P − R)⁺ / R",
        ("reference_price", "loss_aversion"): "−loss − gain (> 0: loss aversion)",
        ("price_response", "below"): "slope below the regular price: min(log(P / regular), 0), without the reference",
        ("price_response", "above"): "slope above the regular price: max(log(P / regular), 0), without the reference",
    }
    for (block, key), label in rows.items():
        cells = [windows[n][block][key] for n in names]
        lines.append(
            f"| {label} | " + " | ".join(f"{c['value']:.3f} [{c['low']:.3f}, {c['high']:.3f}]" for c in cells) + " |"
        )
    fits = ", ".join(
        f"{n}: {w['reference_price']['product_days']:,} product-days of {w['reference_price']['products']:,} products"
        for n, w in windows.items()
    )
    lines += ["", f"{fits}; reference smoothing memory {windows[names[0]]['reference_price']['memory']}.", ""]
    for name, window in windows.items():
        days = window["partly_recorded_days"]
        held = ", ".join(f"{date} ({100 * share:.0f} %)" for date, share in days.items()) or "none"
        lines.append(f"Partly recorded days of {name} (share of the weekday's median visits): {held}.")
    lines.append("")
    lines += [f"![{Path(f).stem}]({f})" for f in figures]
    return "\n".join(lines) + "\n"
