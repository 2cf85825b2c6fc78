"""The Open Bandit Dataset's click logs: calibrating a scenario to them and the fidelity report against them.

:func:`calibrate_obd` fits a scenario (:func:`shopgym.calibration.clicks.calibrate_clicks`) and returns it with a
provenance block; :func:`obd_fidelity` writes the side-by-side report of a scenario against a log, simulated
under the log's own policy: uniform random slates, the policy of the ``random`` logs.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from shopgym.calibration.clicks import ClickLog, calibrate_clicks, simulate_impressions
from shopgym.calibration.fidelity import CLICK_MODEL_STATISTICS, CLICK_STATISTICS, FidelityRow, compare, write_report
from shopgym.datasets import load_obd
from shopgym.params import ParameterError, Scenario
from shopgym.scenarios import resolve_scenario

__all__ = ["calibrate_obd", "obd_click_log", "obd_fidelity"]


def obd_click_log(policy: str, campaign: str, path: str | os.PathLike[str] | None = None) -> tuple[ClickLog, dict]:
    """The impressions of one Open Bandit policy × campaign as a :class:`ClickLog`, and a description of the data
    (name, rows, clicks, items, first and last timestamp) for provenance blocks and reports."""
    impressions = load_obd(policy, campaign, path).impressions
    log = ClickLog(impressions.item_id, impressions.position, impressions.click.astype(np.int8))
    about = {
        "data": f"Open Bandit Dataset (sample), {policy}/{campaign}",
        "rows": len(log),
        "clicks": int(log.click.sum()),
        "items": int(np.unique(log.item_id).size),
        "from": str(impressions.timestamp.min().astype("datetime64[s]")),
        "to": str(impressions.timestamp.max().astype("datetime64[s]")),
    }
    return log, about


def calibrate_obd(
    base: Scenario | str,
    name: str,
    policy: str = "random",
    campaign: str = "all",
    path: str | os.PathLike[str] | None = None,
    seed: int = 0,
    simulated_rows: int = 5_000_000,
    progress: Callable[[str], None] | None = None,
) -> tuple[Scenario, dict[str, Any]]:
    """A scenario named ``name`` calibrated on the click side to one Open Bandit log, and its provenance block."""
    log, about = obd_click_log(policy, campaign, path)
    fit = calibrate_clicks(log, base, seed=seed, simulated_rows=simulated_rows, progress=progress)
    base_name = resolve_scenario(base).name
    description = (
        f"Calibrated to the Open Bandit Dataset ({policy}/{campaign}, {about['from'][:10]} to {about['to'][:10]}): "
        f"click rate, position decay and item spread of {base_name}'s shoppers fitted to {about['rows']:,} logged "
        "impressions; purchases and prices are the base preset's, which these logs cannot identify."
    )
    scenario = fit.scenario.replace(name=name, description=description)
    provenance = {
        **about,
        "base": base_name,
        "method": "logged click model fitted by maximum likelihood (profile-likelihood 95 % intervals); "
        "outside_utility, position_decay and quality_sd set by indirect inference on logs simulated under "
        "uniform random slates (shopgym.calibration.clicks)",
        "seed": seed,
        "simulated_rows": simulated_rows,
        "fitted": {
            "intercept": fit.real.intercept.as_dict(),
            "position_decay": fit.real.position_decay.as_dict(),
            "item_sd": fit.real.item_sd.as_dict(),
        },
        "click_rate": {
            "real": round(log.click_rate, 6),
            "simulated": round(1.0 / (1.0 + math.exp(-fit.path[-1][3])), 6),
        },
        "simulated_fit": {
            "intercept": round(fit.simulated.intercept.value, 4),
            "position_decay": round(fit.simulated.position_decay.value, 4),
            "item_sd": round(fit.simulated.item_sd.value, 4),
        },
        "simulations": len(fit.path),
    }
    return scenario, provenance


def _plot_positions(rows: list[FidelityRow], path: Path, title: str) -> None:
    by_position = [row for row in rows if row.statistic.startswith("click rate at position")]
    fig, ax = plt.subplots(figsize=(6, 4))
    x = np.arange(1, len(by_position) + 1)
    for offset, (label, key, color) in enumerate([("real", "real", "black"), ("simulated", "simulated", "tab:blue")]):
        values = np.array([100 * getattr(row, key) for row in by_position])
        ci = np.array([[100 * v for v in getattr(row, f"{key}_ci")] for row in by_position])
        ax.errorbar(
            x + (offset - 0.5) * 0.15, values, yerr=[values - ci[:, 0], ci[:, 1] - values], fmt="o", capsize=4,
            color=color, label=f"{label} (95 % {'CI' if key == 'real' else 'range at the real size'})",
        )  # fmt: skip
    ax.set_xticks(x)
    ax.set_xlabel("slot on the page (1 = top)")
    ax.set_ylabel("click rate per impression (%)")
    ax.set_ylim(bottom=0)
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _lorenz(log: ClickLog) -> np.ndarray:
    _, index = np.unique(log.item_id, return_inverse=True)
    per_item = np.sort(np.bincount(index, weights=log.click))
    return np.concatenate([[0.0], np.cumsum(per_item) / max(per_item.sum(), 1.0)])


def _plot_lorenz(real: ClickLog, simulated: list[ClickLog], path: Path, title: str) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    curve = _lorenz(real)
    items = np.linspace(0, 1, curve.size)
    sims = np.array([np.interp(items, np.linspace(0, 1, c.size), c) for c in map(_lorenz, simulated)])
    low, mid, high = np.percentile(sims, [2.5, 50, 97.5], axis=0)
    ax.fill_between(items, low, high, color="tab:blue", alpha=0.25, label="simulated, 95 % range at the real size")
    ax.plot(items, mid, color="tab:blue", label="simulated, median")
    ax.plot(items, curve, color="black", lw=2, label="real")
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1, label="every item clicked equally")
    ax.set_xlabel("share of items, least clicked first")
    ax.set_ylabel("share of clicks")
    ax.set_title(title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def obd_fidelity(
    scenario: Scenario | str,
    out: Path,
    campaign: str = "all",
    path: str | os.PathLike[str] | None = None,
    replicates: int = 100,
    bootstrap: int = 1000,
    seed: int = 0,
) -> list[FidelityRow]:
    """Write the fidelity report of ``scenario`` against the Open Bandit log ``random/<campaign>`` (uniform random
    slates, the policy the simulation reproduces) into ``out``: ``replicates`` logs of the real log's size
    simulated under uniform random slates, ``bootstrap`` resamples of the real log (a tenth of them for the fitted
    click model's parameters, which need a fit each)."""
    scenario = resolve_scenario(scenario)
    real, about = obd_click_log("random", campaign, path)
    if scenario.catalog.n_items != about["items"]:
        raise ParameterError(
            f"scenario {scenario.name!r} has {scenario.catalog.n_items} items and the log {about['items']}: "
            "a uniform random slate shows each item as often only with the same catalog size"
        )
    slots = int(real.position.max())
    pooled = simulate_impressions(scenario, replicates * len(real), seed, slots)
    simulated = [pooled.take(slice(k * len(real), (k + 1) * len(real))) for k in range(replicates)]
    rows = compare(CLICK_STATISTICS, real, simulated, bootstrap, seed)
    rows += compare(CLICK_MODEL_STATISTICS, real, simulated[: max(10, replicates // 5)], max(50, bootstrap // 10), seed)
    title = f"Fidelity: {scenario.name} against {about['data']}"
    out.mkdir(parents=True, exist_ok=True)
    _plot_positions(rows, out / "click_rate_by_position.png", "Click rate by slot")
    _plot_lorenz(real, simulated, out / "item_clicks_lorenz.png", "How clicks spread over items")
    notes = [
        f"Real: {about['rows']:,} impressions with {about['clicks']} clicks on {about['items']} items "
        f"({about['from']} to {about['to']}). Simulated: {replicates} logs of the same size from "
        f"`{scenario.name}` under uniform random slates of {slots} items at list price (seed {seed}). Real "
        f"intervals: percentile bootstrap over items ({bootstrap} resamples; {max(50, bootstrap // 10)} for "
        f"the fitted parameters). Simulated ranges: 2.5–97.5 percentiles over the simulated logs "
        f"({max(10, replicates // 5)} for the fitted parameters).",
    ]
    write_report(out, title, rows, notes, ["click_rate_by_position.png", "item_clicks_lorenz.png"])
    return rows
