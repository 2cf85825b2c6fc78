"""A scenario's shoppers next to Ta Feng's: the fidelity report on the fitted window and the held-out month.

:func:`tafeng_fidelity` simulates the store over both windows at once (November to February, after a burn-in), with
the shelf policy of each window taken from the scenario's provenance block (the store's discounting, which the log
records; :func:`shopgym.calibration.tafeng.calibrate_tafeng` fits it), or the default policy for a scenario without
one. Each replicate is a log of about the real log's size in the first window. A calibrated preset's store is
thinned (provenance ``customers_per_item``: its log holds as many customers per item as the real one, on the
preset's own catalog), so a replicate pools as many independent stores of the preset's market as make the real log's
customers, each store's items distinct products: the statistics are those of the market a user gets, at the real
log's sample size. (Scaling the catalog up instead is another market: sales drawn in categories of 206 items are
more concentrated than in the preset's categories of 24.) A scenario without ``customers_per_item`` is one store
with enough slots. Each simulated window is recorded through the real window's recording gaps
(:mod:`shopgym.calibration.recording`), as the fit's are. Every statistic of :mod:`shopgym.calibration.transactions`
and the reference-price regression's coefficients are then compared per window
(:func:`shopgym.calibration.fidelity.compare`), with figures: gaps between visits, discount depth, the response of
units sold to the price against the reference price, and retention. Beside each held-out window's rows stands a
baseline that needs no model: the persistence forecast, the log's own days just before the window (as many as it has,
:func:`shopgym.calibration.tafeng.days_before`) taken as its prediction, its range from bootstrap resamples of them
(each statistic's unit), judged by the same rule (:func:`persistence_rows`).
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from shopgym.calibration.fidelity import (
    FidelityRow,
    compare,
    fidelity_records,
    fidelity_table,
    judge,
    resampled_values,
)
from shopgym.calibration.recording import record, recorded_share
from shopgym.calibration.reference_prices import REFERENCE_STATISTICS
from shopgym.calibration.store import StorePolicy, simulate_store
from shopgym.calibration.tafeng import WINDOWS, days_before, windows_of
from shopgym.calibration.transaction_log import TransactionLog, product_days
from shopgym.calibration.transactions import TRANSACTION_STATISTICS, discounted_lines, retention_curve, visit_gaps
from shopgym.datasets import load_tafeng
from shopgym.files import write_atomic
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import list_scenarios, preset_provenance, read_provenance, resolve_scenario

__all__ = ["persistence_rows", "store_calendar", "tafeng_fidelity"]

STATISTICS = (*TRANSACTION_STATISTICS, *REFERENCE_STATISTICS)
#: Slots of the pilot run that sizes the replicates.
PILOT_SHOPPERS = 2000
#: The name of a held-out window's baseline: the log's own days just before it as the prediction (no change).
PERSISTENCE = "persistence"


def _provenance(scenario: str) -> dict[str, Any]:
    """The provenance block of a preset name or scenario file ({} without one)."""
    return (preset_provenance(scenario) if scenario in list_scenarios() else read_provenance(scenario)) or {}


def store_calendar(scenario: str) -> tuple[list[tuple[int, StorePolicy]], str]:
    """The store policies of a scenario's provenance block as (first day from 2000-11-01, policy) pairs, and where
    they came from; the default policy for a scenario without them."""
    policies = _provenance(scenario).get("store_policy")
    if not policies:
        return [(0, StorePolicy())], "the default store policy (the scenario has no store_policy in its provenance)"
    origin = np.datetime64(WINDOWS[next(iter(WINDOWS))][0], "D")
    try:
        calendar = [
            (int((np.datetime64(day, "D") - origin).astype(int)), StorePolicy(**policy))
            for day, policy in policies.items()
        ]
    except (AttributeError, ValueError, TypeError) as error:
        raise ParameterError(
            f"scenario {scenario!r}: provenance.store_policy is not a date → policy map: {error}"
        ) from None
    where = "the store policies (shelf and till) in the scenario's provenance"
    return sorted(calendar, key=lambda pair: pair[0]), where


def _simulated_windows(
    scenario: Scenario,
    calendar: list,
    stores: int,
    shoppers: int,
    seed: int,
    burn_in: int,
    shares: dict[str, np.ndarray],
) -> dict[str, TransactionLog]:
    """The windows of ``stores`` independent stores of ``shoppers`` slots each (seeds ``seed``, ``seed`` + 1, …),
    pooled into one log: the k-th store's customers and items are other customers and products than the others'.
    Each window is recorded through the real window's gaps ``shares`` (:func:`shopgym.calibration.recording.record`)."""
    first, last = np.datetime64(min(w[0] for w in WINDOWS.values())), np.datetime64(max(w[1] for w in WINDOWS.values()))
    days = int((last - first).astype(int)) + 1
    logs = [simulate_store(scenario, days, shoppers, seed + k, calendar, burn_in) for k in range(stores)]
    log = logs[0] if stores == 1 else _pooled(logs, scenario.catalog.n_items)
    rng = np.random.default_rng(seed)
    return {name: record(log.between(*window), shares[name], rng) for name, window in WINDOWS.items()}


