"""Figures a person can read without the code: comparison bars with intervals, learning curves with bands."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

__all__ = ["plot_comparison", "plot_learning_curves"]


def plot_comparison(summary: dict, path: Path, oracle: str) -> None:
    names = [n for n in sorted(summary, key=lambda n: summary[n][0]) if n != oracle]
    iqm = np.array([summary[n][0] for n in names])
    low = iqm - np.array([summary[n][1] for n in names])
    high = np.array([summary[n][2] for n in names]) - iqm
    fig, ax = plt.subplots(figsize=(8, 5.2), dpi=130)
    colors = ["tab:orange" if n.startswith(("PPO", "DQN", "A2C")) else "tab:blue" for n in names]
    ax.barh(names, iqm, xerr=[low, high], color=colors, alpha=0.85, capsize=3)
    ax.axvline(summary[oracle][0], color="black", linestyle="--", linewidth=1.2, label="myopic oracle (hidden state)")
    ax.set_xlabel("profit per shopper over a 50-visit episode (currency units), IQM with 95 % CI")
    ax.set_title("Marketing-v0, default market: policies on the same shoppers")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_learning_curves(
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    path: Path,
    title: str,
    references: dict[str, float] | None = None,
) -> None:
    """One line per agent: mean over seeds of evaluation return against env steps, band = min–max over seeds.

    ``curves[name]`` is a list (one per seed) of (steps [T], returns [T]) on a common step grid.
    """
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=130)
    for name, runs in curves.items():
        steps = runs[0][0]
        values = np.array([r[1] for r in runs])
        line = ax.plot(
            steps,
            values.mean(axis=0),
            marker="o",
            markersize=3,
            linewidth=2,
            label=f"{name}, {len(runs)} seeds (band: range)",
        )
        if len(runs) > 1:
            ax.fill_between(steps, values.min(axis=0), values.max(axis=0), color=line[0].get_color(), alpha=0.2)
    for label, value in (references or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1.2, color="grey")
        ax.annotate(label, (ax.get_xlim()[0], value), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xlabel("environment steps (shopper visits)")
    ax.set_ylabel("evaluation return: profit per shopper")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
