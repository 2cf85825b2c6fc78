"""Figures a person can read without the code: comparison bars with intervals, learning curves with confidence
bands, and a probability-of-improvement heatmap."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from experiments.stats import mean_ci

__all__ = ["plot_comparison", "plot_improvement", "plot_learning_curves"]

LEARNED = ("PPO", "DQN", "A2C", "RECURRENTPPO")


def plot_comparison(
    summary: dict[str, tuple[float, float, float]],
    path: Path,
    title: str,
    xlabel: str = "profit per shopper over one episode (currency units), IQM with 95 % CI",
    reference: str | None = None,
) -> None:
    """Horizontal bars of ``summary[name] = (IQM, low, high)``, best at the top; ``reference`` (an oracle or
    J*) is drawn as a dashed line instead of a bar."""
    names = [n for n in sorted(summary, key=lambda n: summary[n][0]) if n != reference]
    iqm = np.array([summary[n][0] for n in names])
    low = iqm - np.array([summary[n][1] for n in names])
    high = np.array([summary[n][2] for n in names]) - iqm
    fig, ax = plt.subplots(figsize=(8, 1.6 + 0.45 * len(names)), dpi=130)
    colors = ["tab:orange" if n.upper().startswith(LEARNED) else "tab:blue" for n in names]
    ax.barh(names, iqm, xerr=[low, high], color=colors, alpha=0.85, capsize=3)
    if reference is not None:
        ax.axvline(summary[reference][0], color="black", linestyle="--", linewidth=1.2, label=reference)
        ax.legend(loc="lower right", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def plot_learning_curves(
    curves: dict[str, list[tuple[np.ndarray, np.ndarray]]],
    path: Path,
    title: str,
    references: dict[str, float] | None = None,
    ylabel: str = "evaluation return: profit per shopper",
) -> None:
    """One line per agent: mean over seeds of the evaluation return against env steps, with a 95 % bootstrap
    band over seeds. ``curves[name]`` is a list (one per seed) of (steps [T], returns [T]); seeds are cut to
    the evaluation points they share."""
    fig, ax = plt.subplots(figsize=(7.5, 4.8), dpi=130)
    for name, runs in curves.items():
        length = min(len(r[0]) for r in runs)
        steps = runs[0][0][:length]
        mean, low, high = mean_ci(np.array([r[1][:length] for r in runs]))
        band = "95 % CI" if len(runs) > 1 else "no band"
        line = ax.plot(steps, mean, marker="o", markersize=3, linewidth=2, label=f"{name}, {len(runs)} seeds ({band})")
        if len(runs) > 1:
            ax.fill_between(steps, low, high, color=line[0].get_color(), alpha=0.2)
    for label, value in (references or {}).items():
        ax.axhline(value, linestyle="--", linewidth=1.2, color="grey")
        ax.annotate(label, (ax.get_xlim()[0], value), textcoords="offset points", xytext=(4, 3), fontsize=8)
    ax.set_xlabel("environment steps (shopper visits)")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
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