def _pooled(logs: list[TransactionLog], n_items: int) -> TransactionLog:
    """One log of the lines of ``logs``, the k-th log's customers and products numbered after the previous logs'."""
    offset = np.cumsum([0] + [int(log.customer.max(initial=-1)) + 1 for log in logs[:-1]])
    return replace(
        logs[0],
        customer=np.concatenate([log.customer + o for log, o in zip(logs, offset, strict=True)]),
        product=np.concatenate([log.product + k * n_items for k, log in enumerate(logs)]),
        **{f: np.concatenate([getattr(log, f) for log in logs]) for f in ("day", "category", "units", "paid", "cost")},
    )


def tafeng_fidelity(
    scenario: str,
    out: Path,
    path: str | os.PathLike[str] | None = None,
    replicates: int = 20,
    bootstrap: int = 200,
    seed: int = 0,
    burn_in: int = 365,
) -> dict[str, list[FidelityRow]]:
    """Write ``fidelity.json``, ``fidelity.md`` and figures for ``scenario`` (a preset name or a YAML path)
    against Ta Feng into ``out`` and return the rows per window (module docstring)."""
    market = resolve_scenario(scenario)
    if not any(segment.routine_purchase > 0 for segment in market.segments):
        raise ParameterError(
            f"scenario {market.name!r} has no routine lines (every segment's routine_purchase is 0), so its store "
            "sells nothing to compare; calibrate one with `shopgym calibrate tafeng`"
        )
    calendar, source = store_calendar(scenario)
    log = TransactionLog.of(load_tafeng(path))
    real = windows_of(log)
    first = next(iter(WINDOWS))
    customers = np.unique(real[first].customer).size
    per_item = _provenance(scenario).get("customers_per_item")
    per_store = round(float(per_item) * market.catalog.n_items) if per_item else customers
    stores = max(1, round(customers / per_store))
    if per_item:
        source += (
            f"; {stores} stores of the scenario's {market.catalog.n_items:,}-item catalog pooled, each of about"
            f" {per_store:,} customers ({per_item} customers per item, as fitted)"
        )
    shares = {name: recorded_share(log) for name, log in real.items()}
    pilot = _simulated_windows(market, calendar, 1, PILOT_SHOPPERS, seed, burn_in, shares)[first]
    per_slot = max(np.unique(pilot.customer).size, 1) / PILOT_SHOPPERS
    shoppers = max(1, round(per_store / per_slot))
    sims = [
        _simulated_windows(market, calendar, stores, shoppers, seed + 1 + r * stores, burn_in, shares)
        for r in range(replicates)
    ]
    rows = {name: compare(STATISTICS, real[name], [sim[name] for sim in sims], bootstrap, seed) for name in WINDOWS}
    rng = np.random.default_rng(seed)
    persistence: dict[str, tuple[str, list[FidelityRow]]] = {}  # the held-out windows' baseline
    for name in list(WINDOWS)[1:]:
        persistence[name] = (
            PERSISTENCE,
            persistence_rows(rows[name], log.between(*days_before(name)), replicates, rng),
        )
    out.mkdir(parents=True, exist_ok=True)
    figures = _figures(real, sims[0], out)
    records = [
        record for name in WINDOWS for record in fidelity_records(rows[name], persistence.get(name), window=name)
    ]
    write_atomic(out / "fidelity.json", json.dumps(records, indent=2) + "\n")
    about = {"scenario": market.name, "replicates": replicates, "shoppers": stores * shoppers, "source": source}
    write_atomic(out / "fidelity.md", _markdown(rows, persistence, real, about, bootstrap, figures))
    return rows


def persistence_rows(
    rows: list[FidelityRow], past: TransactionLog, count: int, rng: np.random.Generator
) -> list[FidelityRow]:
    """``rows`` (a window's real side, of :data:`STATISTICS`) judged against the ``past`` log as its prediction: the
    median and range of each statistic over ``count`` bootstrap resamples of ``past``, drawn by the statistic's
    unit (a statistic with no interval: its value on ``past``), the range a log like it shows by chance."""
    return judge(rows, STATISTICS, resampled_values(STATISTICS, past, count, rng))


