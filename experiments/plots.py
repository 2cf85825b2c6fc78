"""Figures a person can read without the code: comparison bars with intervals, learning curves with confidence
bands, and a probability-of-improvement heatmap."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import transforms

from shopgym.experiments.stats import MIN_SEEDS, SHOPPERS_CI, mean_ci

__all__ = ["plot_comparison", "plot_improvement", "plot_learning_curves"]

LEARNED = ("PPO", "DQN", "A2C", "RECURRENTPPO")


def plot_comparison(
    summary: dict[str, Sequence[float | None]],
    path: Path,
    title: str,
    xlabel: str = "profit per shopper over one episode (currency units)",
    reference: str | None = None,
    interval_label: str = "95 % CI",
    shopper_intervals: dict[str, Sequence[float | None]] | None = None,
) -> None:
    """Horizontal bars of ``summary[name] = (point, low, high, …)``, best at the top, with ``low``–``high`` as
    error bars labelled ``interval_label`` (None bounds: no bar); ``reference`` (an oracle or J*) is drawn as a
    dashed line instead of a bar. ``shopper_intervals[name] = (mean, low, high, …)`` adds a thinner grey
    interval over the evaluation shoppers (:data:`~shopgym.experiments.stats.SHOPPERS_CI`) below each bar."""
    names = [n for n in sorted(summary, key=lambda n: summary[n][0]) if n != reference]
    points = np.array([summary[n][0] for n in names], dtype=np.float64)
    fig, ax = plt.subplots(figsize=(8, 1.9 + 0.45 * len(names)), dpi=130)
    colors = ["tab:orange" if n.upper().startswith(LEARNED) else "tab:blue" for n in names]
    ax.barh(names, points, color=colors, alpha=0.85)
    _error_bars(ax, names, summary, 0.0, "black", 1.6, interval_label)
    if shopper_intervals:
        _error_bars(ax, names, shopper_intervals, -0.25, "dimgrey", 1.0, SHOPPERS_CI)
    if reference is not None:
        ax.axvline(summary[reference][0], color="black", linestyle="--", linewidth=1.2, label=reference)
    if ax.get_legend_handles_labels()[0]:  # below the axis label (inside the axes it hid the shortest bars)
        below = transforms.offset_copy(ax.transAxes, fig=fig, y=-36, units="points")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, 0.0), bbox_transform=below, fontsize=7, frameon=False)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


def _error_bars(
    ax: plt.Axes,
    names: list[str],
    intervals: dict[str, Sequence[float | None]],
    offset: float,
    color: str,
    width: float,
    label: str,
) -> None:
    """Error bars ``intervals[name] = (point, low, high, …)`` at the rows of ``names``, where both bounds exist."""
    rows = [i for i, n in enumerate(names) if n in intervals and None not in intervals[n][1:3]]
    if not rows:
        return
    point = np.array([intervals[names[i]][0] for i in rows], dtype=np.float64)
    low = point - np.array([intervals[names[i]][1] for i in rows], dtype=np.float64)
    high = np.array([intervals[names[i]][2] for i in rows], dtype=np.float64) - point
    ax.errorbar(
        point,
        np.array(rows) + offset,
        xerr=[low, high],
        fmt="none",
        ecolor=color,
        elinewidth=width,
        capsize=3,
        label=label,
    )


def plot_learning_curves(
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    path: Path,
    title: str,
    references: dict[str, float] | None = None,
    ylabel: str = "evaluation return: profit per shopper",
) -> None:
    """One line per agent: the mean over seeds of the evaluation return against env steps, with a 95 % bootstrap
    band over seeds from :data:`~shopgym.experiments.stats.MIN_SEEDS` seeds on (fewer: every seed drawn thin, no band);
    the legend says which. ``curves[name]`` is a list (one per seed) of (steps [T], returns [T]); seeds are cut
    to the evaluation points they share, and seeds evaluated at other steps raise ValueError."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=130)
    for name, runs in curves.items():
        length = min(len(r[0]) for r in runs)
        steps = np.asarray(runs[0][0][:length])
        if any(not np.array_equal(np.asarray(r[0][:length]), steps) for r in runs[1:]):
            raise ValueError(f"the seeds of {name!r} were evaluated at different env steps")
        returns = np.array([r[1][:length] for r in runs], dtype=np.float64)
        n = len(runs)
        if n >= MIN_SEEDS:
            label = f"{name}: mean of {n} seeds, band: 95 % bootstrap CI over {n} seeds"
        else:
            label = f"{name}: {'1 seed' if n == 1 else f'mean of {n} seeds (thin: each seed)'}, no band"
        mean, low, high = mean_ci(returns)
        line = ax.plot(steps, mean, marker="o", markersize=3, linewidth=2, label=label)[0]
        if n >= MIN_SEEDS:
            ax.fill_between(steps, low, high, color=line.get_color(), alpha=0.2)
        elif n > 1:
            ax.plot(steps, returns.T, color=line.get_color(), linewidth=0.8, alpha=0.6)
    for label, value in (references or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1.2, color="grey")
        ax.annotate(label, (ax.get_xlim()[0], value), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xlabel("environment steps (shopper visits)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=7)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_improvement(names: list[str], matrix: np.ndarray, path: Path, title: str) -> None:
    """Heatmap of ``matrix[i, j]`` = P(policy i beats policy j) over runs."""
    size = 1.2 + 0.55 * len(names)
    fig, ax = plt.subplots(figsize=(size + 2.2, size), dpi=130)
    image = ax.imshow(matrix, cmap="RdBu", vmin=0.0, vmax=1.0)
    ax.set_xticks(range(len(names)), names, rotation=40, ha="right", fontsize=8)
    ax.set_yticks(range(len(names)), names, fontsize=8)
    for i in range(len(names)):
        for j in range(len(names)):
            if i != j:
                color = "white" if abs(matrix[i, j] - 0.5) > 0.35 else "black"
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7, color=color)
    ax.set_xlabel("… beats this policy (Y)")
    ax.set_ylabel("P(this policy (X) …")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="P(X > Y) over runs", fraction=0.046)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