def _markdown(
    rows: dict[str, list[FidelityRow]], persistence: dict[str, tuple[str, list[FidelityRow]]],
    real: dict[str, TransactionLog], about: dict[str, Any], bootstrap: int, figures: list[str],
) -> str:  # fmt: skip
    lines = [f"# `{about['scenario']}` against the Ta Feng grocery log", ""]
    for name, window in rows.items():
        customers = np.unique(real[name].customer).size
        lines += [f"## {name}: {len(real[name]):,} lines of {customers:,} customers", ""]
        if name in persistence:
            first, last = days_before(name)
            lines += [
                f"Column *{PERSISTENCE}*: the log's own {(last - first).astype(int) + 1} days just before this window"
                f" ({first} to {last}) taken as its prediction, with the median and 2.5–97.5 percentiles of "
                f"{about['replicates']} bootstrap resamples of them (by each statistic's unit), judged by the same "
                "rule: what a model that reproduced the log's recent past exactly, and no change, would score.",
                "",
            ]
        lines += [*fidelity_table(window, persistence.get(name)), ""]
    lines += [
        f"Real 95 % CI: percentile bootstrap over customers, or over products for the statistics of products' prices "
        f"and sales and the price regressions, over categories for the category response ({bootstrap} resamples "
        "each). Simulated: the median and the "
        f"2.5–97.5 percentiles of {about['replicates']} store logs simulated from the scenario with "
        f"{about['shoppers']:,} shopper slots each (about the real log's customers in the first window), under "
        f"{about['source']}. Tolerance: 10 % of the real value for the log's statistics, 0.5 for the regression's "
        "coefficients (log units per unit of relative price).",
        "",
        *(f"![{Path(f).stem}]({f})" for f in figures),
    ]
    return "\n".join(lines) + "\n"


def _response(ax: plt.Axes, log: TransactionLog, label: str, color: str) -> None:
    """Mean log units per product-day (demeaned per product) in bins of (P − R)/R, after each product's first day."""
    days = product_days(log)
    index = np.cumsum(days.first) - 1
    y = np.log(days.units)
    y = (y - (np.bincount(index, weights=y) / np.bincount(index))[index])[~days.first]
    relative = ((days.price - days.reference) / days.reference)[~days.first]
    edges = np.linspace(-0.3, 0.3, 13)
    bin_of = np.digitize(relative, edges) - 1
    inside = (bin_of >= 0) & (bin_of < edges.size - 1)
    mean = np.bincount(bin_of[inside], weights=y[inside], minlength=edges.size - 1)
    count = np.bincount(bin_of[inside], minlength=edges.size - 1)
    shown = count >= 30
    centre = 0.5 * (edges[1:] + edges[:-1])
    ax.plot(100 * centre[shown], (mean / np.maximum(count, 1))[shown], "o-", color=color, label=label)


def _figures(real: dict[str, TransactionLog], simulated: dict[str, TransactionLog], out: Path) -> list[str]:
    first = next(iter(WINDOWS))
    colors = {"real": "black", "simulated": "tab:blue"}
    fig, axes = plt.subplots(2, 2, figsize=(12, 8))
    (gaps, depth), (response, retention) = axes
    for source, logs in (("real", real), ("simulated", simulated)):
        for name, style in zip(WINDOWS, ("-", ":"), strict=True):
            gaps.hist(visit_gaps(logs[name]), bins=np.arange(1, 62), density=True, histtype="step", lw=2,
                      ls=style, color=colors[source], label=f"{source}, {name}")  # fmt: skip
        log = logs[first]
        cut = discounted_lines(log)
        depth.hist(
            100 * (1 - log.unit_price[cut] / log.regular_price[cut]), bins=np.linspace(0, 60, 31), density=True,
            histtype="step", lw=2, color=colors[source], label=f"{source}: {100 * cut.mean():.1f} % of lines",
        )  # fmt: skip
        _response(response, log, source, colors[source])
        after, share = retention_curve(log)
        retention.plot(after, 100 * share, color=colors[source], lw=2, label=source)
    gaps.set(xlabel="days between a customer's visits", ylabel="density", title="Gaps between visits")
    depth.set(xlabel="discount below the regular price (%)", ylabel="density", title=f"Discount depth, {first}")
    response.set(
        xlabel="price against the product's reference price, (P − R)/R (%)",
        ylabel="log units per product-day (product-demeaned)",
        title=f"Units sold against the reference price, {first}",
    )
    response.axvline(0, color="grey", lw=0.8)
    retention.set(
        xlabel="day of the window", ylabel="% of the first 30 days' customers seen again on or after it",
        title=f"Retention, {first}", ylim=(0, 100),
    )  # fmt: skip
    for ax in axes.ravel():
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "tafeng_fidelity.png", dpi=110)
    plt.close(fig)
    return ["tafeng_fidelity.png"]
